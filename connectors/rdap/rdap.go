// Package rdap looks up who holds an IP address or a domain, through RDAP
// (RFC 7480–7484, answers per RFC 9083), the structured successor of WHOIS.
//
// By default it asks https://rdap.org, a bootstrap redirector that sends
// each query on to the registry or registrar that is authoritative for it;
// redirects are followed. Point Config.APIURL at a registry's own RDAP
// server to skip the hop.
//
// RDAP describes rather than judges, so the verdict is Unknown with one
// exception: a domain registered less than NewDomainDays days ago is
// Suspicious ("domain registered 3 days ago"), because freshly registered
// domains are a classic sign of phishing and malware delivery. Score is
// always enrich.NoScore.
package rdap

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// DefaultAPIURL is the rdap.org bootstrap redirector.
const DefaultAPIURL = "https://rdap.org"

// NewDomainDays is the age under which a domain counts as newly registered.
// Thirty days is the window most blocklists of newly registered domains
// use; phishing domains rarely live longer than that before use.
const NewDomainDays = 30

// Config configures the source. RDAP needs no key.
type Config struct {
	// APIURL is the RDAP base URL; empty means DefaultAPIURL.
	APIURL string
	// HTTP sends the requests and follows the redirects of the bootstrap
	// service; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Source looks IP addresses and domains up in RDAP. It is safe for
// concurrent use.
type Source struct {
	api *restapi.Client
	now func() time.Time // the clock that ages domains; tests replace it
}

// New checks c and returns a source. It makes no request.
func New(c Config) (*Source, error) {
	base, err := restapi.BaseURL(c.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("rdap: api_url %w", err)
	}
	return &Source{
		api: &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep, Retries: 2},
		now: time.Now,
	}, nil
}

// Name returns "rdap".
func (s *Source) Name() string { return "rdap" }

// Supports reports whether ind is a public IP address or a domain.
func (s *Source) Supports(ind ioc.Indicator) bool {
	if !ind.External() {
		return false
	}
	switch ind.Type {
	case ioc.TypeIPv4, ioc.TypeIPv6, ioc.TypeDomain:
		return true
	}
	return false
}

// object is the part of an RDAP ip network or domain object that is used.
type object struct {
	ObjectClassName string   `json:"objectClassName"`
	Handle          string   `json:"handle"`
	LDHName         string   `json:"ldhName"`
	Name            string   `json:"name"`
	Type            string   `json:"type"`
	Country         string   `json:"country"`
	StartAddress    string   `json:"startAddress"`
	EndAddress      string   `json:"endAddress"`
	CIDRs           []cidr   `json:"cidr0_cidrs"` // the widely used cidr0 extension
	Status          []string `json:"status"`
	Events          []event  `json:"events"`
	Entities        []entity `json:"entities"`
	Links           []link   `json:"links"`
	Nameservers     []struct {
		LDHName string `json:"ldhName"`
	} `json:"nameservers"`
}

type cidr struct {
	V4Prefix string `json:"v4prefix"`
	V6Prefix string `json:"v6prefix"`
	Length   int    `json:"length"`
}

