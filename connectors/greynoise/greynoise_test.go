package greynoise

import (
	"net/http"
	"testing"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

const testKey = "greynoise-test-key-7c1d5e9a3b0f42d8"

// newFake speaks the shape of the Community API: GET /v3/community/{ip},
// an optional key header (a wrong one gets a 401), answers and errors as
// JSON with a message. It answers with its replies in order, the last one
// repeating.
func newFake(t *testing.T, replies ...vendortest.Reply) *vendortest.Server {
	return vendortest.NewFake(t, func(r vendortest.Request, next vendortest.Reply) vendortest.Reply {
		if r.Method != http.MethodGet {
			t.Errorf("method = %s, want GET", r.Method)
		}
		if r.URL.RawQuery != "" {
			t.Errorf("query = %q, want none", r.URL.RawQuery)
		}
		if k := r.Header.Get("key"); k != "" && k != testKey {
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
	s, err := New(Config{APIKey: key, APIURL: f.URL, HTTP: f.Client(), Sleep: sl.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return s, sl
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
		replies   []vendortest.Reply
		want      enrich.Result
		wantFacts map[string]string
		wantCalls int
		wantWaits int
	}{
		{
			name:      "malicious scanner",
			value:     "45.155.205.233",
			key:       testKey,
			replies:   []vendortest.Reply{{File: "malicious.json"}},
			want:      malicious,
			wantFacts: map[string]string{"classification": "malicious", "name": "", "noise": "yes", "RIOT": "no", "last seen": "2024-04-25"},
		},
		{
			name:    "RIOT is a common business service",
			value:   "8.8.8.8",
			replies: []vendortest.Reply{{File: "riot.json"}},
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
			replies: []vendortest.Reply{{File: "riot_malicious.json"}},
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
			replies: []vendortest.Reply{{File: "benign.json"}},
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
			replies: []vendortest.Reply{{File: "noise.json"}},
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
			replies: []vendortest.Reply{{Body: `{"ip":"71.6.135.131","noise":true,"riot":false,"classification":"unknown","name":"unknown","link":"javascript:alert(1)","last_seen":"2024-04-23","message":"Success"}`}},
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
			replies: []vendortest.Reply{{Status: http.StatusNotFound, File: "not_found.json"}},
			want: enrich.Result{
				Verdict: enrich.Unknown,
				Score:   enrich.NoScore,
				Reason:  "IP not observed scanning the internet or contained in RIOT data set",
			},
		},
		{
			name:  "429 with Retry-After then success",
			value: "45.155.205.233",
			replies: []vendortest.Reply{
				{Status: http.StatusTooManyRequests, File: "rate_limited.json", Header: map[string]string{"Retry-After": "1"}},
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
				{Status: http.StatusBadGateway, Body: `<html><body>502 Bad Gateway</body></html>`},
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
			s, sl := newSource(t, f, tt.key)
			got := vendortest.Lookup(t, s, tt.value)
			vendortest.CheckResult(t, got, tt.want, tt.wantFacts)
			reqs := f.CheckRequests(t, max(tt.wantCalls, 1))
			for _, r := range reqs {
				if p := r.URL.Path; p != "/v3/community/"+tt.value {
					t.Errorf("path = %q, want /v3/community/%s", p, tt.value)
				}
				if k := r.Header.Get("key"); k != tt.key {
					t.Errorf("key header = %q, want %q", k, tt.key)
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
		{"wrong key", "greynoise-wrong-key-000000000000", []vendortest.Reply{{File: "malicious.json"}}, "authentication failed"},
		{"malformed JSON", testKey, []vendortest.Reply{{Body: `{"ip": "45.155.205.233", "noise": tr`}}, "malformed response"},
		{"not an IPv4 address to GreyNoise", testKey, []vendortest.Reply{{Status: http.StatusBadRequest, File: "bad_request.json"}}, "HTTP 400"},
		{"server error persists, echoing the key", testKey, []vendortest.Reply{{Status: http.StatusInternalServerError, Body: `{"message":"key ` + testKey + ` broke us"}`}}, "HTTP 500"},
		{"daily quota spent", "", []vendortest.Reply{{Status: http.StatusTooManyRequests, File: "rate_limited.json"}}, "rate limited"},
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
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSupports(t, s, "greynoise", map[string]bool{
		"8.8.8.8":              true,
		"45.155.205.233":       true,
		"2001:4860:4860::8888": false, // GreyNoise observes IPv4 only
		"10.1.2.3":             false,
		"192.168.0.10":         false,
		"169.254.169.254":      false,
		"192.0.2.10":           false,
		"198.51.100.1":         false,
		"203.0.113.7":          false,
		"example.com":          false,
	}, map[ioc.Indicator]bool{
		ioc.Indicator{Type: ioc.TypeUser, Value: "alice"}: false,
	})
	if _, err := New(Config{APIURL: "/v3"}); err == nil {
		t.Error("New with a relative api_url succeeded")
	}
}
