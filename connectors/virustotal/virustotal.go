// Package virustotal looks indicators up in VirusTotal (API v3): IP
// addresses, domains, URLs and file hashes, judged by how many of the
// engines in VirusTotal's last analysis flag them.
//
// The verdict comes from data.attributes.last_analysis_stats:
//
//   - malicious: at least MaliciousAt engines say malicious;
//   - suspicious: at least one engine says malicious or suspicious;
//   - clean: engines answered and none flags it;
//   - unknown: VirusTotal has never seen it (404) or has no analysis yet.
//
// The Score is round(100 × (malicious + suspicious/2) / engines), where
// engines counts those that gave a verdict (harmless, malicious,
// suspicious, undetected) and not those that timed out or could not handle
// the file type. A suspicious flag weighs half a malicious one because
// vendors use it for heuristics that misfire more often. A score of 0 is
// not proof of innocence: a new sample is often missed by every engine for
// its first hours.
//
// A public API key allows 4 lookups a minute and 500 a day; the rate limit
// belongs in enrich.Configured.Limit, so a 429 here is retried only briefly.
package virustotal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
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

// DefaultAPIURL is the root of VirusTotal's API v3.
const DefaultAPIURL = "https://www.virustotal.com/api/v3"

// guiURL is where VirusTotal's web pages about an object live. It stays the
// same when Config.APIURL points elsewhere (a proxy, a test server).
const guiURL = "https://www.virustotal.com/gui"

// MaliciousAt is how many engines must say malicious for the verdict to be
// Malicious. One or two engines alone misfire often enough (a generic
// heuristic, a stale blocklist) that they only make an indicator
// Suspicious.
const MaliciousAt = 3

// Config configures the source.
type Config struct {
	// APIKey is the VirusTotal API key, sent in the x-apikey header.
	// Required.
	APIKey string
	// APIURL is the API root; empty means DefaultAPIURL.
	APIURL string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Source looks indicators up in VirusTotal. It is safe for concurrent use.
type Source struct {
	api *restapi.Client
}

// New checks c and returns a source. It makes no request.
func New(c Config) (*Source, error) {
	if c.APIKey == "" {
		return nil, errors.New("virustotal: missing api_key")
	}
	base, err := restapi.BaseURL(c.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("virustotal: api_url %w", err)
	}
	return &Source{api: &restapi.Client{
		BaseURL: base,
		HTTP:    c.HTTP,
		Sleep:   c.Sleep,
		// Quota 429s come without Retry-After and last a minute or a day:
		// one more try covers a brief burst, more would only burn the
		// lookup's timeout.
		Retries: 1,
		Auth:    restapi.HeaderAuth("x-apikey", c.APIKey),
	}}, nil
}

// Name returns "virustotal".
func (s *Source) Name() string { return "virustotal" }

// Supports reports whether ind is a public IP address, a domain, a URL on a
// public host or a file hash.
func (s *Source) Supports(ind ioc.Indicator) bool {
	if !ind.External() {
		return false
	}
	switch ind.Type {
	case ioc.TypeIPv4, ioc.TypeIPv6, ioc.TypeDomain, ioc.TypeURL,
		ioc.TypeMD5, ioc.TypeSHA1, ioc.TypeSHA256:
		return true
	}
	return false
}

// object is the part of a VirusTotal object answer that is used.
type object struct {
	Data *struct {
		ID         string     `json:"id"`
		Type       string     `json:"type"`
		Attributes attributes `json:"attributes"`
	} `json:"data"`
}

// attributes holds the fields of IP address, domain, URL and file objects;
// each object type fills in its own.
type attributes struct {
	LastAnalysisStats *stats   `json:"last_analysis_stats"`
	Reputation        *int     `json:"reputation"`
	Tags              []string `json:"tags"`

	// IP addresses.
	Country string `json:"country"`
	ASOwner string `json:"as_owner"`
	ASN     int    `json:"asn"`
	Network string `json:"network"`

	// Domains and URLs.
	Categories   map[string]string `json:"categories"`
	Registrar    string            `json:"registrar"`
	CreationDate int64             `json:"creation_date"`
	LastFinalURL string            `json:"last_final_url"`
	Title        string            `json:"title"`

	// Files.
	TypeDescription string   `json:"type_description"`
	MeaningfulName  string   `json:"meaningful_name"`
	Names           []string `json:"names"`
	Size            int64    `json:"size"`
	ThreatLabel     struct {
		Suggested string `json:"suggested_threat_label"`
	} `json:"popular_threat_classification"`
}

// stats is last_analysis_stats: how many engines gave each answer.
type stats struct {
	Harmless   int `json:"harmless"`
	Malicious  int `json:"malicious"`
	Suspicious int `json:"suspicious"`
	Undetected int `json:"undetected"`
	Timeout    int `json:"timeout"`
}

// engines counts the engines that gave a verdict.
func (st stats) engines() int {
	return st.Harmless + st.Malicious + st.Suspicious + st.Undetected
}

// Lookup asks VirusTotal about ind.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if !s.Supports(ind) {
		return enrich.Result{}, fmt.Errorf("virustotal cannot look up %s %q", ind.Type, ind.Value)
	}
	collection, gui, id := route(ind)
	var obj object
	err := s.api.Do(ctx, restapi.Request{Path: "/" + collection + "/" + id}, &obj)
	if restapi.IsNotFound(err) {
		return enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in VirusTotal"}, nil
	}
	if err != nil {
		return enrich.Result{}, fmt.Errorf("look up %s: %w", ind.Type, err)
	}
	if obj.Data == nil {
		return enrich.Result{}, fmt.Errorf("look up %s: malformed response: no data object", ind.Type)
	}
	r := judge(obj.Data.Attributes.LastAnalysisStats)
	// For URLs and files the object id (a SHA-256) is what the web page
	// is keyed by, not the base64 form or the MD5 that was asked for.
	if pageID := obj.Data.ID; pageID != "" {
		r.Link = guiURL + "/" + gui + "/" + url.PathEscape(pageID)
	}
	a := obj.Data.Attributes
	if a.ThreatLabel.Suggested != "" && r.Verdict.Rank() >= enrich.Suspicious.Rank() {
		r.Reason += " (" + a.ThreatLabel.Suggested + ")"
	}
	r.Facts = facts(a)
	return r, nil
}

