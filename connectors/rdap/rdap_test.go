package rdap

import (
	"cmp"
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

// now is the fixed clock of the tests: domain ages are counted from it.
var now = time.Date(2024, 4, 25, 12, 0, 0, 0, time.UTC)

// reply is one canned answer: a fixture from testdata or a literal body.
type reply struct {
	status int
	file   string
	body   string
	header map[string]string
}

// fakeRDAP speaks RFC 7482 queries (GET /ip/{addr}, GET /domain/{name})
// and answers RFC 9083 JSON as application/rdap+json. It answers with its
// replies in order, the last one repeating.
type fakeRDAP struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	paths   []string
}

func newFake(t *testing.T, replies ...reply) *fakeRDAP {
	t.Helper()
	f := &fakeRDAP{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRDAP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	rep := f.replies[min(len(f.paths), len(f.replies))-1]
	f.mu.Unlock()
	checkQuery(f.t, r)
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/rdap+json")
	w.WriteHeader(cmp.Or(rep.status, http.StatusOK))
	if rep.file != "" {
		w.Write(fixture(f.t, rep.file))
	} else {
		w.Write([]byte(rep.body))
	}
}

// checkQuery asserts the request shape RFC 7480 asks of a client.
func checkQuery(t *testing.T, r *http.Request) {
	if r.Method != http.MethodGet {
		t.Errorf("method = %s, want GET", r.Method)
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/rdap+json") {
		t.Errorf("Accept = %q, want application/rdap+json", r.Header.Get("Accept"))
	}
	if r.Header.Get("Authorization") != "" || r.URL.RawQuery != "" {
		t.Errorf("request carries credentials or a query: %v %q", r.Header, r.URL.RawQuery)
	}
}

func fixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newSource returns a source against base with the fixed clock, recording
// its waits instead of sleeping.
func newSource(t *testing.T, base string, hc *http.Client) (*Source, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var waits []time.Duration
	s, err := New(Config{APIURL: base, HTTP: hc,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, d)
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
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
	google := enrich.Result{
		Verdict: enrich.Unknown,
		Score:   enrich.NoScore,
		Reason:  "network GOGL 8.8.8.0/24 (Google LLC)",
		Link:    "https://rdap.arin.net/registry/ip/8.8.8.0",
	}
	tests := []struct {
		name      string
		value     string
		replies   []reply
		wantPath  string
		want      enrich.Result
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:     "IP network with a nested abuse contact",
			value:    "8.8.8.8",
			replies:  []reply{{file: "ip_arin.json"}},
			wantPath: "/ip/8.8.8.8",
			want:     google,
			wantFacts: map[string]string{
				"network":       "GOGL",
				"handle":        "NET-8-8-8-0-2",
				"range":         "8.8.8.0/24",
				"type":          "DIRECT ALLOCATION",
				"organisation":  "Google LLC",
				"abuse contact": "network-abuse@google.com",
				"country":       "",
			},
		},
		{
			name:     "IPv6 network without cidr0 shows its range",
			value:    "2001:4860:4860::8888",
			replies:  []reply{{body: `{"objectClassName":"ip network","handle":"NET6-2001-4860-1","startAddress":"2001:4860::","endAddress":"2001:4860:ffff:ffff:ffff:ffff:ffff:ffff","ipVersion":"v6","name":"GOOGLE-IPV6","type":"DIRECT ALLOCATION"}`}},
			wantPath: "/ip/2001:4860:4860::8888",
			want: enrich.Result{
				Verdict: enrich.Unknown,
				Score:   enrich.NoScore,
				Reason:  "network GOOGLE-IPV6 2001:4860::–2001:4860:ffff:ffff:ffff:ffff:ffff:ffff",
			},
		},
		{
			name:     "newly registered domain is suspicious",
			value:    "login-micros0ft-support.com",
			replies:  []reply{{file: "domain_new.json"}},
			wantPath: "/domain/login-micros0ft-support.com",
			want: enrich.Result{
				Verdict: enrich.Suspicious,
				Score:   enrich.NoScore,
				Reason:  "domain registered 3 days ago via NameSilo, LLC",
				Link:    "https://rdap.verisign.com/com/v1/domain/LOGIN-MICROS0FT-SUPPORT.COM",
			},
			wantFacts: map[string]string{
				"registrar":     "NameSilo, LLC",
				"registered":    "2024-04-22",
				"age":           "3 days ago",
				"expires":       "2025-04-22",
				"abuse contact": "abuse@namesilo.com",
				"name servers":  "ns1.dnsowl.com, ns2.dnsowl.com, ns3.dnsowl.com",
			},
		},
		{
			name:     "old domain is described, not judged",
			value:    "example.com",
			replies:  []reply{{file: "domain_old.json"}},
			wantPath: "/domain/example.com",
			want: enrich.Result{
				Verdict: enrich.Unknown,
				Score:   enrich.NoScore,
				Reason:  "registered 1995-08-14 (10482 days ago) via RESERVED-Internet Assigned Numbers Authority",
				Link:    "https://rdap.verisign.com/com/v1/domain/EXAMPLE.COM",
			},
			wantFacts: map[string]string{"age": "10482 days ago", "abuse contact": "", "status": "client delete prohibited, client transfer prohibited, client update prohibited"},
		},
		{
			name:     "domain registered today",
			value:    "fresh-example.com",
			replies:  []reply{{body: `{"objectClassName":"domain","ldhName":"fresh-example.com","events":[{"eventAction":"registration","eventDate":"2024-04-25T09:30:00Z"}]}`}},
			wantPath: "/domain/fresh-example.com",
			want:     enrich.Result{Verdict: enrich.Suspicious, Score: enrich.NoScore, Reason: "domain registered today"},
		},
		{
			name:     "domain without a registration date",
			value:    "example.org",
			replies:  []reply{{body: `{"objectClassName":"domain","ldhName":"example.org","events":[{"eventAction":"registration","eventDate":"not a date"}]}`}},
			wantPath: "/domain/example.org",
			want:     enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "no registration date in RDAP"},
		},
		{
			name:     "404 is unknown, not an error",
			value:    "never-registered-example.com",
			replies:  []reply{{status: http.StatusNotFound, file: "not_found.json"}},
			wantPath: "/domain/never-registered-example.com",
			want:     enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in RDAP"},
		},
		{
			name:  "429 with Retry-After then success",
			value: "8.8.8.8",
			replies: []reply{
				{status: http.StatusTooManyRequests, file: "rate_limited.json", header: map[string]string{"Retry-After": "2"}},
				{file: "ip_arin.json"},
			},
			wantPath:  "/ip/8.8.8.8",
			want:      google,
			wantCalls: 2,
			wantWaits: 1,
		},
		{
			name:  "5xx then success",
			value: "8.8.8.8",
			replies: []reply{
				{status: http.StatusBadGateway, body: "<html>bad gateway</html>"},
				{file: "ip_arin.json"},
			},
			wantPath:  "/ip/8.8.8.8",
			want:      google,
			wantCalls: 2,
			wantWaits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, waits := newSource(t, f.URL, f.Client())
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
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.paths) != max(tt.wantCalls, 1) {
				t.Errorf("server saw %d requests, want %d", len(f.paths), max(tt.wantCalls, 1))
			}
			for _, p := range f.paths {
				if p != tt.wantPath {
					t.Errorf("path = %q, want %q", p, tt.wantPath)
				}
			}
			if len(*waits) != tt.wantWaits {
				t.Errorf("waits = %v, want %d", *waits, tt.wantWaits)
			}
		})
	}
}

