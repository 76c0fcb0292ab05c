package abuseipdb

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

const testKey = "abuseipdb-test-key-1f9e2d3c4b5a69788796a5b4c3d2e1f0"

// reply is one canned answer: a fixture from testdata or a literal body.
type reply struct {
	status int
	file   string
	body   string
	header map[string]string
}

// fakeAbuseIPDB speaks the shape of API v2 /check: GET with ipAddress and
// maxAgeInDays in the query, the key in the Key header (a wrong one gets
// AbuseIPDB's 401), errors as {"errors":[{"detail":…}]}. It answers with
// its replies in order, the last one repeating.
type fakeAbuseIPDB struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	asked   []string // the ipAddress of each request
}

func newFake(t *testing.T, replies ...reply) *fakeAbuseIPDB {
	t.Helper()
	f := &fakeAbuseIPDB{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAbuseIPDB) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.asked = append(f.asked, q.Get("ipAddress"))
	rep := f.replies[min(len(f.asked), len(f.replies))-1]
	f.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Path != "/api/v2/check" {
		f.t.Errorf("request = %s %s, want GET /api/v2/check", r.Method, r.URL.Path)
	}
	if got := q.Get("maxAgeInDays"); got != "90" {
		f.t.Errorf("maxAgeInDays = %q, want 90", got)
	}
	if len(q) != 2 {
		f.t.Errorf("query = %q, want only ipAddress and maxAgeInDays", r.URL.RawQuery)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		f.t.Errorf("Accept = %q, want application/json", got)
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Key") != testKey {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(fixture(f.t, "unauthorized.json"))
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(cmpOr(rep.status, http.StatusOK))
	if rep.file != "" {
		w.Write(fixture(f.t, rep.file))
	} else {
		w.Write([]byte(rep.body))
	}
}

func (f *fakeAbuseIPDB) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

func fixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// newSource returns a source against f that records its waits instead of
// sleeping.
func newSource(t *testing.T, f *fakeAbuseIPDB, key string) (*Source, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var waits []time.Duration
	s, err := New(Config{APIKey: key, APIURL: f.URL + "/api/v2", HTTP: f.Client(),
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, d)
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	return s, &waits
}

func indicator(t *testing.T, v string) ioc.Indicator {
	t.Helper()
	ind, ok := ioc.Classify(v)
	if !ok {
		t.Fatalf("%q does not classify", v)
	}
	return ind
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
		replies   []reply
		want      enrich.Result
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:      "high confidence is malicious",
			value:     "45.155.205.233",
			replies:   []reply{{file: "malicious.json"}},
			want:      malicious,
			wantFacts: map[string]string{"country": "RU", "ISP": "Chernyshev Alexander Feliksovich", "usage": "Data Center/Web Hosting/Transit", "reports": "3107", "last reported": "2024-04-25"},
		},
		{
			name:    "middling confidence is suspicious",
			value:   "185.220.101.4",
			replies: []reply{{file: "suspicious.json"}},
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
			replies: []reply{{file: "whitelisted.json"}},
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
			replies: []reply{{file: "unreported.json"}},
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
			replies: []reply{{file: "low.json"}},
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
			replies: []reply{{status: http.StatusNotFound, body: `{"errors":[{"detail":"Not Found","status":404}]}`}},
			want:    enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in AbuseIPDB"},
		},
		{
			name:  "429 with Retry-After then success",
			value: "45.155.205.233",
			replies: []reply{
				{status: http.StatusTooManyRequests, file: "rate_limited.json", header: map[string]string{"Retry-After": "3", "X-RateLimit-Remaining": "0"}},
				{file: "malicious.json"},
			},
			want:      malicious,
			wantCalls: 2,
			wantWaits: 1,
		},
		{
			name:  "5xx then success",
			value: "45.155.205.233",
			replies: []reply{
				{status: http.StatusServiceUnavailable, file: "server_error.json"},
				{file: "malicious.json"},
			},
			want:      malicious,
			wantCalls: 2,
			wantWaits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, waits := newSource(t, f, testKey)
			ind := indicator(t, tt.value)
			if !s.Supports(ind) {
				t.Fatalf("Supports(%+v) = false", ind)
			}
			got, err := s.Lookup(context.Background(), ind)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if got.Verdict != tt.want.Verdict || got.Score != tt.want.Score ||
				got.Reason != tt.want.Reason || got.Link != tt.want.Link {
				t.Errorf("Lookup = %s %d %q %q\nwant     %s %d %q %q",
					got.Verdict, got.Score, got.Reason, got.Link,
					tt.want.Verdict, tt.want.Score, tt.want.Reason, tt.want.Link)
			}
			for label, want := range tt.wantFacts {
				if v := got.Fact(label); v != want {
					t.Errorf("fact %q = %q, want %q", label, v, want)
				}
			}
			asked := f.seen()
			if len(asked) != max(tt.wantCalls, 1) {
				t.Errorf("server saw %d requests, want %d", len(asked), max(tt.wantCalls, 1))
			}
			for _, a := range asked {
				if a != tt.value {
					t.Errorf("ipAddress = %q, want %q", a, tt.value)
				}
			}
			if len(*waits) != tt.wantWaits {
				t.Errorf("waits = %v, want %d", *waits, tt.wantWaits)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		replies []reply
		want    string
	}{
		{"wrong key", "abuseipdb-wrong-key-00000000000000", []reply{{file: "malicious.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []reply{{body: `{"data": {"ipAddress": "45.155.205.233", `}}, "malformed response"},
		{"no data object", testKey, []reply{{body: `{}`}}, "malformed response"},
		{"invalid address", testKey, []reply{{status: http.StatusUnprocessableEntity, body: `{"errors":[{"detail":"The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).","source":{"parameter":"ipAddress"},"status":422}]}`}}, "HTTP 422"},
		{"server error persists, echoing the key", testKey, []reply{{status: http.StatusInternalServerError, body: `{"errors":[{"detail":"bad key ` + testKey + `","status":500}]}`}}, "HTTP 500"},
		{"daily quota spent", testKey, []reply{{status: http.StatusTooManyRequests, file: "rate_limited.json", header: map[string]string{"Retry-After": "43200"}}}, "rate limited: retry after 12h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, _ := newSource(t, f, tt.key)
			_, err := s.Lookup(context.Background(), indicator(t, "45.155.205.233"))
			if err == nil {
				t.Fatal("Lookup succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), tt.key) {
				t.Errorf("err = %q holds the API key", err)
			}
		})
	}
}

func TestSupports(t *testing.T) {
	s, err := New(Config{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ind  ioc.Indicator
		want bool
	}{
		{indicator(t, "8.8.8.8"), true},
		{indicator(t, "2001:4860:4860::8888"), true},
		{indicator(t, "10.1.2.3"), false},
		{indicator(t, "172.16.5.4"), false},
		{indicator(t, "127.0.0.1"), false},
		{indicator(t, "100.64.1.1"), false},
		{indicator(t, "192.0.2.10"), false},
		{indicator(t, "203.0.113.7"), false},
		{indicator(t, "fd00::1"), false},
		{indicator(t, "2001:db8::1"), false},
		{indicator(t, "example.com"), false},
		{indicator(t, "https://example.com/"), false},
		{indicator(t, "44d88612fea8a8f36de82e1278abb02f"), false},
		{ioc.Indicator{Type: ioc.TypeHostname, Value: "fileserver01"}, false},
	}
	for _, tt := range tests {
		if got := s.Supports(tt.ind); got != tt.want {
			t.Errorf("Supports(%+v) = %v, want %v", tt.ind, got, tt.want)
		}
	}
	if s.Name() != "abuseipdb" {
		t.Errorf("Name = %q", s.Name())
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "missing api_key") {
		t.Errorf("New without a key = %v, want missing api_key", err)
	}
	if _, err := New(Config{APIKey: testKey, APIURL: "api.abuseipdb.com"}); err == nil {
		t.Error("New with a relative api_url succeeded")
	}
}
