// Package greynoise looks IPv4 addresses up in GreyNoise's Community API,
// which tells internet-wide scanners and common business services (RIOT:
// cloud, CDN, DNS and SaaS ranges) apart from targeted traffic. Its value in
// an incident is mostly negative: "this address hits everyone" or "this is
// Microsoft 365" lowers the priority of an alert.
//
// The verdict, checked in this order:
//
//   - malicious: classification "malicious";
//   - clean: riot is true (a common business service), or classification
//     "benign" (a known benign scanner such as Shodan or a university);
//   - suspicious: noise is true with classification "unknown": it scans
//     the internet, intent unknown;
//   - unknown: not observed (GreyNoise answers 404 with a message).
//
// Malicious is checked before RIOT so that a business range GreyNoise has
// also seen attacking is never shown as clean. GreyNoise gives no score,
// so Score is enrich.NoScore.
//
// The Community API works without a key at a low daily quota; a key (even
// a free one) raises it.
package greynoise

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// DefaultAPIURL is the root of GreyNoise's API.
const DefaultAPIURL = "https://api.greynoise.io"

// Config configures the source.
type Config struct {
	// APIKey is a GreyNoise API key, sent in the key header. Optional:
	// without one the Community API allows fewer lookups a day.
	APIKey string
	// APIURL is the API root; empty means DefaultAPIURL.
	APIURL string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Source looks IPv4 addresses up in GreyNoise. It is safe for concurrent
// use.
type Source struct {
	api *restapi.Client
}

// New checks c and returns a source. It makes no request.
func New(c Config) (*Source, error) {
	base, err := restapi.BaseURL(c.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("greynoise: api_url %w", err)
	}
	api := &restapi.Client{
		BaseURL: base,
		HTTP:    c.HTTP,
		Sleep:   c.Sleep,
		// The Community API's 429 is a daily quota: one more try covers a
		// burst limit, more would only burn the lookup's timeout.
		Retries: 1,
	}
	if c.APIKey != "" {
		api.Auth = restapi.HeaderAuth("key", c.APIKey)
	}
	return &Source{api: api}, nil
}

// Name returns "greynoise".
func (s *Source) Name() string { return "greynoise" }

// Supports reports whether ind is a public IPv4 address: GreyNoise
// observes IPv4 only.
func (s *Source) Supports(ind ioc.Indicator) bool {
	return ind.External() && ind.Type == ioc.TypeIPv4
}

// community is the answer of /v3/community/{ip}.
type community struct {
	IP             string `json:"ip"`
	Noise          bool   `json:"noise"`
	RIOT           bool   `json:"riot"`
	Classification string `json:"classification"`
	Name           string `json:"name"`
	Link           string `json:"link"`
	LastSeen       string `json:"last_seen"`
	Message        string `json:"message"`
}

// Lookup asks GreyNoise about ind.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if !s.Supports(ind) {
		return enrich.Result{}, fmt.Errorf("greynoise cannot look up %s %q", ind.Type, ind.Value)
	}
	var c community
	err := s.api.Do(ctx, restapi.Request{Path: "/v3/community/" + url.PathEscape(ind.Value)}, &c)
	if restapi.IsNotFound(err) {
		// "IP not observed scanning the internet or contained in RIOT
		// data set." says exactly what "unknown" means here.
		reason := "not observed by GreyNoise"
		var se *restapi.StatusError
		if errors.As(err, &se) && se.Message != "" {
			reason = strings.TrimSuffix(se.Message, ".")
		}
		return enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: reason}, nil
	}
	if err != nil {
		return enrich.Result{}, fmt.Errorf("look up %s: %w", ind.Type, err)
	}
	r := enrich.Result{Score: enrich.NoScore, Link: link(c.Link, ind.Value)}
	name := c.Name
	if strings.EqualFold(name, "unknown") {
		name = ""
	}
	class := strings.ToLower(c.Classification)
	switch {
	case class == "malicious":
		r.Verdict, r.Reason = enrich.Malicious, "classified malicious by GreyNoise"
		if name != "" {
			r.Reason += ": " + name
		}
	case c.RIOT:
		r.Verdict, r.Reason = enrich.Clean, "common business service"
		if name != "" {
			r.Reason += ": " + name
		}
	case class == "benign":
		r.Verdict, r.Reason = enrich.Clean, "known benign scanner"
		if name != "" {
			r.Reason += ": " + name
		}
	case c.Noise:
		r.Verdict, r.Reason = enrich.Suspicious, "internet background noise"
	default:
		r.Verdict, r.Reason = enrich.Unknown, "not observed by GreyNoise"
	}
	if c.LastSeen != "" && r.Verdict != enrich.Unknown {
		r.Reason += ", last seen " + c.LastSeen
	}
	add := func(label, value string) {
		if value != "" {
			r.Facts = append(r.Facts, enrich.Fact{Label: label, Value: value})
		}
	}
	add("classification", class)
	add("name", name)
	add("last seen", c.LastSeen)
	add("noise", yesNo(c.Noise))
	add("RIOT", yesNo(c.RIOT))
	return r, nil
}

// link is GreyNoise's page about ip: the one the answer names if it is a
// GreyNoise https URL, since that tells RIOT and noise pages apart, or the
// visualizer's IP page.
func link(given, ip string) string {
	if u, err := url.Parse(given); err == nil && u.Scheme == "https" &&
		(u.Host == "greynoise.io" || strings.HasSuffix(u.Host, ".greynoise.io")) {
		return given
	}
	return "https://viz.greynoise.io/ip/" + url.PathEscape(ip)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
