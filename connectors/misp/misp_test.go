package misp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

const testKey = "mIsPtEsTkEy0123456789abcdefABCDEF01234567"

// newFake speaks the shape of /attributes/restSearch under a MISP
// installed at /misp: POST with a JSON search, the key as the whole
// Authorization header (a wrong one gets MISP's 403), JSON in and out. It
// answers with its replies in order, the last one repeating; the searches
// it was sent are the bodies of its requests.
func newFake(t *testing.T, replies ...vendortest.Reply) *vendortest.Server {
	return vendortest.NewFake(t, func(r vendortest.Request, next vendortest.Reply) vendortest.Reply {
		r.JSON(t)
		if r.Method != http.MethodPost || r.URL.Path != "/misp/attributes/restSearch" {
			t.Errorf("request = %s %s, want POST /misp/attributes/restSearch", r.Method, r.URL.Path)
		}
		for _, h := range []string{"Accept", "Content-Type"} {
			if got := r.Header.Get(h); got != "application/json" {
				t.Errorf("%s = %q, want application/json", h, got)
			}
		}
		if r.Header.Get("Authorization") != testKey {
			return vendortest.Reply{Status: http.StatusForbidden, File: "forbidden.json"}
		}
		return next
	}, replies...)
}

// newSource returns a source against f that records its waits instead of
// sleeping.
func newSource(t *testing.T, f *vendortest.Server, key string) (*Source, *vendortest.Sleeps) {
	t.Helper()
	sl := &vendortest.Sleeps{}
	s, err := New(Config{APIKey: key, APIURL: f.URL + "/misp/", HTTP: f.Client(), Sleep: sl.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return s, sl
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
		replies   []vendortest.Reply
		want      enrich.Result
		wantLink  string
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:     "an IDS attribute is malicious; its event comes first",
			value:    "45.155.205.233",
			replies:  []vendortest.Reply{{File: "ids.json"}},
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
			replies: []vendortest.Reply{{File: "context_only.json"}},
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
			replies: []vendortest.Reply{{File: "empty.json"}},
			want:    notIn,
		},
		{
			name:    "the legacy empty list is unknown",
			value:   "CVE-2024-3094",
			replies: []vendortest.Reply{{File: "empty_legacy.json"}},
			want:    notIn,
		},
		{
			name:    "404 No matches is unknown",
			value:   "alice@example.com",
			replies: []vendortest.Reply{{Status: http.StatusNotFound, File: "no_matches.json"}},
			want:    notIn,
		},
		{
			name:  "429 with Retry-After then success",
			value: "45.155.205.233",
			replies: []vendortest.Reply{
				{Status: http.StatusTooManyRequests, Body: `{"name":"Too many requests","message":"Too many requests"}`, Header: map[string]string{"Retry-After": "4"}},
				{File: "ids.json"},
			},
			want:      ids,
			wantLink:  "/misp/events/view/1234",
			wantCalls: 2,
			wantWaits: 1,
		},
		{
			name:  "5xx then success: a search is safe to repeat",
			value: "45.155.205.233",
			replies: []vendortest.Reply{
				{Status: http.StatusInternalServerError, File: "server_error.json"},
				{File: "ids.json"},
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
			s, sl := newSource(t, f, testKey)
			got := vendortest.Lookup(t, s, tt.value)
			want := tt.want
			if tt.wantLink != "" {
				want.Link = f.URL + tt.wantLink
			}
			vendortest.CheckResult(t, got, want, tt.wantFacts)
			reqs := f.CheckRequests(t, max(tt.wantCalls, 1))
			wantSearch := map[string]any{"returnFormat": "json", "value": tt.value, "limit": float64(DefaultLimit), "page": float64(1), "includeEventTags": true}
			for _, r := range reqs {
				search := r.JSON(t)
				for k, v := range wantSearch {
					if search[k] != v {
						t.Errorf("search %s = %v, want %v", k, search[k], v)
					}
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
		{"wrong key gets 403", "mIsPwRoNgKeY00000000000000000000000000000", []vendortest.Reply{{File: "ids.json"}}, "authentication failed"},
		{"401", testKey, []vendortest.Reply{{Status: http.StatusUnauthorized, File: "forbidden.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []vendortest.Reply{{Body: `{"response": {"Attribute": [{"value": "45.155.205.233", `}}, "malformed response"},
		{"wrong shape", testKey, []vendortest.Reply{{Body: `{"response": {"Attribute": {"value": "x"}}}`}}, "malformed response"},
		{"no response", testKey, []vendortest.Reply{{Body: `{"errors": "nope"}`}}, "malformed response"},
		{"server error persists, echoing the key", testKey, []vendortest.Reply{{Status: http.StatusInternalServerError, Body: `{"name":"Error","message":"bad Authorization ` + testKey + `"}`}}, "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			s, _ := newSource(t, f, tt.key)
			vendortest.CheckLookupErr(t, s, "45.155.205.233", tt.want, tt.key)
		})
	}
}

func TestLimit(t *testing.T) {
	f := newFake(t, vendortest.Reply{File: "ids.json"})
	s, err := New(Config{APIKey: testKey, APIURL: f.URL + "/misp", HTTP: f.Client(), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := vendortest.Lookup(t, s, "45.155.205.233")
	if limit := f.Requests()[0].JSON(t)["limit"]; limit != float64(2) {
		t.Errorf("limit sent = %v, want 2", limit)
	}
	if got.Fact("attributes") != "2+" {
		t.Errorf("attributes = %q, want 2+ (the limit was reached)", got.Fact("attributes"))
	}
}

// TestInsecureSkipVerify: a self-signed MISP is refused unless the option
// is set.
func TestInsecureSkipVerify(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vendortest.Reply{File: "empty.json"}.Write(t, w)
	}))
	defer srv.Close()
	for _, insecure := range []bool{false, true} {
		s, err := New(Config{APIKey: testKey, APIURL: srv.URL, InsecureSkipVerify: insecure})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Lookup(context.Background(), vendortest.Indicator(t, "8.8.8.8"))
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
	vendortest.CheckSupports(t, s, "misp", map[string]bool{
		"8.8.8.8":                          true,
		"2001:4860:4860::8888":             true,
		"example.com":                      true,
		"https://evil.example.com/x":       true,
		"alice@example.com":                true,
		"44d88612fea8a8f36de82e1278abb02f": true,
		"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f": true,
		"CVE-2024-3094":            true,
		"10.1.2.3":                 false,
		"203.0.113.7":              false,
		"http://192.168.1.1/login": false,
	}, map[ioc.Indicator]bool{
		ioc.Indicator{Type: ioc.TypeHostname, Value: "dc01.corp.example.com"}: false,
		ioc.Indicator{Type: ioc.TypeUser, Value: "alice"}:                     false,
	})
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
