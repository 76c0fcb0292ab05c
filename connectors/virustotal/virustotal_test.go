package virustotal

import (
	"net/http"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

const testKey = "vt-test-key-5f1a0c7e9b2d4a68"

// newFake speaks the shape of API v3: GET under /api/v3, the key in
// x-apikey (a wrong one gets VirusTotal's 401), error objects in JSON. It
// answers with its replies in order, the last one repeating.
func newFake(t *testing.T, replies ...vendortest.Reply) *vendortest.Server {
	return vendortest.NewFake(t, func(r vendortest.Request, next vendortest.Reply) vendortest.Reply {
		if r.Method != http.MethodGet {
			t.Errorf("method = %s, want GET", r.Method)
		}
		if r.URL.RawQuery != "" {
			t.Errorf("query = %q, want none (the key goes in a header)", r.URL.RawQuery)
		}
		if r.Header.Get("x-apikey") != testKey {
			return vendortest.Reply{Status: http.StatusUnauthorized, File: "wrong_credentials.json"}
		}
		return next
	}, replies...)
}

// newSource returns a source against f that records its waits instead of
// sleeping.
func newSource(t *testing.T, f *vendortest.Server, key string) (*Source, *vendortest.Sleeps) {
	t.Helper()
	sl := &vendortest.Sleeps{}
	s, err := New(Config{APIKey: key, APIURL: f.URL + "/api/v3", HTTP: f.Client(), Sleep: sl.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return s, sl
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		replies   []vendortest.Reply
		wantPaths []string
		want      enrich.Result
		wantFacts map[string]string
		wantWaits int
	}{
		{
			name:      "IP address flagged by many engines is malicious",
			value:     "45.155.205.233",
			replies:   []vendortest.Reply{{File: "ip_address.json"}},
			wantPaths: []string{"/api/v3/ip_addresses/45.155.205.233"},
			want: enrich.Result{
				Verdict: enrich.Malicious,
				Score:   16, // 100 × (14 + 2/2) / 92
				Reason:  "14/92 engines flag it malicious, 2 suspicious",
				Link:    "https://www.virustotal.com/gui/ip-address/45.155.205.233",
			},
			wantFacts: map[string]string{"country": "RU", "AS": "AS204428 Alexander Feliksovich Chernyshev", "reputation": "-11", "network": "45.155.205.0/24"},
		},
		{
			name:      "domain flagged by one engine is suspicious",
			value:     "login-micros0ft-support.com",
			replies:   []vendortest.Reply{{File: "domain.json"}},
			wantPaths: []string{"/api/v3/domains/login-micros0ft-support.com"},
			want: enrich.Result{
				Verdict: enrich.Suspicious,
				Score:   2, // 100 × (1 + 1/2) / 93
				Reason:  "1/93 engines flag it malicious, 1 suspicious",
				Link:    "https://www.virustotal.com/gui/domain/login-micros0ft-support.com",
			},
			wantFacts: map[string]string{"categories": "phishing, phishing and other frauds", "registrar": "NameSilo, LLC", "created": "2024-04-24"},
		},
		{
			name:      "URL no engine flags is clean",
			value:     "https://www.google.com/",
			replies:   []vendortest.Reply{{File: "url.json"}},
			wantPaths: []string{"/api/v3/urls/aHR0cHM6Ly93d3cuZ29vZ2xlLmNvbS8"},
			want: enrich.Result{
				Verdict: enrich.Clean,
				Score:   0,
				Reason:  "0/93 engines flag it",
				Link:    "https://www.virustotal.com/gui/url/d0e196a0c25d35dd0a84593cbae0f38333aa58529936444ea26453eab28dfc86",
			},
			wantFacts: map[string]string{"title": "Google", "categories": "search engines, search engines and portals"},
		},
		{
			name:      "file by MD5 links to its SHA-256 page",
			value:     "84c82835a5d21bbcf75a61706d8ab549",
			replies:   []vendortest.Reply{{File: "file.json"}},
			wantPaths: []string{"/api/v3/files/84c82835a5d21bbcf75a61706d8ab549"},
			want: enrich.Result{
				Verdict: enrich.Malicious,
				Score:   93, // 100 × 67 / 72; type-unsupported engines do not count
				Reason:  "67/72 engines flag it malicious (ransomware.wannacry/wanna)",
				Link:    "https://www.virustotal.com/gui/file/ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa",
			},
			wantFacts: map[string]string{
				"file type": "Win32 EXE",
				"names":     "diskpart.exe, wannacry.exe, ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa.exe",
				"tags":      "peexe, overlay",
			},
		},
		{
			name:      "IPv6 address",
			value:     "2a03:2880:f10c:83:face:b00c:0:25de",
			replies:   []vendortest.Reply{{File: "ipv6.json"}},
			wantPaths: []string{"/api/v3/ip_addresses/2a03:2880:f10c:83:face:b00c:0:25de"},
			want: enrich.Result{
				Verdict: enrich.Clean,
				Reason:  "0/93 engines flag it",
				Link:    "https://www.virustotal.com/gui/ip-address/2a03:2880:f10c:83:face:b00c:0:25de",
			},
			wantFacts: map[string]string{"AS": "AS32934 FACEBOOK", "country": "IE"},
		},
		{
			name:      "known but never analysed is unknown",
			value:     "newly-seen-example.net",
			replies:   []vendortest.Reply{{File: "no_analysis.json"}},
			wantPaths: []string{"/api/v3/domains/newly-seen-example.net"},
			want: enrich.Result{
				Verdict: enrich.Unknown,
				Score:   enrich.NoScore,
				Reason:  "no analysis in VirusTotal yet",
				Link:    "https://www.virustotal.com/gui/domain/newly-seen-example.net",
			},
		},
		{
			name:      "404 is unknown, not an error",
			value:     "45.155.205.100",
			replies:   []vendortest.Reply{{Status: http.StatusNotFound, File: "not_found.json"}},
			wantPaths: []string{"/api/v3/ip_addresses/45.155.205.100"},
			want:      enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in VirusTotal"},
		},
		{
			name:  "429 then success",
			value: "45.155.205.233",
			replies: []vendortest.Reply{
				{Status: http.StatusTooManyRequests, File: "quota_exceeded.json", Header: map[string]string{"Retry-After": "2"}},
				{File: "ip_address.json"},
			},
			wantPaths: []string{"/api/v3/ip_addresses/45.155.205.233", "/api/v3/ip_addresses/45.155.205.233"},
			want: enrich.Result{
				Verdict: enrich.Malicious,
				Score:   16,
				Reason:  "14/92 engines flag it malicious, 2 suspicious",
				Link:    "https://www.virustotal.com/gui/ip-address/45.155.205.233",
			},
			wantWaits: 1,
		},
		{
			name:  "5xx then success",
			value: "45.155.205.233",
			replies: []vendortest.Reply{
				{Status: http.StatusServiceUnavailable, File: "transient.json"},
				{File: "ip_address.json"},
			},
			wantPaths: []string{"/api/v3/ip_addresses/45.155.205.233", "/api/v3/ip_addresses/45.155.205.233"},
			want: enrich.Result{
				Verdict: enrich.Malicious,
				Score:   16,
				Reason:  "14/92 engines flag it malicious, 2 suspicious",
				Link:    "https://www.virustotal.com/gui/ip-address/45.155.205.233",
			},
			wantWaits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, sl := newSource(t, f, testKey)
			got := vendortest.Lookup(t, s, tt.value)
			vendortest.CheckResult(t, got, tt.want, tt.wantFacts)
			if paths := f.Paths(); strings.Join(paths, " ") != strings.Join(tt.wantPaths, " ") {
				t.Errorf("paths = %q, want %q", paths, tt.wantPaths)
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
		{"wrong key", "vt-wrong-key-0000000000000000", []vendortest.Reply{{File: "ip_address.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []vendortest.Reply{{Body: `{"data": {"id": "45.155.205.233", "attributes": {`}}, "malformed response"},
		{"no data object", testKey, []vendortest.Reply{{Body: `{"meta": {}}`}}, "malformed response"},
		{"server error persists", testKey, []vendortest.Reply{{Status: http.StatusInternalServerError, Body: `{"error":{"code":"InternalError","message":"key ` + testKey + ` caused trouble"}}`}}, "HTTP 500"},
		{"quota exhausted", testKey, []vendortest.Reply{{Status: http.StatusTooManyRequests, File: "quota_exceeded.json"}}, "rate limited"},
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
	vendortest.CheckSupports(t, s, "virustotal", map[string]bool{
		"8.8.8.8":                                  true,
		"2001:4860:4860::8888":                     true,
		"example.com":                              true,
		"https://evil.example.com/x?y=1":           true,
		"44d88612fea8a8f36de82e1278abb02f":         true,
		"3395856ce81f2b7382dee72602f798b642f14140": true,
		"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f": true,
		"10.1.2.3":              false,
		"192.168.1.1":           false,
		"203.0.113.7":           false,
		"198.51.100.1":          false,
		"2001:db8::1":           false,
		"http://10.0.0.5/admin": false,
		"alice@example.com":     false,
		"CVE-2024-3094":         false,
	}, map[ioc.Indicator]bool{
		ioc.Indicator{Type: ioc.TypeHostname, Value: "fileserver01"}: false,
		ioc.Indicator{Type: ioc.TypeUser, Value: "alice"}:            false,
	})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"no key", Config{}, "missing api_key"},
		{"relative URL", Config{APIKey: testKey, APIURL: "www.virustotal.com/api/v3"}, "api_url"},
		{"other scheme", Config{APIKey: testKey, APIURL: "ftp://example.com"}, "api_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error about %q", err, tt.want)
			}
		})
	}
}
