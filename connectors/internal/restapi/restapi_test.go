package restapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// step is one canned answer of the fake server.
type step struct {
	status int
	header map[string]string
	body   string
}

// fake answers with its steps in order (the last one repeats) and keeps
// what it was asked.
type fake struct {
	*httptest.Server
	mu     sync.Mutex
	steps  []step
	calls  int
	last   *http.Request
	bodies []string
}

func newFake(t *testing.T, steps ...step) *fake {
	t.Helper()
	f := &fake{steps: steps}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		st := f.steps[min(f.calls, len(f.steps)-1)]
		f.calls++
		f.last = r.Clone(context.Background())
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
		for k, v := range st.header {
			w.Header().Set(k, v)
		}
		if st.status == 0 {
			st.status = http.StatusOK
		}
		w.WriteHeader(st.status)
		io.WriteString(w, st.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// sleeps records the waits a client asked for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

const secretKey = "s3cr3t-api-key-0123456789"

func TestDo(t *testing.T) {
	soon := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	tooMany := func(h map[string]string, body string) step {
		return step{status: http.StatusTooManyRequests, header: h, body: body}
	}
	ok := step{body: `{"ok":true}`}
	tests := []struct {
		name    string
		steps   []step
		req     Request
		retries int
		ctx     func() (context.Context, context.CancelFunc)
		// wantCalls is how many requests the server must see.
		wantCalls int
		// wantSleeps checks the waits asked for; nil means none.
		wantSleeps func(t *testing.T, d []time.Duration)
		// wantErr checks the error; nil means success with {"ok":true}.
		wantErr func(t *testing.T, err error)
	}{
		{
			name:      "429 with Retry-After seconds then success",
			steps:     []step{tooMany(map[string]string{"Retry-After": "7"}, ""), ok},
			wantCalls: 2,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 1 || d[0] != 7*time.Second {
					t.Errorf("sleeps = %v, want [7s]", d)
				}
			},
		},
		{
			name:      "429 with Retry-After HTTP-date then success",
			steps:     []step{tooMany(map[string]string{"Retry-After": soon}, ""), ok},
			wantCalls: 2,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				// The date has one-second precision and the clock moves on
				// between answer and parse.
				if len(d) != 1 || d[0] < 15*time.Second || d[0] > 21*time.Second {
					t.Errorf("sleeps = %v, want [about 20s]", d)
				}
			},
		},
		{
			name:      "429 with JSON retry_after then success",
			steps:     []step{tooMany(nil, `{"message":"You are being rate limited.","retry_after":1.5}`), ok},
			wantCalls: 2,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 1 || d[0] != 1500*time.Millisecond {
					t.Errorf("sleeps = %v, want [1.5s]", d)
				}
			},
		},
		{
			name:      "429 without a hint backs off",
			steps:     []step{tooMany(nil, ""), ok},
			wantCalls: 2,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 1 || d[0] < 400*time.Millisecond || d[0] > 600*time.Millisecond {
					t.Errorf("sleeps = %v, want [about 0.5s]", d)
				}
			},
		},
		{
			name:      "429 longer than MaxWait gives up at once",
			steps:     []step{tooMany(map[string]string{"Retry-After": "3600"}, "")},
			wantCalls: 1,
			wantErr:   wantRateLimit(time.Hour),
		},
		{
			name:      "429 until retries run out",
			steps:     []step{tooMany(map[string]string{"Retry-After": "1"}, "")},
			retries:   2,
			wantCalls: 3,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 2 {
					t.Errorf("sleeps = %v, want two", d)
				}
			},
			wantErr: wantRateLimit(time.Second),
		},
		{
			name:  "deadline shorter than Retry-After",
			steps: []step{tooMany(map[string]string{"Retry-After": "30"}, ""), ok},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 5*time.Second)
			},
			wantCalls: 1,
			wantErr:   wantRateLimit(30 * time.Second),
		},
		{
			name:      "5xx then success for GET",
			steps:     []step{{status: http.StatusBadGateway}, {status: http.StatusServiceUnavailable}, ok},
			wantCalls: 3,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 2 || d[1] <= d[0]/2 {
					t.Errorf("sleeps = %v, want two growing waits", d)
				}
			},
		},
		{
			name:      "5xx until retries run out",
			steps:     []step{{status: http.StatusInternalServerError, body: `{"error":{"code":"InternalError","message":"try later"}}`}},
			retries:   1,
			wantCalls: 2,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 1 {
					t.Errorf("sleeps = %v, want one", d)
				}
			},
			wantErr: wantStatus(500, "HTTP 500: Internal Server Error: try later"),
		},
		{
			name:      "negative Retries never repeats",
			steps:     []step{{status: http.StatusServiceUnavailable}, ok},
			retries:   -1,
			wantCalls: 1,
			wantErr:   wantStatus(503, "HTTP 503"),
		},
		{
			name:      "POST is not repeated after a 5xx",
			steps:     []step{{status: http.StatusBadGateway}, ok},
			req:       Request{Method: http.MethodPost, JSON: map[string]string{"a": "b"}},
			wantCalls: 1,
			wantErr:   wantStatus(502, "HTTP 502: Bad Gateway"),
		},
		{
			name:      "idempotent POST is repeated after a 5xx",
			steps:     []step{{status: http.StatusBadGateway}, ok},
			req:       Request{Method: http.MethodPost, JSON: map[string]string{"a": "b"}, Idempotent: true},
			wantCalls: 2,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 1 {
					t.Errorf("sleeps = %v, want one", d)
				}
			},
		},
		{
			name:      "POST is repeated after a 429",
			steps:     []step{tooMany(map[string]string{"Retry-After": "2"}, ""), ok},
			req:       Request{Method: http.MethodPost, JSON: map[string]string{"a": "b"}},
			wantCalls: 2,
			wantSleeps: func(t *testing.T, d []time.Duration) {
				if len(d) != 1 || d[0] != 2*time.Second {
					t.Errorf("sleeps = %v, want [2s]", d)
				}
			},
		},
		{
			name:      "malformed body",
			steps:     []step{{body: `{"ok":tru`}},
			wantCalls: 1,
			wantErr:   wantText("malformed response"),
		},
		{
			name:      "401 is an authentication error",
			steps:     []step{{status: http.StatusUnauthorized, body: `{"errors":[{"detail":"Authentication failed.","status":401}]}`}},
			wantCalls: 1,
			wantErr: func(t *testing.T, err error) {
				if !IsAuth(err) || !strings.Contains(err.Error(), "authentication failed") {
					t.Errorf("err = %v, want an authentication error", err)
				}
			},
		},
		{
			name:      "404 is not found, not retried",
			steps:     []step{{status: http.StatusNotFound, body: `{"message":"not here"}`}},
			wantCalls: 1,
			wantErr: func(t *testing.T, err error) {
				if !IsNotFound(err) || IsAuth(err) {
					t.Errorf("err = %v, want not found", err)
				}
			},
		},
		{
			name:      "a key echoed by the vendor is redacted",
			steps:     []step{{status: http.StatusForbidden, body: `{"message":"key ` + secretKey + ` is not valid"}`}},
			wantCalls: 1,
			wantErr:   wantStatus(403, "key [redacted] is not valid"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.steps...)
			var sl sleeps
			c := &Client{
				BaseURL: f.URL,
				HTTP:    f.Client(),
				Retries: tt.retries,
				Sleep:   sl.sleep,
				Auth: func(_ context.Context, h http.Header) error {
					h.Set("X-Apikey", secretKey)
					return nil
				},
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			req := tt.req
			req.Path = "/things/1"
			var out struct{ OK bool }
			err := c.Do(ctx, req, &out)
			if tt.wantErr == nil {
				if err != nil || !out.OK {
					t.Fatalf("Do = %v, %+v; want success", err, out)
				}
			} else {
				if err == nil {
					t.Fatal("Do succeeded, want an error")
				}
				tt.wantErr(t, err)
				if strings.Contains(err.Error(), secretKey) {
					t.Errorf("error %q holds the key", err)
				}
			}
			if got := f.count(); got != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantSleeps != nil {
				tt.wantSleeps(t, sl.d)
			} else if len(sl.d) > 0 {
				t.Errorf("slept %v, want no wait", sl.d)
			}
			if got := f.last.Header.Get("X-Apikey"); got != secretKey {
				t.Errorf("X-Apikey = %q, want the key", got)
			}
			if req.JSON != nil {
				for _, b := range f.bodies {
					if b != `{"a":"b"}` {
						t.Errorf("body = %q, want the JSON on every attempt", b)
					}
				}
			}
		})
	}
}

