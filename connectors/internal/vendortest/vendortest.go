// Package vendortest is the fake-server scaffolding that the tests of the
// vendor connectors share: the threat-intel sources (virustotal, abuseipdb,
// greynoise, misp, rdap) and the response connectors (crowdstrike,
// defender, okta, opnsense, jira, thehive, pagerduty).
//
// It is imported by _test.go files only, never by a connector: it holds a
// recording httptest server, canned replies answered in order, a Sleep that
// records waits instead of waiting, and the checks every vendor test makes
// (no secret in an error, a well-formed action spec, a lookup's result).
// What is particular to one vendor's API, the shape of its requests and of
// its answers, stays in that vendor's test.
package vendortest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request a Server received, with its body.
type Request struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
}

// JSON decodes the request's body as a JSON object, reporting a body that
// is not one as a test error.
func (r Request) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Errorf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

// Server is a fake vendor API: an httptest.Server, closed when the test
// ends, that records every request before its handler answers it.
type Server struct {
	*httptest.Server

	mu   sync.Mutex
	reqs []Request
}

// NewServer starts a Server whose handler is h. h may read the request
// body: the recording leaves it in place.
func NewServer(t testing.TB, h http.HandlerFunc) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := capture(r)
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// capture reads r's body into a Request and puts it back for the handler.
func capture(r *http.Request) Request {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	u := *r.URL
	return Request{Method: r.Method, URL: &u, Header: r.Header.Clone(), Body: b}
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// CheckRequests returns the requests received so far, reporting a test
// error unless there are n of them.
func (s *Server) CheckRequests(t testing.TB, n int) []Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) != n {
		t.Errorf("server saw %d requests, want %d", len(reqs), n)
	}
	return reqs
}

// Paths returns the escaped path of each request received so far.
func (s *Server) Paths() []string {
	var ps []string
	for _, r := range s.Requests() {
		ps = append(ps, r.URL.EscapedPath())
	}
	return ps
}

// Reply is one canned answer: a literal body, or a fixture file under the
// test's testdata directory.
type Reply struct {
	Status int // 0 means 200
	Header map[string]string
	Body   string
	File   string // under testdata/; used instead of Body when set
}

// WithHeader returns r with header k set to v, leaving r's own header map
// untouched: replies are shared between the requests of a test.
func (r Reply) WithHeader(k, v string) Reply {
	h := maps.Clone(r.Header)
	if h == nil {
		h = map[string]string{}
	}
	h[k] = v
	r.Header = h
	return r
}

// Write sends r: Content-Type application/json unless w or r.Header says
// otherwise, r's headers, its status and its body.
func (r Reply) Write(t testing.TB, w http.ResponseWriter) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		w.Header().Set(k, v)
	}
	body := []byte(r.Body)
	if r.File != "" {
		var err error
		if body, err = os.ReadFile(filepath.Join("testdata", r.File)); err != nil {
			// Not Fatal: this runs on the server's goroutine.
			t.Errorf("fixture: %v", err)
		}
	}
	w.WriteHeader(cmp.Or(r.Status, http.StatusOK))
	w.Write(body)
}

// replay returns a handler that answers with replies in order, the last
// one repeating. check, when not nil, is shown each request with the reply
// next in line and returns the reply to send: it asserts the shape of the
// vendor's API and may answer otherwise, as the API answers a wrong key
// with a 401.
func replay(t testing.TB, check func(r Request, next Reply) Reply, replies ...Reply) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		rep := replies[min(n, len(replies))-1]
		mu.Unlock()
		if check != nil {
			rep = check(capture(r), rep)
		}
		rep.Write(t, w)
	}
}

// NewFake starts a Server that answers with replies as replay does.
func NewFake(t testing.TB, check func(r Request, next Reply) Reply, replies ...Reply) *Server {
	t.Helper()
	return NewServer(t, replay(t, check, replies...))
}

// JSON answers status with body as application/json.
func JSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// Fail answers a failure status with a JSON body. A 429 also carries
// Retry-After: retryAfter seconds, unless retryAfter is empty.
func Fail(w http.ResponseWriter, status int, retryAfter, body string) {
	if status == http.StatusTooManyRequests && retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	JSON(w, status, body)
}

// Pop removes and returns the first status queued in q, or 0 when q is
// empty. Fakes queue the failures an endpoint answers before it works.
func Pop(q *[]int) int {
	if len(*q) == 0 {
		return 0
	}
	s := (*q)[0]
	*q = (*q)[1:]
	return s
}

// Sleeps records the waits a client asks for and returns at once, so that
// tests of rate limits and retries do not wait. Pass its Sleep method as a
// connector's Config.Sleep.
type Sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

// Sleep records d and returns ctx's error, as a wait cut short would.
func (s *Sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

// Waits returns the waits asked for so far.
func (s *Sleeps) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// Check reports a test error unless the waits asked for are want; nil and
// empty both mean none.
func (s *Sleeps) Check(t testing.TB, want []time.Duration) {
	t.Helper()
	if got := s.Waits(); !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

// CheckCount reports a test error unless n waits were asked for, of
// whatever length.
func (s *Sleeps) CheckCount(t testing.TB, n int) {
	t.Helper()
	if got := s.Waits(); len(got) != n {
		t.Errorf("waits = %v, want %d", got, n)
	}
}

// AssertNoSecret reports a test error if err's text holds any of secrets;
// empty secrets are skipped. Errors reach logs and chat rooms, so no
// connector may repeat a key, a token or a password in one.
func AssertNoSecret(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error repeats a secret: %v", err)
		}
	}
}

// CheckErr ends the test unless err matches want: nil when want is empty,
// otherwise an error whose text contains want. It then checks that err
// holds none of secrets.
func CheckErr(t testing.TB, err error, want string, secrets ...string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error = %v, want it to contain %q", err, want)
	}
	AssertNoSecret(t, err, secrets...)
}
