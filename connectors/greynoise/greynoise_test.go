package greynoise

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

const testKey = "greynoise-test-key-7c1d5e9a3b0f42d8"

// reply is one canned answer: a fixture from testdata or a literal body.
type reply struct {
	status int
	file   string
	body   string
	header map[string]string
}

// fakeGreyNoise speaks the shape of the Community API: GET
// /v3/community/{ip}, an optional key header (a wrong one gets a 401),
// answers and errors as JSON with a message. It answers with its replies in
// order, the last one repeating.
type fakeGreyNoise struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	paths   []string
	keys    []string
}

func newFake(t *testing.T, replies ...reply) *fakeGreyNoise {
	t.Helper()
	f := &fakeGreyNoise{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGreyNoise) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.keys = append(f.keys, r.Header.Get("key"))
	rep := f.replies[min(len(f.paths), len(f.replies))-1]
	f.mu.Unlock()
	if r.Method != http.MethodGet {
		f.t.Errorf("method = %s, want GET", r.Method)
	}
	if r.URL.RawQuery != "" {
		f.t.Errorf("query = %q, want none", r.URL.RawQuery)
	}
	w.Header().Set("Content-Type", "application/json")
	if k := r.Header.Get("key"); k != "" && k != testKey {
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
func newSource(t *testing.T, f *fakeGreyNoise, key string) (*Source, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var waits []time.Duration
	s, err := New(Config{APIKey: key, APIURL: f.URL, HTTP: f.Client(),
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
		Score:   enrich.NoScore,
		Reason:  "classified malicious by GreyNoise, last seen 2024-04-25",
		Link:    "https://viz.greynoise.io/ip/45.155.205.233",
	}
	tests := []struct {
		name      string
		value     string
		key       string
		replies   []reply
		want      enrich.Result
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:      "malicious scanner",
			value:     "45.155.205.233",
			key:       testKey,
			replies:   []reply{{file: "malicious.json"}},
			want:      malicious,
			wantFacts: map[string]string{"classification": "malicious", "name": "", "noise": "yes", "RIOT": "no", "last seen": "2024-04-25"},
		},
		{
			name:    "RIOT is a common business service",
			value:   "8.8.8.8",
			replies: []reply{{file: "riot.json"}},
			want: enrich.Result{
				Verdict: enrich.Clean,
				Score:   enrich.NoScore,
				Reason:  "common business service: Google Public DNS, last seen 2024-04-25",
				Link:    "https://viz.greynoise.io/riot/8.8.8.8",
			},
			wantFacts: map[string]string{"name": "Google Public DNS", "RIOT": "yes"},
		},
		{
			name:    "malicious wins over RIOT",
			value:   "52.14.77.210",
			replies: []reply{{file: "riot_malicious.json"}},
			want: enrich.Result{
				Verdict: enrich.Malicious,
				Score:   enrich.NoScore,
				Reason:  "classified malicious by GreyNoise: Amazon Web Services, last seen 2024-04-25",
				Link:    "https://viz.greynoise.io/riot/52.14.77.210",
			},
		},
		{
			name:    "benign scanner",
			value:   "198.20.69.74",
			replies: []reply{{file: "benign.json"}},
			want: enrich.Result{
				Verdict: enrich.Clean,
				Score:   enrich.NoScore,
				Reason:  "known benign scanner: Shodan.io, last seen 2024-04-24",
				Link:    "https://viz.greynoise.io/ip/198.20.69.74",
			},
		},
		{
			name:    "noise of unknown intent is suspicious",
			value:   "71.6.135.131",
			replies: []reply{{file: "noise.json"}},
			want: enrich.Result{
				Verdict: enrich.Suspicious,
				Score:   enrich.NoScore,
				Reason:  "internet background noise, last seen 2024-04-23",
				Link:    "https://viz.greynoise.io/ip/71.6.135.131",
			},
			wantFacts: map[string]string{"classification": "unknown"},
		},
		{
			name:    "a link off greynoise.io is not trusted",
			value:   "71.6.135.131",
			replies: []reply{{body: `{"ip":"71.6.135.131","noise":true,"riot":false,"classification":"unknown","name":"unknown","link":"javascript:alert(1)","last_seen":"2024-04-23","message":"Success"}`}},
			want: enrich.Result{
				Verdict: enrich.Suspicious,
				Score:   enrich.NoScore,
				Reason:  "internet background noise, last seen 2024-04-23",
				Link:    "https://viz.greynoise.io/ip/71.6.135.131",
			},
		},
		{
			name:    "404 is unknown with GreyNoise's reason",
			value:   "93.184.215.14",
			replies: []reply{{status: http.StatusNotFound, file: "not_found.json"}},
			want: enrich.Result{
				Verdict: enrich.Unknown,
				Score:   enrich.NoScore,
				Reason:  "IP not observed scanning the internet or contained in RIOT data set",
			},
		},
		{
			name:  "429 with Retry-After then success",
			value: "45.155.205.233",
			replies: []reply{
				{status: http.StatusTooManyRequests, file: "rate_limited.json", header: map[string]string{"Retry-After": "1"}},
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
				{status: http.StatusBadGateway, body: `<html><body>502 Bad Gateway</body></html>`},
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
			s, waits := newSource(t, f, tt.key)
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
			for i, p := range f.paths {
				if p != "/v3/community/"+tt.value {
					t.Errorf("path = %q, want /v3/community/%s", p, tt.value)
				}
				if f.keys[i] != tt.key {
					t.Errorf("key header = %q, want %q", f.keys[i], tt.key)
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
		{"wrong key", "greynoise-wrong-key-000000000000", []reply{{file: "malicious.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []reply{{body: `{"ip": "45.155.205.233", "noise": tr`}}, "malformed response"},
		{"not an IPv4 address to GreyNoise", testKey, []reply{{status: http.StatusBadRequest, file: "bad_request.json"}}, "HTTP 400"},
		{"server error persists, echoing the key", testKey, []reply{{status: http.StatusInternalServerError, body: `{"message":"key ` + testKey + ` broke us"}`}}, "HTTP 500"},
		{"daily quota spent", "", []reply{{status: http.StatusTooManyRequests, file: "rate_limited.json"}}, "rate limited"},
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
			if tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Errorf("err = %q holds the API key", err)
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
		{indicator(t, "45.155.205.233"), true},
		{indicator(t, "2001:4860:4860::8888"), false}, // GreyNoise observes IPv4 only
		{indicator(t, "10.1.2.3"), false},
		{indicator(t, "192.168.0.10"), false},
		{indicator(t, "169.254.169.254"), false},
		{indicator(t, "192.0.2.10"), false},
		{indicator(t, "198.51.100.1"), false},
		{indicator(t, "203.0.113.7"), false},
		{indicator(t, "example.com"), false},
		{ioc.Indicator{Type: ioc.TypeUser, Value: "alice"}, false},
	}
	for _, tt := range tests {
		if got := s.Supports(tt.ind); got != tt.want {
			t.Errorf("Supports(%+v) = %v, want %v", tt.ind, got, tt.want)
		}
	}
	if s.Name() != "greynoise" {
		t.Errorf("Name = %q", s.Name())
	}
	if _, err := New(Config{APIURL: "/v3"}); err == nil {
		t.Error("New with a relative api_url succeeded")
	}
}
