package oauthcc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors/internal/restapi"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
)

const secret = "client-secret-do-not-leak-0123"

// endpoint is a fake token endpoint. It issues "token-N" with expiresIn
// (or an answer without a token when noToken), answers the statuses queued
// in fail first (with body), and has an API at /api that accepts only the
// latest token, and none while reject401 lasts.
type endpoint struct {
	*vendortest.Server

	mu        sync.Mutex
	issued    int
	expiresIn int
	noToken   bool
	fail      []int
	body      string
	reject401 int
	apiCalls  int
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{expiresIn: 3600}
	e.Server = vendortest.NewServer(t, e.serve)
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.URL.Path == "/api" {
		e.apiCalls++
		if e.reject401 > 0 {
			e.reject401--
			vendortest.JSON(w, http.StatusUnauthorized, `{"message":"token revoked"}`)
			return
		}
		if r.Header.Get("Authorization") != fmt.Sprintf("Bearer token-%d", e.issued) {
			vendortest.JSON(w, http.StatusUnauthorized, `{"message":"token expired"}`)
			return
		}
		vendortest.JSON(w, http.StatusOK, `{"ok":true}`)
		return
	}
	if s := vendortest.Pop(&e.fail); s != 0 {
		vendortest.Fail(w, s, "1", e.body)
		return
	}
	if e.noToken {
		vendortest.JSON(w, http.StatusOK, `{"token_type":"bearer"}`)
		return
	}
	e.issued++
	vendortest.JSON(w, http.StatusOK, fmt.Sprintf(`{"access_token":"token-%d","token_type":"bearer","expires_in":%d}`, e.issued, e.expiresIn))
}

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSource(e *endpoint, c Config, clk *clock) (*Source, *vendortest.Sleeps) {
	sl := &vendortest.Sleeps{}
	c.TokenURL, c.ClientID, c.ClientSecret, c.HTTP, c.Sleep = e.URL+"/token", "client-id", secret, e.Client(), sl.Sleep
	s := New(c)
	s.now = clk.now
	return s, sl
}

func TestTokenCachedAndRenewedEarly(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		// after is how long after the first token the second is asked
		// for; want is the token then returned.
		after time.Duration
		want  string
	}{
		{"cached", 3600, 58 * time.Minute, "token-1"},
		{"renewed a minute early", 3600, 59 * time.Minute, "token-2"},
		{"short life renewed at half", 60, 29 * time.Second, "token-1"},
		{"short life past half", 60, 30 * time.Second, "token-2"},
		{"no expires_in", 0, 0, "token-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t)
			e.expiresIn = tt.expiresIn
			clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			s, _ := newSource(e, Config{}, clk)
			if tok, err := s.Token(context.Background()); err != nil || tok != "token-1" {
				t.Fatalf("Token = %q, %v", tok, err)
			}
			clk.add(tt.after)
			if tok, err := s.Token(context.Background()); err != nil || tok != tt.want {
				t.Errorf("Token after %v = %q, %v; want %s", tt.after, tok, err, tt.want)
			}
		})
	}
}

