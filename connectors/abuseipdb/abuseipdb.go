// Package abuseipdb looks IP addresses up in AbuseIPDB (API v2 /check),
// the crowd-sourced register of addresses reported for attacks.
//
// The Score is AbuseIPDB's abuseConfidenceScore over the last MaxAgeDays
// days. The verdict:
//
//   - clean: the address is on AbuseIPDB's allowlist (isWhitelisted), such
//     as a public resolver or a large crawler;
//   - malicious: a confidence of MaliciousAt or more;
//   - suspicious: a confidence of SuspiciousAt or more;
//   - unknown otherwise. An address nobody reported is not vouched for, and
//     a low confidence means few, old or disputed reports: neither is an
//     opinion worth showing as "clean".
package abuseipdb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// DefaultAPIURL is the root of AbuseIPDB's API v2.
const DefaultAPIURL = "https://api.abuseipdb.com/api/v2"

// The confidence thresholds. AbuseIPDB's own guidance is that 100% is
// certain abuse and that blocking from about 75% is safe; 25% already
// takes several recent reports from distinct users.
const (
	MaliciousAt  = 75
	SuspiciousAt = 25
)

// MaxAgeDays is how far back reports count. 90 days is AbuseIPDB's
// default window: older reports say little about who holds an address
// today.
const MaxAgeDays = 90

// Config configures the source.
type Config struct {
	// APIKey is the AbuseIPDB API v2 key, sent in the Key header. Required.
	APIKey string
	// APIURL is the API root; empty means DefaultAPIURL.
	APIURL string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Source looks IP addresses up in AbuseIPDB. It is safe for concurrent use.
type Source struct {
	api *restapi.Client
}

// New checks c and returns a source. It makes no request.
func New(c Config) (*Source, error) {
	if c.APIKey == "" {
		return nil, errors.New("abuseipdb: missing api_key")
	}
	base, err := restapi.BaseURL(c.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("abuseipdb: api_url %w", err)
	}
	return &Source{api: &restapi.Client{
		BaseURL: base,
		HTTP:    c.HTTP,
		Sleep:   c.Sleep,
		// AbuseIPDB's 429 is the daily quota, with a Retry-After of hours
		// that restapi turns into a RateLimitError at once; retries are
		// for 5xx and short bursts.
		Retries: 2,
		Auth:    restapi.HeaderAuth("Key", c.APIKey),
	}}, nil
}

// Name returns "abuseipdb".
func (s *Source) Name() string { return "abuseipdb" }

// Supports reports whether ind is a public IPv4 or IPv6 address.
func (s *Source) Supports(ind ioc.Indicator) bool {
	return ind.External() && (ind.Type == ioc.TypeIPv4 || ind.Type == ioc.TypeIPv6)
}

// check is the answer of /check.
type check struct {
	Data *report `json:"data"`
}

// report is what AbuseIPDB knows of one address.
type report struct {
	IPAddress            string `json:"ipAddress"`
	IsWhitelisted        *bool  `json:"isWhitelisted"`
	AbuseConfidenceScore int    `json:"abuseConfidenceScore"`
	CountryCode          string `json:"countryCode"`
	UsageType            string `json:"usageType"`
	ISP                  string `json:"isp"`
	Domain               string `json:"domain"`
	IsTor                bool   `json:"isTor"`
	TotalReports         int    `json:"totalReports"`
	NumDistinctUsers     int    `json:"numDistinctUsers"`
	LastReportedAt       string `json:"lastReportedAt"`
}

// Lookup asks AbuseIPDB about ind.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if !s.Supports(ind) {
		return enrich.Result{}, fmt.Errorf("abuseipdb cannot look up %s %q", ind.Type, ind.Value)
	}
	var c check
	err := s.api.Do(ctx, restapi.Request{
		Path: "/check",
		Query: url.Values{
			"ipAddress":    {ind.Value},
			"maxAgeInDays": {strconv.Itoa(MaxAgeDays)},
		},
	}, &c)
	// /check answers every valid address; a 404 would mean a proxy or a
	// changed API, but it still says "nothing known" rather than "broken".
	if restapi.IsNotFound(err) {
		return enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in AbuseIPDB"}, nil
	}
	if err != nil {
		return enrich.Result{}, fmt.Errorf("check %s: %w", ind.Type, err)
	}
	if c.Data == nil {
		return enrich.Result{}, fmt.Errorf("check %s: malformed response: no data object", ind.Type)
	}
	d := c.Data
	r := enrich.Result{
		Score: d.AbuseConfidenceScore,
		Link:  "https://www.abuseipdb.com/check/" + url.PathEscape(ind.Value),
	}
	reports := fmt.Sprintf("%d %s from %d %s in %d days", d.TotalReports, plural(d.TotalReports, "report"),
		d.NumDistinctUsers, plural(d.NumDistinctUsers, "user"), MaxAgeDays)
	switch {
	case d.IsWhitelisted != nil && *d.IsWhitelisted:
		r.Verdict, r.Reason = enrich.Clean, "on AbuseIPDB's allowlist"
	case d.AbuseConfidenceScore >= MaliciousAt:
		r.Verdict = enrich.Malicious
		r.Reason = fmt.Sprintf("abuse confidence %d%%, %s", d.AbuseConfidenceScore, reports)
	case d.AbuseConfidenceScore >= SuspiciousAt:
		r.Verdict = enrich.Suspicious
		r.Reason = fmt.Sprintf("abuse confidence %d%%, %s", d.AbuseConfidenceScore, reports)
	case d.TotalReports == 0:
		r.Verdict = enrich.Unknown
		r.Reason = fmt.Sprintf("no abuse reports in %d days", MaxAgeDays)
	default:
		r.Verdict = enrich.Unknown
		r.Reason = fmt.Sprintf("low abuse confidence %d%%, %s", d.AbuseConfidenceScore, reports)
	}
	r.Facts = facts(d)
	return r, nil
}

// facts picks the details worth showing next to the verdict.
func facts(d *report) []enrich.Fact {
	var fs []enrich.Fact
	add := func(label, value string) {
		if value != "" {
			fs = append(fs, enrich.Fact{Label: label, Value: value})
		}
	}
	add("country", d.CountryCode)
	add("ISP", d.ISP)
	add("domain", d.Domain)
	add("usage", d.UsageType)
	if d.IsTor {
		add("Tor exit", "yes")
	}
	add("reports", strconv.Itoa(d.TotalReports))
	if last := d.LastReportedAt; last != "" {
		// AbuseIPDB sends RFC 3339 with an offset; a date is enough here.
		if t, err := time.Parse(time.RFC3339, last); err == nil {
			last = t.UTC().Format(time.DateOnly)
		}
		add("last reported", last)
	}
	return fs
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
