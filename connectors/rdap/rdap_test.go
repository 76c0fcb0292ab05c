package rdap

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// now is the fixed clock of the tests: domain ages are counted from it.
var now = time.Date(2024, 4, 25, 12, 0, 0, 0, time.UTC)

// newFake speaks RFC 7482 queries (GET /ip/{addr}, GET /domain/{name})
// and answers RFC 9083 JSON as application/rdap+json. It answers with its
// replies in order, the last one repeating.
func newFake(t *testing.T, replies ...vendortest.Reply) *vendortest.Server {
	return vendortest.NewFake(t, func(r vendortest.Request, next vendortest.Reply) vendortest.Reply {
		checkQuery(t, r)
		return next.WithHeader("Content-Type", "application/rdap+json")
	}, replies...)
}

// checkQuery asserts the request shape RFC 7480 asks of a client.
func checkQuery(t *testing.T, r vendortest.Request) {
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

// newSource returns a source against base with the fixed clock, recording
// its waits instead of sleeping.
func newSource(t *testing.T, base string, hc *http.Client) (*Source, *vendortest.Sleeps) {
	t.Helper()
	sl := &vendortest.Sleeps{}
	s, err := New(Config{APIURL: base, HTTP: hc, Sleep: sl.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	return s, sl
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
		replies   []vendortest.Reply
		wantPath  string
		want      enrich.Result
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:     "IP network with a nested abuse contact",
			value:    "8.8.8.8",
			replies:  []vendortest.Reply{{File: "ip_arin.json"}},
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
			replies:  []vendortest.Reply{{Body: `{"objectClassName":"ip network","handle":"NET6-2001-4860-1","startAddress":"2001:4860::","endAddress":"2001:4860:ffff:ffff:ffff:ffff:ffff:ffff","ipVersion":"v6","name":"GOOGLE-IPV6","type":"DIRECT ALLOCATION"}`}},
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
			replies:  []vendortest.Reply{{File: "domain_new.json"}},
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
			replies:  []vendortest.Reply{{File: "domain_old.json"}},
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
			replies:  []vendortest.Reply{{Body: `{"objectClassName":"domain","ldhName":"fresh-example.com","events":[{"eventAction":"registration","eventDate":"2024-04-25T09:30:00Z"}]}`}},
			wantPath: "/domain/fresh-example.com",
			want:     enrich.Result{Verdict: enrich.Suspicious, Score: enrich.NoScore, Reason: "domain registered today"},
		},
		{
			name:     "domain without a registration date",
			value:    "example.org",
			replies:  []vendortest.Reply{{Body: `{"objectClassName":"domain","ldhName":"example.org","events":[{"eventAction":"registration","eventDate":"not a date"}]}`}},
			wantPath: "/domain/example.org",
			want:     enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "no registration date in RDAP"},
		},
		{
			name:     "404 is unknown, not an error",
			value:    "never-registered-example.com",
			replies:  []vendortest.Reply{{Status: http.StatusNotFound, File: "not_found.json"}},
			wantPath: "/domain/never-registered-example.com",
			want:     enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in RDAP"},
		},
		{
			name:  "429 with Retry-After then success",
			value: "8.8.8.8",
			replies: []vendortest.Reply{
				{Status: http.StatusTooManyRequests, File: "rate_limited.json", Header: map[string]string{"Retry-After": "2"}},
				{File: "ip_arin.json"},
			},
			wantPath:  "/ip/8.8.8.8",
			want:      google,
			wantCalls: 2,
			wantWaits: 1,
		},
		{
			name:  "5xx then success",
			value: "8.8.8.8",
			replies: []vendortest.Reply{
				{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"},
				{File: "ip_arin.json"},
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
			s, sl := newSource(t, f.URL, f.Client())
			got := vendortest.Lookup(t, s, tt.value)
			vendortest.CheckResult(t, got, tt.want, tt.wantFacts)
			for _, r := range f.CheckRequests(t, max(tt.wantCalls, 1)) {
				if p := r.URL.EscapedPath(); p != tt.wantPath {
					t.Errorf("path = %q, want %q", p, tt.wantPath)
				}
			}
			sl.CheckCount(t, tt.wantWaits)
		})
	}
}

// TestBootstrapRedirect: rdap.org answers with a redirect to the
// authoritative registry, which must be followed.
func TestBootstrapRedirect(t *testing.T) {
	registry := newFake(t, vendortest.Reply{File: "ip_ripe.json"})
	bootstrap := vendortest.NewFake(t, func(r vendortest.Request, _ vendortest.Reply) vendortest.Reply {
		checkQuery(t, r)
		return vendortest.Reply{Status: http.StatusFound, Header: map[string]string{"Location": registry.URL + "/ripe" + r.URL.Path}}
	}, vendortest.Reply{})
	s, _ := newSource(t, bootstrap.URL, nil)
	got := vendortest.Lookup(t, s, "45.155.205.233")
	if want := "network Net-45-155-205-0 45.155.205.0/24 (Chernyshev Alexander Feliksovich), RU"; got.Reason != want {
		t.Errorf("Reason = %q, want %q", got.Reason, want)
	}
	if got.Fact("abuse contact") != "abuse@ipnetworkagency.com" || got.Fact("country") != "RU" {
		t.Errorf("Facts = %v", got.Facts)
	}
	if paths := registry.Paths(); len(paths) != 1 || paths[0] != "/ripe/ip/45.155.205.233" {
		t.Errorf("registry saw %q", paths)
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name    string
		replies []vendortest.Reply
		want    string
	}{
		{"malformed JSON", []vendortest.Reply{{Body: `{"objectClassName": "ip network", "handle": `}}, "malformed response"},
		{"not an RDAP object", []vendortest.Reply{{Body: `{"hello": "world"}`}}, "malformed response"},
		{"401 from a registry that wants credentials", []vendortest.Reply{{Status: http.StatusUnauthorized, Body: `{"errorCode":401,"title":"Unauthorized"}`}}, "authentication failed"},
		{"server error persists", []vendortest.Reply{{Status: http.StatusServiceUnavailable, Body: `{"errorCode":503,"title":"Service Unavailable"}`}}, "HTTP 503: Service Unavailable"},
		{"bad request names the problem", []vendortest.Reply{{Status: http.StatusBadRequest, Body: `{"errorCode":400,"title":"Bad Request","description":["Invalid IP address"]}`}}, "Bad Request: Invalid IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, _ := newSource(t, f.URL, f.Client())
			vendortest.CheckLookupErr(t, s, "8.8.8.8", tt.want)
		})
	}
}

func TestSupports(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSupports(t, s, "rdap", map[string]bool{
		"8.8.8.8":                          true,
		"2001:4860:4860::8888":             true,
		"example.com":                      true,
		"10.1.2.3":                         false,
		"192.0.2.10":                       false,
		"203.0.113.7":                      false,
		"2001:db8::1":                      false,
		"https://example.com/":             false,
		"alice@example.com":                false,
		"44d88612fea8a8f36de82e1278abb02f": false,
	}, map[ioc.Indicator]bool{
		ioc.Indicator{Type: ioc.TypeHostname, Value: "fileserver01"}: false,
	})
	if _, err := New(Config{APIURL: "rdap.org"}); err == nil {
		t.Error("New with a relative api_url succeeded")
	}
}
