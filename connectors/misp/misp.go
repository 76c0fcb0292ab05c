// Package misp looks indicators up in a MISP instance through
// /attributes/restSearch: whether the organisation's own threat intel, or
// a sharing community it belongs to, already holds the value as an
// attribute of some event.
//
// The verdict:
//
//   - malicious: at least one matching attribute has to_ids set, that is
//     an analyst marked it fit for detection;
//   - suspicious: attributes match but none is marked for detection (context
//     such as a report's list of observed infrastructure);
//   - unknown: nothing matches ("not in MISP").
//
// The Reason names the events, the Link opens the first one that made the
// verdict, and the TLP of the result is the most restrictive tlp:* tag on
// any matching attribute or its event, so that a tlp:red event never
// reaches a chat room. MISP gives no score: Score is enrich.NoScore.
//
// There is no public MISP: Config.APIURL is required.
package misp

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
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

// DefaultLimit is how many attributes one lookup asks for. A value in more
// events than this is well known; the first ones decide the verdict.
const DefaultLimit = 50

// Config configures the source.
type Config struct {
	// APIKey is the MISP automation key of an API-enabled user, sent as
	// the Authorization header. Required.
	APIKey string
	// APIURL is the MISP instance's root, such as
	// "https://misp.example.org". Required.
	APIURL string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// InsecureSkipVerify turns off TLS certificate checks for a MISP
	// with a self-signed certificate. It lets anyone on the network path
	// read the API key and forge answers, so prefer adding the MISP's CA
	// to the system trust store or passing an HTTP client that trusts it.
	// It applies to the built-in client only and cannot be combined with
	// HTTP.
	InsecureSkipVerify bool
	// Limit is how many attributes one lookup asks for; zero means
	// DefaultLimit.
	Limit int
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Source looks indicators up in one MISP instance. It is safe for
// concurrent use.
type Source struct {
	api   *restapi.Client
	base  string // APIURL without a trailing slash, for event links
	limit int
}

// New checks c and returns a source. It makes no request.
func New(c Config) (*Source, error) {
	var missing []string
	if c.APIURL == "" {
		missing = append(missing, "api_url")
	}
	if c.APIKey == "" {
		missing = append(missing, "api_key")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("misp: missing %s", strings.Join(missing, " and "))
	}
	if _, err := restapi.BaseURL(c.APIURL, ""); err != nil {
		return nil, fmt.Errorf("misp: api_url %w", err)
	}
	if c.Limit < 0 {
		return nil, errors.New("misp: limit must not be negative")
	}
	hc := c.HTTP
	if c.InsecureSkipVerify {
		if hc != nil {
			return nil, errors.New("misp: insecure_skip_verify applies to the built-in HTTP client only")
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Opted into by Config.InsecureSkipVerify, for self-signed
			// certificates; documented there.
			InsecureSkipVerify: true,
		}
		hc = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	return &Source{
		api: &restapi.Client{
			BaseURL: c.APIURL,
			HTTP:    hc,
			Sleep:   c.Sleep,
			Retries: 2,
			Auth:    restapi.HeaderAuth("Authorization", c.APIKey),
		},
		base:  strings.TrimRight(c.APIURL, "/"),
		limit: cmp.Or(c.Limit, DefaultLimit),
	}, nil
}

// Name returns "misp".
func (s *Source) Name() string { return "misp" }

// Supports reports whether ind is a public value of a type MISP holds
// attributes of. Host and user names are refused like everywhere else,
// even though MISP has a hostname type: a MISP shared with a community is
// not a place for internal names.
func (s *Source) Supports(ind ioc.Indicator) bool {
	if !ind.External() {
		return false
	}
	switch ind.Type {
	case ioc.TypeIPv4, ioc.TypeIPv6, ioc.TypeDomain, ioc.TypeURL, ioc.TypeEmail,
		ioc.TypeMD5, ioc.TypeSHA1, ioc.TypeSHA256, ioc.TypeCVE:
		return true
	}
	return false
}

// search is the body of /attributes/restSearch.
type search struct {
	ReturnFormat     string `json:"returnFormat"`
	Value            string `json:"value"`
	Limit            int    `json:"limit"`
	Page             int    `json:"page"`
	IncludeEventTags bool   `json:"includeEventTags"`
}

// attribute is one match. MISP sends ids as strings, though some versions
// and proxies turn them into numbers, hence text.
type attribute struct {
	Value    string `json:"value"`
	Type     string `json:"type"`
	Category string `json:"category"`
	ToIDS    flag   `json:"to_ids"`
	EventID  text   `json:"event_id"`
	Event    struct {
		ID            text   `json:"id"`
		Info          string `json:"info"`
		ThreatLevelID text   `json:"threat_level_id"`
		Tag           []tag  `json:"Tag"`
	} `json:"Event"`
	Tag []tag `json:"Tag"`
}

type tag struct {
	Name string `json:"name"`
}

// Lookup asks MISP about ind.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if !s.Supports(ind) {
		return enrich.Result{}, fmt.Errorf("misp cannot look up %s %q", ind.Type, ind.Value)
	}
	var resp struct {
		Response json.RawMessage `json:"response"`
	}
	err := s.api.Do(ctx, restapi.Request{
		Method: http.MethodPost,
		Path:   "/attributes/restSearch",
		JSON: search{
			ReturnFormat:     "json",
			Value:            ind.Value,
			Limit:            s.limit,
			Page:             1,
			IncludeEventTags: true,
		},
		// A search changes nothing: safe to repeat after a 5xx.
		Idempotent: true,
	}, &resp)
	// Some MISP versions answer an empty search with 404 "No matches."
	if restapi.IsNotFound(err) {
		return notFound(), nil
	}
	if err != nil {
		return enrich.Result{}, fmt.Errorf("search attributes: %w", err)
	}
	attrs, err := attributes(resp.Response)
	if err != nil {
		return enrich.Result{}, fmt.Errorf("search attributes: malformed response: %w", err)
	}
	if len(attrs) == 0 {
		return notFound(), nil
	}
	return s.judge(attrs), nil
}

