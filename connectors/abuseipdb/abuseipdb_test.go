package abuseipdb

import (
	"net/http"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

const testKey = "abuseipdb-test-key-1f9e2d3c4b5a69788796a5b4c3d2e1f0"

// newFake speaks the shape of API v2 /check: GET with ipAddress and
// maxAgeInDays in the query, the key in the Key header (a wrong one gets
// AbuseIPDB's 401), errors as {"errors":[{"detail":…}]}. It answers with
// its replies in order, the last one repeating.
func newFake(t *testing.T, replies ...vendortest.Reply) *vendortest.Server {
	return vendortest.NewFake(t, func(r vendortest.Request, next vendortest.Reply) vendortest.Reply {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/api/v2/check" {
			t.Errorf("request = %s %s, want GET /api/v2/check", r.Method, r.URL.Path)
		}
		if got := q.Get("maxAgeInDays"); got != "90" {
			t.Errorf("maxAgeInDays = %q, want 90", got)
		}
		if len(q) != 2 {
			t.Errorf("query = %q, want only ipAddress and maxAgeInDays", r.URL.RawQuery)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q, want application/json", got)
		}
		if r.Header.Get("Key") != testKey {
			return vendortest.Reply{Status: http.StatusUnauthorized, File: "unauthorized.json"}
		}
		return next
	}, replies...)
}