// route returns the API collection, the web page kind and the object id
// for ind. A URL's id is its unpadded base64url form, as API v3 documents.
func route(ind ioc.Indicator) (collection, gui, id string) {
	switch ind.Type {
	case ioc.TypeIPv4, ioc.TypeIPv6:
		return "ip_addresses", "ip-address", url.PathEscape(ind.Value)
	case ioc.TypeDomain:
		return "domains", "domain", url.PathEscape(ind.Value)
	case ioc.TypeURL:
		return "urls", "url", base64.RawURLEncoding.EncodeToString([]byte(ind.Value))
	}
	return "files", "file", url.PathEscape(ind.Value)
}

// judge maps the engine counts to a verdict, a score and a reason.
func judge(st *stats) enrich.Result {
	if st == nil || st.engines() == 0 {
		return enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "no analysis in VirusTotal yet"}
	}
	n := st.engines()
	r := enrich.Result{
		Score: int(math.Round(100 * (float64(st.Malicious) + float64(st.Suspicious)/2) / float64(n))),
	}
	switch {
	case st.Malicious >= MaliciousAt:
		r.Verdict = enrich.Malicious
	case st.Malicious > 0 || st.Suspicious > 0:
		r.Verdict = enrich.Suspicious
	default:
		r.Verdict = enrich.Clean
	}
	switch {
	case st.Malicious > 0 && st.Suspicious > 0:
		r.Reason = fmt.Sprintf("%d/%d engines flag it malicious, %d suspicious", st.Malicious, n, st.Suspicious)
	case st.Malicious > 0:
		r.Reason = fmt.Sprintf("%d/%d engines flag it malicious", st.Malicious, n)
	case st.Suspicious > 0:
		r.Reason = fmt.Sprintf("%d/%d engines flag it suspicious", st.Suspicious, n)
	default:
		r.Reason = fmt.Sprintf("0/%d engines flag it", n)
	}
	return r
}

// facts picks the details worth showing next to the verdict.
func facts(a attributes) []enrich.Fact {
	var fs []enrich.Fact
	add := func(label, value string) {
		if value != "" {
			fs = append(fs, enrich.Fact{Label: label, Value: value})
		}
	}
	if a.Reputation != nil {
		add("reputation", strconv.Itoa(*a.Reputation))
	}
	add("country", a.Country)
	if a.ASN != 0 {
		add("AS", strings.TrimSpace(fmt.Sprintf("AS%d %s", a.ASN, a.ASOwner)))
	} else {
		add("AS", a.ASOwner)
	}
	add("network", a.Network)
	add("categories", categories(a.Categories))
	add("registrar", a.Registrar)
	if a.CreationDate > 0 {
		add("created", time.Unix(a.CreationDate, 0).UTC().Format(time.DateOnly))
	}
	add("title", a.Title)
	add("final URL", a.LastFinalURL)
	add("file type", a.TypeDescription)
	add("names", names(a.MeaningfulName, a.Names))
	if a.Size > 0 {
		add("size", strconv.FormatInt(a.Size, 10)+" bytes")
	}
	add("threat label", a.ThreatLabel.Suggested)
	if len(a.Tags) > 0 {
		add("tags", strings.Join(first(a.Tags, 8), ", "))
	}
	return fs
}

// categories lists the distinct categories the vendors give a domain or
// URL, most agreed on first, at most five.
func categories(byVendor map[string]string) string {
	count := map[string]int{}
	for _, c := range byVendor {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			count[c]++
		}
	}
	cs := make([]string, 0, len(count))
	for c := range count {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b string) int {
		if d := count[b] - count[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return strings.Join(first(cs, 5), ", ")
}

// names lists a file's meaningful name and up to two more of the names it
// was submitted under.
func names(meaningful string, all []string) string {
	var ns []string
	if meaningful != "" {
		ns = append(ns, meaningful)
	}
	for _, n := range all {
		if len(ns) == 3 {
			break
		}
		if !slices.Contains(ns, n) {
			ns = append(ns, n)
		}
	}
	return strings.Join(ns, ", ")
}

func first(s []string, n int) []string { return s[:min(len(s), n)] }
