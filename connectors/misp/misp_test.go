package misp

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
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

const testKey = "mIsPtEsTkEy0123456789abcdefABCDEF01234567"

// reply is one canned answer: a fixture from testdata or a literal body.
type reply struct {
	status int
	file   string
	body   string
	header map[string]string
}

// fakeMISP speaks the shape of /attributes/restSearch under a MISP
// installed at /misp: POST with a JSON search, the key as the whole
// Authorization header (a wrong one gets MISP's 403), JSON in and out. It
// answers with its replies in order, the last one repeating, and keeps
// the searches it was sent.
type fakeMISP struct {
	*httptest.Server
	t        *testing.T
	mu       sync.Mutex
	replies  []reply
	searches []map[string]any
}

func newFake(t *testing.T, replies ...reply) *fakeMISP {
	t.Helper()
	f := &fakeMISP{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeMISP) serve(w http.ResponseWriter, r *http.Request) {
	var search map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &search); err != nil {
		f.t.Errorf("body %q is not JSON: %v", b, err)
	}
	f.mu.Lock()
	f.searches = append(f.searches, search)
	rep := f.replies[min(len(f.searches), len(f.replies))-1]
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/misp/attributes/restSearch" {
		f.t.Errorf("request = %s %s, want POST /misp/attributes/restSearch", r.Method, r.URL.Path)
	}
	for _, h := range []string{"Accept", "Content-Type"} {
		if got := r.Header.Get(h); got != "application/json" {
			f.t.Errorf("%s = %q, want application/json", h, got)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != testKey {
		w.WriteHeader(http.StatusForbidden)
		w.Write(fixture(f.t, "forbidden.json"))
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(cmp.Or(rep.status, http.StatusOK))
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

// newSource returns a source against f that records its waits instead of
// sleeping.
func newSource(t *testing.T, f *fakeMISP, key string) (*Source, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var waits []time.Duration
	s, err := New(Config{APIKey: key, APIURL: f.URL + "/misp/", HTTP: f.Client(),
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
	ids := enrich.Result{
		Verdict: enrich.Malicious,
		Score:   enrich.NoScore,
		Reason:  `marked for IDS in 2 MISP events: "Emotet epoch 5 C2 servers"; "OSINT - Emotet returns with new loader"`,
		TLP:     "amber",
	}
	notIn := enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not in MISP"}
	tests := []struct {
		name      string
		value     string
		replies   []reply
		want      enrich.Result
		wantLink  string
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:     "an IDS attribute is malicious; its event comes first",
			value:    "45.155.205.233",
			replies:  []reply{{file: "ids.json"}},
			want:     ids,
			wantLink: "/misp/events/view/1234",
			wantFacts: map[string]string{
				"attributes":   "2",
				"events":       "2",
				"threat level": "high",
				"categories":   "Network activity",
				"types":        "ip-dst|port, ip-dst",
				"tags":         `osint:source-type="blog-post", misp-galaxy:malpedia="Emotet"`,
			},
		},
		{
			name:    "context only is suspicious, and the strictest TLP wins",
			value:   "login-micros0ft-support.com",
			replies: []reply{{file: "context_only.json"}},
			want: enrich.Result{
				Verdict: enrich.Suspicious,
				Score:   enrich.NoScore,
				Reason:  `in MISP event 1302 "Phishing wave against finance, April", not marked for IDS`,
				TLP:     "red",
			},
			wantLink:  "/misp/events/view/1302",
			wantFacts: map[string]string{"threat level": "low", "tags": "phishing", "types": "domain"},
		},
		{
			name:    "no attributes is unknown",
			value:   "44d88612fea8a8f36de82e1278abb02f",
			replies: []reply{{file: "empty.json"}},
			want:    notIn,
		},
		{
			name:    "the legacy empty list is unknown",
			value:   "CVE-2024-3094",
			replies: []reply{{file: "empty_legacy.json"}},
			want:    notIn,
		},
		{
			name:    "404 No matches is unknown",
			value:   "alice@example.com",
			replies: []reply{{status: http.StatusNotFound, file: "no_matches.json"}},
			want:    notIn,
		},
		{
			name:  "429 with Retry-After then success",
			value: "45.155.205.233",
			replies: []reply{
				{status: http.StatusTooManyRequests, body: `{"name":"Too many requests","message":"Too many requests"}`, header: map[string]string{"Retry-After": "4"}},
				{file: "ids.json"},
			},
			want:      ids,
			wantLink:  "/misp/events/view/1234",
			wantCalls: 2,
			wantWaits: 1,
		},
		{
			name:  "5xx then success: a search is safe to repeat",
			value: "45.155.205.233",
			replies: []reply{
				{status: http.StatusInternalServerError, file: "server_error.json"},
				{file: "ids.json"},
			},
			want:      ids,
			wantLink:  "/misp/events/view/1234",
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
			wantLink := ""
			if tt.wantLink != "" {
				wantLink = f.URL + tt.wantLink
			}
			if got.Verdict != tt.want.Verdict || got.Score != tt.want.Score ||
				got.Reason != tt.want.Reason || got.TLP != tt.want.TLP || got.Link != wantLink {
				t.Errorf("Lookup = %s %d %q tlp=%q %q\nwant     %s %d %q tlp=%q %q",
					got.Verdict, got.Score, got.Reason, got.TLP, got.Link,
					tt.want.Verdict, tt.want.Score, tt.want.Reason, tt.want.TLP, wantLink)
			}
			for label, want := range tt.wantFacts {
				if v := got.Fact(label); v != want {
					t.Errorf("fact %q = %q, want %q", label, v, want)
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.searches) != max(tt.wantCalls, 1) {
				t.Errorf("server saw %d requests, want %d", len(f.searches), max(tt.wantCalls, 1))
			}
			want := map[string]any{"returnFormat": "json", "value": ind.Value, "limit": float64(DefaultLimit), "page": float64(1), "includeEventTags": true}
			for _, s := range f.searches {
				for k, v := range want {
					if s[k] != v {
						t.Errorf("search %s = %v, want %v", k, s[k], v)
					}
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
		{"wrong key gets 403", "mIsPwRoNgKeY00000000000000000000000000000", []reply{{file: "ids.json"}}, "authentication failed"},
		{"401", testKey, []reply{{status: http.StatusUnauthorized, file: "forbidden.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []reply{{body: `{"response": {"Attribute": [{"value": "45.155.205.233", `}}, "malformed response"},
		{"wrong shape", testKey, []reply{{body: `{"response": {"Attribute": {"value": "x"}}}`}}, "malformed response"},
		{"no response", testKey, []reply{{body: `{"errors": "nope"}`}}, "malformed response"},
		{"server error persists, echoing the key", testKey, []reply{{status: http.StatusInternalServerError, body: `{"name":"Error","message":"bad Authorization ` + testKey + `"}`}}, "HTTP 500"},
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

func TestLimit(t *testing.T) {
	f := newFake(t, reply{file: "ids.json"})
	s, err := New(Config{APIKey: testKey, APIURL: f.URL + "/misp", HTTP: f.Client(), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Lookup(context.Background(), indicator(t, "45.155.205.233"))
	if err != nil {
		t.Fatal(err)
	}
	if f.searches[0]["limit"] != float64(2) {
		t.Errorf("limit sent = %v, want 2", f.searches[0]["limit"])
	}
	if got.Fact("attributes") != "2+" {
		t.Errorf("attributes = %q, want 2+ (the limit was reached)", got.Fact("attributes"))
	}
}

// TestInsecureSkipVerify: a self-signed MISP is refused unless the option
// is set.
func TestInsecureSkipVerify(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(fixture(t, "empty.json"))
	}))
	defer srv.Close()
	for _, insecure := range []bool{false, true} {
		s, err := New(Config{APIKey: testKey, APIURL: srv.URL, InsecureSkipVerify: insecure})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Lookup(context.Background(), indicator(t, "8.8.8.8"))
		switch {
		case insecure && (err != nil || got.Reason != "not in MISP"):
			t.Errorf("insecure: Lookup = %+v, %v; want not in MISP", got, err)
		case !insecure && (err == nil || !strings.Contains(err.Error(), "certificate")):
			t.Errorf("verified: Lookup err = %v, want a certificate error", err)
		}
	}
	if _, err := New(Config{APIKey: testKey, APIURL: srv.URL, InsecureSkipVerify: true, HTTP: srv.Client()}); err == nil {
		t.Error("New with InsecureSkipVerify and HTTP succeeded")
	}
}

func TestSupports(t *testing.T) {
	s, err := New(Config{APIKey: testKey, APIURL: "https://misp.example.org"})
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
		{indicator(t, "https://evil.example.com/x"), true},
		{indicator(t, "alice@example.com"), true},
		{indicator(t, "44d88612fea8a8f36de82e1278abb02f"), true},
		{indicator(t, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"), true},
		{indicator(t, "CVE-2024-3094"), true},
		{indicator(t, "10.1.2.3"), false},
		{indicator(t, "203.0.113.7"), false},
		{indicator(t, "http://192.168.1.1/login"), false},
		{ioc.Indicator{Type: ioc.TypeHostname, Value: "dc01.corp.example.com"}, false},
		{ioc.Indicator{Type: ioc.TypeUser, Value: "alice"}, false},
	}
	for _, tt := range tests {
		if got := s.Supports(tt.ind); got != tt.want {
			t.Errorf("Supports(%+v) = %v, want %v", tt.ind, got, tt.want)
		}
	}
	if s.Name() != "misp" {
		t.Errorf("Name = %q", s.Name())
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"nothing", Config{}, "missing api_url and api_key"},
		{"no URL", Config{APIKey: testKey}, "missing api_url"},
		{"no key", Config{APIURL: "https://misp.example.org"}, "missing api_key"},
		{"relative URL", Config{APIKey: testKey, APIURL: "misp.example.org"}, "api_url"},
		{"negative limit", Config{APIKey: testKey, APIURL: "https://misp.example.org", Limit: -1}, "limit"},
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