// TestBootstrapRedirect: rdap.org answers with a redirect to the
// authoritative registry, which must be followed.
func TestBootstrapRedirect(t *testing.T) {
	registry := newFake(t, reply{file: "ip_ripe.json"})
	bootstrap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkQuery(t, r)
		http.Redirect(w, r, registry.URL+"/ripe"+r.URL.Path, http.StatusFound)
	}))
	defer bootstrap.Close()
	s, _ := newSource(t, bootstrap.URL, nil)
	got, err := s.Lookup(context.Background(), indicator(t, "45.155.205.233"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "network Net-45-155-205-0 45.155.205.0/24 (Chernyshev Alexander Feliksovich), RU"; got.Reason != want {
		t.Errorf("Reason = %q, want %q", got.Reason, want)
	}
	if got.Fact("abuse contact") != "abuse@ipnetworkagency.com" || got.Fact("country") != "RU" {
		t.Errorf("Facts = %v", got.Facts)
	}
	if len(registry.paths) != 1 || registry.paths[0] != "/ripe/ip/45.155.205.233" {
		t.Errorf("registry saw %q", registry.paths)
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name    string
		replies []reply
		want    string
	}{
		{"malformed JSON", []reply{{body: `{"objectClassName": "ip network", "handle": `}}, "malformed response"},
		{"not an RDAP object", []reply{{body: `{"hello": "world"}`}}, "malformed response"},
		{"401 from a registry that wants credentials", []reply{{status: http.StatusUnauthorized, body: `{"errorCode":401,"title":"Unauthorized"}`}}, "authentication failed"},
		{"server error persists", []reply{{status: http.StatusServiceUnavailable, body: `{"errorCode":503,"title":"Service Unavailable"}`}}, "HTTP 503: Service Unavailable"},
		{"bad request names the problem", []reply{{status: http.StatusBadRequest, body: `{"errorCode":400,"title":"Bad Request","description":["Invalid IP address"]}`}}, "Bad Request: Invalid IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, _ := newSource(t, f.URL, f.Client())
			_, err := s.Lookup(context.Background(), indicator(t, "8.8.8.8"))
			if err == nil {
				t.Fatal("Lookup succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSupports(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ind  ioc.Indicator
		want bool
	}{
		{indicator(t, "8.8.8.8"), true},
		{indicator(t, "2001:4860:4860::8888"), true},
		{indicator(t, "example.com"), true},
		{indicator(t, "10.1.2.3"), false},
		{indicator(t, "192.0.2.10"), false},
		{indicator(t, "203.0.113.7"), false},
		{indicator(t, "2001:db8::1"), false},
		{indicator(t, "https://example.com/"), false},
		{indicator(t, "alice@example.com"), false},
		{indicator(t, "44d88612fea8a8f36de82e1278abb02f"), false},
		{ioc.Indicator{Type: ioc.TypeHostname, Value: "fileserver01"}, false},
	}
	for _, tt := range tests {
		if got := s.Supports(tt.ind); got != tt.want {
			t.Errorf("Supports(%+v) = %v, want %v", tt.ind, got, tt.want)
		}
	}
	if s.Name() != "rdap" {
		t.Errorf("Name = %q", s.Name())
	}
	if _, err := New(Config{APIURL: "rdap.org"}); err == nil {
		t.Error("New with a relative api_url succeeded")
	}
}