func TestTokenRequest(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want url.Values
	}{
		{
			name: "credentials only",
			want: url.Values{"client_id": {"client-id"}, "client_secret": {secret}},
		},
		{
			name: "scope and grant_type",
			c:    Config{Scope: "https://api.example/.default", Form: url.Values{"grant_type": {"client_credentials"}}},
			want: url.Values{"client_id": {"client-id"}, "client_secret": {secret},
				"scope": {"https://api.example/.default"}, "grant_type": {"client_credentials"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t)
			s, _ := newSource(e, tt.c, &clock{})
			if _, err := s.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			r := e.Requests()[0]
			if r.Method != http.MethodPost || r.URL.Path != "/token" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("request = %s %s, Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			}
			if got := string(r.Body); got != tt.want.Encode() {
				t.Errorf("form = %s, want %s", got, tt.want.Encode())
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	echo := `{"error":"invalid_client","error_description":"client secret ` + secret + ` is not valid"}`
	tests := []struct {
		name    string
		c       Config
		fail    []int
		body    string
		noToken bool
		want    string
		retries int // waits before the error
	}{
		{name: "401 is a rejection", fail: []int{401}, body: echo, want: "get token: client_id or client_secret rejected: HTTP 401"},
		{name: "403 is a rejection", fail: []int{403}, body: echo, want: "get token: client_id or client_secret rejected: HTTP 403"},
		{name: "400 is not by default", fail: []int{400}, body: echo, want: "get token: HTTP 400: Bad Request: client secret [redacted] is not valid"},
		{
			name: "400 when the vendor says so",
			c:    Config{Credentials: "tenant_id, client_id or client_secret", Rejected: []int{400, 401}},
			fail: []int{400}, body: echo,
			want: "get token: tenant_id, client_id or client_secret rejected: HTTP 400",
		},
		{name: "5xx that lasts", fail: []int{503, 503, 503, 503}, body: `{"message":"down"}`, want: "get token: HTTP 503", retries: 3},
		{name: "429 that lasts", fail: []int{429, 429, 429, 429}, body: `{}`, want: "get token: rate limited", retries: 3},
		{name: "no token in the answer", noToken: true, want: "get token: the answer holds no access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t)
			e.fail, e.body, e.noToken = tt.fail, tt.body, tt.noToken
			s, sl := newSource(e, tt.c, &clock{})
			_, err := s.Token(context.Background())
			vendortest.CheckErr(t, err, tt.want, secret)
			if n := len(sl.Waits()); n != tt.retries {
				t.Errorf("%d waits, want %d", n, tt.retries)
			}
		})
	}
}

// TestDoRepeatsOnceOn401: a 401 from the API drops the token and tries
// once more with a new one; a second 401 is the caller's error.
func TestDoRepeatsOnceOn401(t *testing.T) {
	tests := []struct {
		name       string
		reject     int
		wantErr    string
		wantTokens int
		wantCalls  int
	}{
		{name: "no 401", wantTokens: 1, wantCalls: 1},
		{name: "one 401", reject: 1, wantTokens: 2, wantCalls: 2},
		{name: "401 after a fresh token", reject: 5, wantErr: "HTTP 401: authentication failed", wantTokens: 2, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t)
			e.reject401 = tt.reject
			s, sl := newSource(e, Config{}, &clock{})
			api := &restapi.Client{BaseURL: e.URL, HTTP: e.Client(), Sleep: sl.Sleep, Auth: s.Authorize}
			var out struct{ OK bool }
			err := s.Do(context.Background(), api, restapi.Request{Path: "/api"}, &out)
			vendortest.CheckErr(t, err, tt.wantErr, secret, "token-")
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.issued != tt.wantTokens || e.apiCalls != tt.wantCalls || (err == nil && !out.OK) {
				t.Errorf("%d tokens, %d API calls, out %+v; want %d, %d", e.issued, e.apiCalls, out, tt.wantTokens, tt.wantCalls)
			}
		})
	}
}

// TestConcurrentCallersShareOneToken: callers that arrive together wait
// for one token request.
func TestConcurrentCallersShareOneToken(t *testing.T) {
	e := newEndpoint(t)
	s, _ := newSource(e, Config{}, &clock{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.Token(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if e.issued != 1 {
		t.Errorf("%d tokens for concurrent callers, want 1", e.issued)
	}
}

func TestInvalidateLeavesANewerToken(t *testing.T) {
	e := newEndpoint(t)
	s, _ := newSource(e, Config{}, &clock{})
	first, _ := s.Token(context.Background())
	s.Invalidate(first)
	second, _ := s.Token(context.Background())
	s.Invalidate(first) // a late caller still holding the old one
	if tok, _ := s.Token(context.Background()); tok != second || second != "token-2" {
		t.Errorf("tokens %q, %q, then %q; want the second kept", first, second, tok)
	}
}