func notFound() enrich.Result {
	return enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in MISP"}
}

// attributes decodes "response": {"Attribute": [...]}, and the empty list
// older versions send instead of an object when nothing matches.
func attributes(raw json.RawMessage) ([]attribute, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return nil, errors.New(`no "response"`)
	case raw[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		if len(list) > 0 {
			return nil, errors.New(`"response" is a list of matches, want an object`)
		}
		return nil, nil
	}
	var r struct {
		Attribute []attribute `json:"Attribute"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	return r.Attribute, nil
}

// event is what the result says about one matching event.
type event struct {
	id, info string
	ids      bool
}

// judge turns matching attributes into a result.
func (s *Source) judge(attrs []attribute) enrich.Result {
	var events []event
	var categories, types, tags []string
	tlp, threat := "", 0
	for _, a := range attrs {
		id := string(a.EventID)
		if id == "" {
			id = string(a.Event.ID)
		}
		i := slices.IndexFunc(events, func(e event) bool { return e.id == id })
		if i < 0 {
			events = append(events, event{id: id, info: strings.Join(strings.Fields(a.Event.Info), " ")})
			i = len(events) - 1
		}
		events[i].ids = events[i].ids || bool(a.ToIDS)
		categories = appendNew(categories, a.Category)
		types = appendNew(types, a.Type)
		// threat_level_id: 1 high, 2 medium, 3 low, 4 undefined.
		if lvl, err := strconv.Atoi(string(a.Event.ThreatLevelID)); err == nil && lvl >= 1 && lvl <= 3 && (threat == 0 || lvl < threat) {
			threat = lvl
		}
		for _, t := range slices.Concat(a.Tag, a.Event.Tag) {
			if level, ok := strings.CutPrefix(strings.ToLower(t.Name), "tlp:"); ok {
				if enrich.TLPRank(level) > enrich.TLPRank(tlp) {
					tlp = level
				}
				continue
			}
			tags = appendNew(tags, t.Name)
		}
	}
	// Events with detection-grade attributes decide the verdict, so they
	// are named and linked first.
	slices.SortStableFunc(events, func(a, b event) int {
		switch {
		case a.ids && !b.ids:
			return -1
		case b.ids && !a.ids:
			return 1
		}
		return 0
	})
	r := enrich.Result{Score: enrich.NoScore, TLP: enrich.NormalTLP(tlp)}
	if events[0].ids {
		r.Verdict, r.Reason = enrich.Malicious, "marked for IDS in "+eventNames(events)
	} else {
		r.Verdict, r.Reason = enrich.Suspicious, "in "+eventNames(events)+", not marked for IDS"
	}
	if events[0].id != "" {
		r.Link = s.base + "/events/view/" + url.PathEscape(events[0].id)
	}
	add := func(label, value string) {
		if value != "" {
			r.Facts = append(r.Facts, enrich.Fact{Label: label, Value: value})
		}
	}
	n := strconv.Itoa(len(attrs))
	if len(attrs) >= s.limit {
		n += "+"
	}
	add("attributes", n)
	add("events", strconv.Itoa(len(events)))
	add("threat level", [...]string{"", "high", "medium", "low"}[threat])
	add("categories", strings.Join(categories, ", "))
	add("types", strings.Join(types, ", "))
	add("tags", strings.Join(tags[:min(len(tags), 8)], ", "))
	return r
}

// eventNames names up to two events for the Reason: `MISP event 1234
// "Emotet C2"` or `3 MISP events: "A"; "B"; …`.
func eventNames(events []event) string {
	name := func(e event) string {
		info := e.info
		if len(info) > 60 {
			info = info[:60] + "…"
		}
		if info == "" {
			return "event " + e.id
		}
		return strconv.Quote(info)
	}
	if len(events) == 1 {
		return "MISP event " + events[0].id + " " + name(events[0])
	}
	names := make([]string, 0, 3)
	for _, e := range events[:min(len(events), 2)] {
		names = append(names, name(e))
	}
	if len(events) > 2 {
		names = append(names, "…")
	}
	return fmt.Sprintf("%d MISP events: %s", len(events), strings.Join(names, "; "))
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// text is a JSON string that some MISP versions send as a number.
type text string

// UnmarshalJSON accepts "12", 12 and null.
func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*t = text(n)
	return nil
}

// flag is a JSON boolean that older MISP versions send as "1" or "0".
type flag bool

// UnmarshalJSON accepts true, false, "1", "0", 1, 0 and null.
func (f *flag) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(b), `"`) {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("want a boolean, got %s", b)
	}
	return nil
}
