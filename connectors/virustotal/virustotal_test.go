package virustotal

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

const testKey = "vt-test-key-5f1a0c7e9b2d4a68"

// reply is one canned answer: a fixture from testdata or a literal body.
type reply struct {
	status int
	file   string
	body   string
	header map[string]string
}

// fakeVT speaks the shape of API v3: GET under /api/v3, the key in
// x-apikey (a wrong one gets VirusTotal's 401), error objects in JSON. It
// answers with its replies in order, the last one repeating.
type fakeVT struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	paths   []string
}

func newFake(t *testing.T, replies ...reply) *fakeVT {
	t.Helper()
	f := &fakeVT{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeVT) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.EscapedPath())
	rep := f.replies[min(len(f.paths), len(f.replies))-1]
	f.mu.Unlock()
	if r.Method != http.MethodGet {
		f.t.Errorf("method = %s, want GET", r.Method)
	}
	if r.URL.RawQuery != "" {
		f.t.Errorf("query = %q, want none (the key goes in a header)", r.URL.RawQuery)
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("x-apikey") != testKey {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(fixture(f.t, "wrong_credentials.json"))
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

func (f *fakeVT) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
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
func newSource(t *testing.T, f *fakeVT, key string) (*Source, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var waits []time.Duration
	s, err := New(Config{APIKey: key, APIURL: f.URL + "/api/v3", HTTP: f.Client(),
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
	tests := []struct {
		name      string
		value     string
		replies   []reply
		wantPaths []string
		want      enrich.Result
		wantFacts map[string]string
		wantWaits int
	}{
		{
			name:      "IP address flagged by many engines is malicious",
			value:     "45.155.205.233",
			replies:   []reply{{file: "ip_address.json"}},
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
			replies:   []reply{{file: "domain.json"}},
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
			replies:   []reply{{file: "url.json"}},
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
			replies:   []reply{{file: "file.json"}},
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
			replies:   []reply{{file: "ipv6.json"}},
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
			replies:   []reply{{file: "no_analysis.json"}},
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
			replies:   []reply{{status: http.StatusNotFound, file: "not_found.json"}},
			wantPaths: []string{"/api/v3/ip_addresses/45.155.205.100"},
			want:      enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in VirusTotal"},
		},
		{
			name:  "429 then success",
			value: "45.155.205.233",
			replies: []reply{
				{status: http.StatusTooManyRequests, file: "quota_exceeded.json", header: map[string]string{"Retry-After": "2"}},
				{file: "ip_address.json"},
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
			replies: []reply{
				{status: http.StatusServiceUnavailable, file: "transient.json"},
				{file: "ip_address.json"},
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
			if paths := f.seen(); strings.Join(paths, " ") != strings.Join(tt.wantPaths, " ") {
				t.Errorf("paths = %q, want %q", paths, tt.wantPaths)
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
		{"wrong key", "vt-wrong-key-0000000000000000", []reply{{file: "ip_address.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []reply{{body: `{"data": {"id": "45.155.205.233", "attributes": {`}}, "malformed response"},
		{"no data object", testKey, []reply{{body: `{"meta": {}}`}}, "malformed response"},
		{"server error persists", testKey, []reply{{status: http.StatusInternalServerError, body: `{"error":{"code":"InternalError","message":"key ` + testKey + ` caused trouble"}}`}}, "HTTP 500"},
		{"quota exhausted", testKey, []reply{{status: http.StatusTooManyRequests, file: "quota_exceeded.json"}}, "rate limited"},
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
		{indicator(t, "example.com"), true},
		{indicator(t, "https://evil.example.com/x?y=1"), true},
		{indicator(t, "44d88612fea8a8f36de82e1278abb02f"), true},
		{indicator(t, "3395856ce81f2b7382dee72602f798b642f14140"), true},
		{indicator(t, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"), true},
		{indicator(t, "10.1.2.3"), false},
		{indicator(t, "192.168.1.1"), false},
		{indicator(t, "203.0.113.7"), false},
		{indicator(t, "198.51.100.1"), false},
		{indicator(t, "2001:db8::1"), false},
		{indicator(t, "http://10.0.0.5/admin"), false},
		{indicator(t, "alice@example.com"), false},
		{indicator(t, "CVE-2024-3094"), false},
		{ioc.Indicator{Type: ioc.TypeHostname, Value: "fileserver01"}, false},
		{ioc.Indicator{Type: ioc.TypeUser, Value: "alice"}, false},
	}
	for _, tt := range tests {
		if got := s.Supports(tt.ind); got != tt.want {
			t.Errorf("Supports(%+v) = %v, want %v", tt.ind, got, tt.want)
		}
	}
	if s.Name() != "virustotal" {
		t.Errorf("Name = %q", s.Name())
	}
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