// newSource returns a source against f that records its waits instead of
// sleeping.
func newSource(t *testing.T, f *vendortest.Server, key string) (*Source, *vendortest.Sleeps) {
	t.Helper()
	sl := &vendortest.Sleeps{}
	s, err := New(Config{APIKey: key, APIURL: f.URL + "/api/v2", HTTP: f.Client(), Sleep: sl.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return s, sl
}

func TestLookup(t *testing.T) {
	malicious := enrich.Result{
		Verdict: enrich.Malicious,
		Score:   100,
		Reason:  "abuse confidence 100%, 3107 reports from 512 users in 90 days",
		Link:    "https://www.abuseipdb.com/check/45.155.205.233",
	}
	tests := []struct {
		name      string
		value     string
		replies   []vendortest.Reply
		want      enrich.Result
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:      "high confidence is malicious",
			value:     "45.155.205.233",
			replies:   []vendortest.Reply{{File: "malicious.json"}},
			want:      malicious,
			wantFacts: map[string]string{"country": "RU", "ISP": "Chernyshev Alexander Feliksovich", "usage": "Data Center/Web Hosting/Transit", "reports": "3107", "last reported": "2024-04-25"},
		},
		{
			name:    "middling confidence is suspicious",
			value:   "185.220.101.4",
			replies: []vendortest.Reply{{File: "suspicious.json"}},
			want: enrich.Result{
				Verdict: enrich.Suspicious,
				Score:   42,
				Reason:  "abuse confidence 42%, 17 reports from 9 users in 90 days",
				Link:    "https://www.abuseipdb.com/check/185.220.101.4",
			},
			wantFacts: map[string]string{"Tor exit": "yes", "last reported": "2024-04-25"},
		},
		{
			name:    "allowlisted is clean despite reports",
			value:   "8.8.8.8",
			replies: []vendortest.Reply{{File: "whitelisted.json"}},
			want: enrich.Result{
				Verdict: enrich.Clean,
				Score:   0,
				Reason:  "on AbuseIPDB's allowlist",
				Link:    "https://www.abuseipdb.com/check/8.8.8.8",
			},
			wantFacts: map[string]string{"ISP": "Google LLC", "domain": "google.com"},
		},
		{
			name:    "never reported is unknown",
			value:   "2a03:2880:f10c:83:face:b00c:0:25de",
			replies: []vendortest.Reply{{File: "unreported.json"}},
			want: enrich.Result{
				Verdict: enrich.Unknown,
				Score:   0,
				Reason:  "no abuse reports in 90 days",
				Link:    "https://www.abuseipdb.com/check/2a03:2880:f10c:83:face:b00c:0:25de",
			},
			wantFacts: map[string]string{"country": "IE", "last reported": ""},
		},
		{
			name:    "low confidence is unknown",
			value:   "93.184.215.14",
			replies: []vendortest.Reply{{File: "low.json"}},
			want: enrich.Result{
				Verdict: enrich.Unknown,
				Score:   4,
				Reason:  "low abuse confidence 4%, 1 report from 1 user in 90 days",
				Link:    "https://www.abuseipdb.com/check/93.184.215.14",
			},
		},
		{
			name:    "404 is unknown, not an error",
			value:   "45.155.205.233",
			replies: []vendortest.Reply{{Status: http.StatusNotFound, Body: `{"errors":[{"detail":"Not Found","status":404}]}`}},
			want:    enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in AbuseIPDB"},
		},
		{
			name:  "429 with Retry-After then success",
			value: "45.155.205.233",
			replies: []vendortest.Reply{
				{Status: http.StatusTooManyRequests, File: "rate_limited.json", Header: map[string]string{"Retry-After": "3", "X-RateLimit-Remaining": "0"}},
				{File: "malicious.json"},
			},
			want:      malicious,
			wantCalls: 2,
			wantWaits: 1,
		},
		{
			name:  "5xx then success",
			value: "45.155.205.233",
			replies: []vendortest.Reply{
				{Status: http.StatusServiceUnavailable, File: "server_error.json"},
				{File: "malicious.json"},
			},
			want:      malicious,
			wantCalls: 2,
			wantWaits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, sl := newSource(t, f, testKey)
			got := vendortest.Lookup(t, s, tt.value)
			vendortest.CheckResult(t, got, tt.want, tt.wantFacts)
			asked := f.CheckRequests(t, max(tt.wantCalls, 1))
			for _, r := range asked {
				if a := r.URL.Query().Get("ipAddress"); a != tt.value {
					t.Errorf("ipAddress = %q, want %q", a, tt.value)
				}
			}
			sl.CheckCount(t, tt.wantWaits)
		})
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		replies []vendortest.Reply
		want    string
	}{
		{"wrong key", "abuseipdb-wrong-key-00000000000000", []vendortest.Reply{{File: "malicious.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []vendortest.Reply{{Body: `{"data": {"ipAddress": "45.155.205.233", `}}, "malformed response"},
		{"no data object", testKey, []vendortest.Reply{{Body: `{}`}}, "malformed response"},
		{"invalid address", testKey, []vendortest.Reply{{Status: http.StatusUnprocessableEntity, Body: `{"errors":[{"detail":"The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).","source":{"parameter":"ipAddress"},"status":422}]}`}}, "HTTP 422"},
		{"server error persists, echoing the key", testKey, []vendortest.Reply{{Status: http.StatusInternalServerError, Body: `{"errors":[{"detail":"bad key ` + testKey + `","status":500}]}`}}, "HTTP 500"},
		{"daily quota spent", testKey, []vendortest.Reply{{Status: http.StatusTooManyRequests, File: "rate_limited.json", Header: map[string]string{"Retry-After": "43200"}}}, "rate limited: retry after 12h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, _ := newSource(t, f, tt.key)
			vendortest.CheckLookupErr(t, s, "45.155.205.233", tt.want, tt.key)
		})
	}
}

func TestSupports(t *testing.T) {
	s, err := New(Config{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSupports(t, s, "abuseipdb", map[string]bool{
		"8.8.8.8":                          true,
		"2001:4860:4860::8888":             true,
		"10.1.2.3":                         false,
		"172.16.5.4":                       false,
		"127.0.0.1":                        false,
		"100.64.1.1":                       false,
		"192.0.2.10":                       false,
		"203.0.113.7":                      false,
		"fd00::1":                          false,
		"2001:db8::1":                      false,
		"example.com":                      false,
		"https://example.com/":             false,
		"44d88612fea8a8f36de82e1278abb02f": false,
	}, map[ioc.Indicator]bool{
		ioc.Indicator{Type: ioc.TypeHostname, Value: "fileserver01"}: false,
	})
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "missing api_key") {
		t.Errorf("New without a key = %v, want missing api_key", err)
	}
	if _, err := New(Config{APIKey: testKey, APIURL: "api.abuseipdb.com"}); err == nil {
		t.Error("New with a relative api_url succeeded")
	}
}