func wantRateLimit(after time.Duration) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var rl *RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %v (%T), want a RateLimitError", err, err)
		}
		if rl.RetryAfter != after {
			t.Errorf("RetryAfter = %v, want %v", rl.RetryAfter, after)
		}
	}
}

func wantStatus(status int, text string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if StatusOf(err) != status {
			t.Errorf("status of %v = %d, want %d", err, StatusOf(err), status)
		}
		if !strings.Contains(err.Error(), text) {
			t.Errorf("err = %q, want it to contain %q", err, text)
		}
	}
}

func wantText(text string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !strings.Contains(err.Error(), text) {
			t.Errorf("err = %q, want it to contain %q", err, text)
		}
	}
}

// TestScrub checks that a key passed as a query parameter never reaches an
// error text, whether the connection failed or the URL did not parse.
func TestScrub(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name string
		base string
		want string
	}{
		{"connection refused", closedURL, strings.TrimPrefix(closedURL, "http://") + "/v1/check"},
		{"unparsable base URL", "http://127.0.0.1:1/%zz", "unparsable URL"},
		{"user info in base URL", strings.Replace(closedURL, "http://", "http://admin:"+secretKey+"@", 1), "/v1/check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sl sleeps
			c := &Client{BaseURL: tt.base, Sleep: sl.sleep, Retries: 1}
			err := c.Do(context.Background(), Request{
				Path:  "/v1/check",
				Query: url.Values{"apikey": {secretKey}, "ip": {"8.8.8.8"}},
			}, nil)
			if err == nil {
				t.Fatal("Do succeeded, want an error")
			}
			if strings.Contains(err.Error(), secretKey) || strings.Contains(err.Error(), "apikey") {
				t.Errorf("error %q holds the query string", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to name %q", err, tt.want)
			}
		})
	}
}