type event struct {
	Action string `json:"eventAction"`
	Date   string `json:"eventDate"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	Type string `json:"type"`
}

// entity is a contact: a registrar, a registrant, an abuse desk. Entities
// nest: ARIN and RIPE put the abuse contact inside the organisation.
type entity struct {
	Handle   string          `json:"handle"`
	Roles    []string        `json:"roles"`
	VCard    json.RawMessage `json:"vcardArray"`
	Entities []entity        `json:"entities"`
}

// Lookup asks RDAP about ind.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if !s.Supports(ind) {
		return enrich.Result{}, fmt.Errorf("rdap cannot look up %s %q", ind.Type, ind.Value)
	}
	kind := "ip"
	if ind.Type == ioc.TypeDomain {
		kind = "domain"
	}
	var obj object
	err := s.api.Do(ctx, restapi.Request{
		Path: "/" + kind + "/" + url.PathEscape(ind.Value),
		// RFC 7480 §4.2: the RDAP media type, JSON as a fallback for
		// servers that do not know it.
		Header: http.Header{"Accept": {"application/rdap+json, application/json;q=0.9"}},
	}, &obj)
	if restapi.IsNotFound(err) {
		return enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in RDAP"}, nil
	}
	if err != nil {
		return enrich.Result{}, fmt.Errorf("look up %s: %w", kind, err)
	}
	if obj.ObjectClassName == "" {
		return enrich.Result{}, fmt.Errorf("look up %s: malformed response: no objectClassName", kind)
	}
	var r enrich.Result
	if kind == "domain" {
		r = s.domain(obj)
	} else {
		r = network(obj)
	}
	r.Score = enrich.NoScore
	r.Link = selfLink(obj.Links)
	return r, nil
}

// network describes an IP network: who holds it and where to report abuse.
func network(obj object) enrich.Result {
	r := enrich.Result{Verdict: enrich.Unknown}
	rng := cidrs(obj.CIDRs)
	if rng == "" && obj.StartAddress != "" {
		rng = obj.StartAddress + "–" + obj.EndAddress
	}
	org := contact(obj.Entities, "registrant", "fn")
	parts := []string{"network"}
	for _, p := range []string{obj.Name, rng} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	r.Reason = strings.Join(parts, " ")
	if org != "" {
		r.Reason += " (" + org + ")"
	}
	if obj.Country != "" {
		r.Reason += ", " + obj.Country
	}
	r.Facts = facts(
		"network", obj.Name,
		"handle", obj.Handle,
		"range", rng,
		"country", obj.Country,
		"type", obj.Type,
		"organisation", org,
		"abuse contact", contact(obj.Entities, "abuse", "email"),
	)
	return r
}

// domain describes a domain and judges its age.
func (s *Source) domain(obj object) enrich.Result {
	r := enrich.Result{Verdict: enrich.Unknown}
	registrar := contact(obj.Entities, "registrar", "fn")
	registered, age := time.Time{}, ""
	if t, ok := eventDate(obj.Events, "registration"); ok {
		registered = t
		days := max(int(s.now().Sub(t).Hours()/24), 0)
		age = ago(days)
		if days < NewDomainDays {
			r.Verdict, r.Reason = enrich.Suspicious, "domain registered "+age
		} else {
			r.Reason = "registered " + t.UTC().Format(time.DateOnly) + " (" + age + ")"
		}
	} else {
		r.Reason = "no registration date in RDAP"
	}
	if registrar != "" {
		r.Reason += " via " + registrar
	}
	var ns []string
	for _, n := range obj.Nameservers {
		if len(ns) < 4 && n.LDHName != "" {
			ns = append(ns, strings.ToLower(n.LDHName))
		}
	}
	expires := ""
	if t, ok := eventDate(obj.Events, "expiration"); ok {
		expires = t.UTC().Format(time.DateOnly)
	}
	regDate := ""
	if !registered.IsZero() {
		regDate = registered.UTC().Format(time.DateOnly)
	}
	r.Facts = facts(
		"registrar", registrar,
		"registered", regDate,
		"age", age,
		"expires", expires,
		"abuse contact", contact(obj.Entities, "abuse", "email"),
		"name servers", strings.Join(ns, ", "),
		"status", strings.Join(obj.Status, ", "),
	)
	return r
}

// ago says how long ago something was, in days.
func ago(days int) string {
	switch days {
	case 0:
		return "today"
	case 1:
		return "1 day ago"
	}
	return strconv.Itoa(days) + " days ago"
}

// eventDate finds the date of the first event with the given action.
func eventDate(events []event, action string) (time.Time, bool) {
	for _, e := range events {
		if !strings.EqualFold(e.Action, action) {
			continue
		}
		if t, err := time.Parse(time.RFC3339, e.Date); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// contact finds the first entity, at any depth, with the role and a vCard
// property prop, and returns that property's text.
func contact(entities []entity, role, prop string) string {
	for _, e := range entities {
		if slices.Contains(e.Roles, role) {
			if v := vcard(e.VCard, prop); v != "" {
				return v
			}
		}
		if v := contact(e.Entities, role, prop); v != "" {
			return v
		}
	}
	return ""
}

// vcard returns the text of the first property named prop in a jCard
// (RFC 7095): ["vcard", [["fn", {}, "text", "Google LLC"], …]]. A value
// that is not a string (a structured address) is skipped.
func vcard(raw json.RawMessage, prop string) string {
	var card []json.RawMessage
	if json.Unmarshal(raw, &card) != nil || len(card) < 2 {
		return ""
	}
	var props [][]json.RawMessage
	if json.Unmarshal(card[1], &props) != nil {
		return ""
	}
	for _, p := range props {
		var name, value string
		if len(p) < 4 || json.Unmarshal(p[0], &name) != nil || !strings.EqualFold(name, prop) {
			continue
		}
		if json.Unmarshal(p[3], &value) == nil && strings.TrimSpace(value) != "" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// cidrs spells the cidr0 prefixes, at most four.
func cidrs(cs []cidr) string {
	var out []string
	for _, c := range cs {
		p := c.V4Prefix
		if p == "" {
			p = c.V6Prefix
		}
		if p != "" && len(out) < 4 {
			out = append(out, p+"/"+strconv.Itoa(c.Length))
		}
	}
	return strings.Join(out, ", ")
}

// selfLink is the object's own RDAP URL, the authoritative server's after
// a redirect, if it is http(s).
func selfLink(links []link) string {
	for _, l := range links {
		if l.Rel != "self" {
			continue
		}
		if u, err := url.Parse(l.Href); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			return l.Href
		}
	}
	return ""
}

// facts builds facts from label, value pairs, leaving out empty values.
func facts(pairs ...string) []enrich.Fact {
	var fs []enrich.Fact
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			fs = append(fs, enrich.Fact{Label: pairs[i], Value: pairs[i+1]})
		}
	}
	return fs
}