// TestAuthHookFailureIsNotRetried: a hook that cannot produce credentials
// will not do better a second later, and the server must not be called.
func TestAuthHookFailureIsNotRetried(t *testing.T) {
	f := newFake(t, step{body: `{}`})
	var sl sleeps
	boom := errors.New("token endpoint said no")
	c := &Client{BaseURL: f.URL, HTTP: f.Client(), Sleep: sl.sleep,
		Auth: func(context.Context, http.Header) error { return boom }}
	err := c.Do(context.Background(), Request{Path: "/x"}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's error", err)
	}
	if f.count() != 0 || len(sl.d) != 0 {
		t.Errorf("calls = %d, sleeps = %v; want none", f.count(), sl.d)
	}
}

// TestRedirectKeepsKeyOnSameHost: credentials follow a redirect on the
// same host and are dropped on the way to another one.
func TestRedirectKeepsKeyOnSameHost(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name] = r.Header.Get("Key")
			mu.Unlock()
			io.WriteString(w, `{}`)
		}
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/final", http.StatusFound)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/final", http.StatusFound)
	})
	mux.HandleFunc("/final", record("same"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := &Client{BaseURL: srv.URL, Auth: func(_ context.Context, h http.Header) error {
		h.Set("Key", secretKey)
		return nil
	}}
	for _, path := range []string{"/same", "/away"} {
		if err := c.Do(context.Background(), Request{Path: path}, nil); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if got["same"] != secretKey {
		t.Errorf("same host got Key %q, want the key", got["same"])
	}
	if got["other"] != "" {
		t.Errorf("other host got Key %q, want none", got["other"])
	}
}

func TestRequestHeaders(t *testing.T) {
	f := newFake(t, step{body: `{}`})
	c := &Client{BaseURL: f.URL + "/", HTTP: f.Client()}
	err := c.Do(context.Background(), Request{
		Path:   "/domain/example.com",
		Query:  url.Values{"q": {"a b"}},
		Header: http.Header{"Accept": {"application/rdap+json"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.last.URL.String(); got != "/domain/example.com?q=a+b" {
		t.Errorf("URL = %q", got)
	}
	if got := f.last.Header.Get("Accept"); got != "application/rdap+json" {
		t.Errorf("Accept = %q, want the caller's", got)
	}
	if got := f.last.Header.Get("User-Agent"); got != "warroom" {
		t.Errorf("User-Agent = %q", got)
	}
}

func TestRetryAfterOf(t *testing.T) {
	tests := []struct {
		name   string
		header string
		body   string
		want   time.Duration
	}{
		{"seconds", "12", "", 12 * time.Second},
		{"fraction", "0.25", "", 250 * time.Millisecond},
		{"date in the past", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), "", 0},
		{"garbage", "soon", "", 0},
		{"negative", "-5", "", 0},
		{"not a number", "NaN", "", 0},
		{"infinite", "Inf", "", maxRetryAfter},
		{"huge", "1e300", "", maxRetryAfter},
		{"JSON", "", `{"retry_after": 3}`, 3 * time.Second},
		{"header wins over JSON", "2", `{"retry_after": 3}`, 2 * time.Second},
		{"not JSON", "", `<html>`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Retry-After", tt.header)
			}
			if got := retryAfterOf(h, []byte(tt.body)); got != tt.want {
				t.Errorf("retryAfterOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVendorMessage(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`{"message":"IP not observed"}`, "IP not observed"},
		{`{"error":{"code":"NotFoundError","message":"Domain \"x\" not found"}}`, `Domain "x" not found`},
		{`{"error":"invalid_client","error_description":"bad secret"}`, "bad secret"},
		{`{"errors":[{"detail":"Authentication failed.","status":401}]}`, "Authentication failed."},
		{`{"errorSummary":"Invalid token provided"}`, "Invalid token provided"},
		{`{"errorCode":404,"title":"Not Found","description":["The domain is not registered."]}`, "Not Found: The domain is not registered."},
		{`{"errorCode":400,"title":"Bad Request"}`, "Bad Request"},
		{`{"errorCode":400,"description":["Malformed query"]}`, "Malformed query"},
		{`{"message":"  two\n lines  "}`, "two lines"},
		{`<html>502</html>`, ""},
		{``, ""},
		{`{"message":"` + strings.Repeat("x", 300) + `"}`, strings.Repeat("x", 200) + "…"},
	}
	for _, tt := range tests {
		if got := vendorMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("vendorMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestErrorTextRedactsBeforeShortening(t *testing.T) {
	secrets := http.Header{"Authorization": {"Bearer " + secretKey}}
	// The key straddles the 200-character cut.
	body := `{"message":"` + strings.Repeat("x", 190) + secretKey + `"}`
	got := errorText([]byte(body), secrets)
	if strings.Contains(got, secretKey[:8]) {
		t.Errorf("errorText = %q, holds part of the key", got)
	}
}

// TestUntrustedCertificateIsNotRetried: a certificate error is not a lost
// connection; retrying only delays the message that says what is wrong.
func TestUntrustedCertificateIsNotRetried(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	var sl sleeps
	c := &Client{BaseURL: srv.URL, Sleep: sl.sleep}
	err := c.Do(context.Background(), Request{Path: "/x"}, nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if len(sl.d) != 0 {
		t.Errorf("slept %v, want no retry", sl.d)
	}
}

func TestBaseURL(t *testing.T) {
	const def = "https://api.example.com/v1"
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"", def, true},
		{"https://proxy.example.net/vt/", "https://proxy.example.net/vt/", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"api.example.com/v1", "", false},
		{"/v1", "", false},
		{"ftp://example.com", "", false},
		{"https://", "", false},
		{"https://exa mple.com/%zz", "", false},
	}
	for _, tt := range tests {
		got, err := BaseURL(tt.raw, def)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBaseURL)) {
			t.Errorf("BaseURL(%q) = %q, %v; want %q, ok %v", tt.raw, got, err, tt.want, tt.ok)
		}
	}
	if _, err := BaseURL("", ""); !errors.Is(err, ErrBaseURL) {
		t.Errorf("BaseURL without a default = %v, want ErrBaseURL", err)
	}
}

// TestHeaderAuth: the header HeaderAuth sets is sent, and cut out of a
// vendor error text that echoes it.
func TestHeaderAuth(t *testing.T) {
	f := newFake(t, step{status: http.StatusUnauthorized, body: `{"message":"bad key ` + secretKey + `"}`})
	c := &Client{BaseURL: f.URL, HTTP: f.Client(), Auth: HeaderAuth("Key", secretKey)}
	err := c.Do(context.Background(), Request{Path: "/x"}, nil)
	if got := f.last.Header.Get("Key"); got != secretKey {
		t.Errorf("Key = %q, want the key", got)
	}
	if err == nil || strings.Contains(err.Error(), secretKey) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("err = %v, want a 401 with the key redacted", err)
	}
}

// TestRequestSecretsRedacted: a credential sent in the body (a token
// request's client secret) is cut out of the vendor's error text, also
// when the text is shortened across it.
func TestRequestSecretsRedacted(t *testing.T) {
	const secret = "client-secret-0123456789"
	for _, body := range []string{
		`{"error":"invalid_client","error_description":"secret ` + secret + ` is wrong"}`,
		`{"message":"` + strings.Repeat("x", 190) + secret + `"}`,
	} {
		f := newFake(t, step{status: http.StatusBadRequest, body: body})
		c := &Client{BaseURL: f.URL, HTTP: f.Client()}
		err := c.Do(context.Background(), Request{Method: http.MethodPost, Form: url.Values{"client_secret": {secret}}, Secrets: []string{secret}}, nil)
		if StatusOf(err) != http.StatusBadRequest || strings.Contains(err.Error(), secret[:8]) {
			t.Errorf("err = %v, want a 400 without the secret", err)
		}
		if f.bodies[0] != "client_secret="+secret {
			t.Errorf("body = %q, want the form", f.bodies[0])
		}
	}
}
