package httpreq_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/httpreq"
)

// recorder is a test server that remembers the last request it saw.
type recorder struct {
	*httptest.Server
	last   *http.Request
	body   []byte
	hits   int
	handle http.HandlerFunc
}

func newServer(t *testing.T, h http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{handle: h}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.hits++
		rec.last = r.Clone(context.Background())
		rec.body, _ = io.ReadAll(r.Body)
		rec.handle(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func respond(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		with    func(url string) map[string]any
		key     string
		opts    httpreq.Options
		check   func(t *testing.T, srv *recorder, out map[string]any, err error)
	}{
		{
			name: "json in and out",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.Header().Add("X-Multi", "first")
				w.Header().Add("X-Multi", "second")
				w.Header().Set("Set-Cookie", "session=abc")
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, `{"ok":true,"id":7,"hosts":["host-42"]}`)
			},
			with: func(u string) map[string]any {
				return map[string]any{"method": "post", "url": u + "/contain", "json": map[string]any{"host": "host-42", "n": 3}}
			},
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if srv.last.Method != "POST" || srv.last.URL.Path != "/contain" {
					t.Errorf("server saw %s %s", srv.last.Method, srv.last.URL.Path)
				}
				if ct := srv.last.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("request Content-Type = %q", ct)
				}
				var sent map[string]any
				if err := json.Unmarshal(srv.body, &sent); err != nil || sent["host"] != "host-42" || sent["n"] != 3.0 {
					t.Errorf("request body = %s (%v)", srv.body, err)
				}
				if out["status"] != 202 {
					t.Errorf("status = %v", out["status"])
				}
				want := map[string]any{"ok": true, "id": 7.0, "hosts": []any{"host-42"}}
				if !reflect.DeepEqual(out["json"], want) {
					t.Errorf("json = %#v, want %#v", out["json"], want)
				}
				h := out["headers"].(map[string]any)
				if h["content-type"] != "application/json; charset=utf-8" || h["x-multi"] != "first" {
					t.Errorf("headers = %v", h)
				}
				if _, ok := h["set-cookie"]; ok {
					t.Errorf("headers kept set-cookie: %v", h)
				}
				if out["body"] != `{"ok":true,"id":7,"hosts":["host-42"]}` {
					t.Errorf("body = %q", out["body"])
				}
			},
		},
		{
			name:    "problem+json decodes",
			handler: respond(200, "application/problem+json", `{"title":"x"}`),
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil || !reflect.DeepEqual(out["json"], map[string]any{"title": "x"}) {
					t.Errorf("json = %v, err %v", out["json"], err)
				}
			},
		},
		{
			name:    "defaults: GET, user agent, no body, no idempotency key",
			handler: respond(200, "text/plain", "hi"),
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if srv.last.Method != "GET" || len(srv.body) != 0 {
					t.Errorf("server saw %s with body %q", srv.last.Method, srv.body)
				}
				if ua := srv.last.Header.Get("User-Agent"); ua != "warroom" {
					t.Errorf("User-Agent = %q", ua)
				}
				if _, ok := srv.last.Header["Idempotency-Key"]; ok {
					t.Error("Idempotency-Key sent without a key")
				}
				if _, ok := out["json"]; ok {
					t.Errorf("json output for text/plain: %v", out["json"])
				}
				if out["body"] != "hi" {
					t.Errorf("body = %q", out["body"])
				}
			},
		},
		{
			name:    "raw body, headers and options",
			handler: respond(200, "", ""),
			opts:    httpreq.Options{UserAgent: "warroom/test"},
			with: func(u string) map[string]any {
				return map[string]any{"method": "PUT", "url": u, "body": "a=1&b=2",
					"headers": map[string]any{"Content-Type": "application/x-www-form-urlencoded", "x-count": 3, "Host": "edr.internal"}}
			},
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if string(srv.body) != "a=1&b=2" || srv.last.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Errorf("server saw body %q type %q", srv.body, srv.last.Header.Get("Content-Type"))
				}
				if srv.last.Header.Get("X-Count") != "3" || srv.last.Host != "edr.internal" {
					t.Errorf("X-Count = %q, Host = %q", srv.last.Header.Get("X-Count"), srv.last.Host)
				}
				if ua := srv.last.Header.Get("User-Agent"); ua != "warroom/test" {
					t.Errorf("User-Agent = %q", ua)
				}
			},
		},
		{
			name:    "idempotency key sent",
			handler: respond(200, "", ""),
			key:     "run7-isolate-1",
			with: func(u string) map[string]any {
				return map[string]any{"method": "POST", "url": u, "json": map[string]any{}}
			},
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if got := srv.last.Header.Values("Idempotency-Key"); !reflect.DeepEqual(got, []string{"run7-isolate-1"}) {
					t.Errorf("Idempotency-Key = %q", got)
				}
			},
		},
		{
			name:    "expect_status mismatch",
			handler: respond(200, "text/plain", "already isolated"),
			with:    func(u string) map[string]any { return map[string]any{"url": u + "/x?token=abc", "expect_status": 201} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				e := wantError(t, err, 200, false)
				if e.Expected != 201 || e.Body != "already isolated" {
					t.Errorf("Expected, Body = %d, %q", e.Expected, e.Body)
				}
				msg := err.Error()
				for _, s := range []string{"GET", srv.URL + "/x:", "status 200, want 201", "already isolated"} {
					if !strings.Contains(msg, s) {
						t.Errorf("error %q lacks %q", msg, s)
					}
				}
				if out["status"] != 200 || out["body"] != "already isolated" {
					t.Errorf("outputs with the error = %v", out)
				}
			},
		},
		{
			name:    "expect_status met by a 404",
			handler: respond(404, "", "gone"),
			with:    func(u string) map[string]any { return map[string]any{"url": u, "expect_status": "404"} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil || out["status"] != 404 {
					t.Errorf("status %v, err %v", out["status"], err)
				}
			},
		},
		{
			name:    "404 is not retryable",
			handler: respond(404, "", "no such host"),
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				wantError(t, err, 404, false)
			},
		},
		{
			name:    "500 is retryable",
			handler: respond(500, "", strings.Repeat("x", 500)),
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				e := wantError(t, err, 500, true)
				if len(e.Body) != 200 {
					t.Errorf("error quotes %d bytes of body, want 200", len(e.Body))
				}
			},
		},
		{
			name: "429 is retryable with Retry-After",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(429)
			},
			with: func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				e := wantError(t, err, 429, true)
				if e.RetryAfter != 7*time.Second {
					t.Errorf("RetryAfter = %s", e.RetryAfter)
				}
			},
		},
		{
			name: "timeout is retryable",
			handler: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done() // until the client gives up
			},
			with: func(u string) map[string]any { return map[string]any{"url": u, "timeout": "50ms"} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				wantError(t, err, 0, true)
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 50ms") {
					t.Errorf("err = %v", err)
				}
			},
		},
		{
			name:    "malformed json response",
			handler: respond(200, "application/json", `{"ok": tru`),
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := out["json"]; ok {
					t.Errorf("json = %v, want absent", v)
				}
				if out["body"] != `{"ok": tru` {
					t.Errorf("body = %q", out["body"])
				}
			},
		},
		{
			name:    "huge body with length",
			handler: respond(200, "application/json", strings.Repeat("a", 2048)),
			opts:    httpreq.Options{MaxResponse: 1024},
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				wantError(t, err, 200, false)
				if !errors.Is(err, httpreq.ErrTooLarge) {
					t.Errorf("err = %v, want ErrTooLarge", err)
				}
			},
		},
		{
			name: "huge body streamed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for range 4 {
					io.WriteString(w, strings.Repeat("a", 512))
					w.(http.Flusher).Flush() // no Content-Length
				}
			},
			opts: httpreq.Options{MaxResponse: 1024},
			with: func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if !errors.Is(err, httpreq.ErrTooLarge) {
					t.Errorf("err = %v, want ErrTooLarge", err)
				}
			},
		},
		{
			name:    "body exactly at the limit",
			handler: respond(200, "", strings.Repeat("a", 1024)),
			opts:    httpreq.Options{MaxResponse: 1024},
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil || len(out["body"].(string)) != 1024 {
					t.Errorf("err %v, body %d bytes", err, len(out["body"].(string)))
				}
			},
		},
		{
			name:    "body output truncated",
			handler: respond(200, "", strings.Repeat("é", httpreq.MaxBodyOutput)),
			with:    func(u string) map[string]any { return map[string]any{"url": u} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				b := out["body"].(string)
				if len(b) != httpreq.MaxBodyOutput || b != strings.Repeat("é", httpreq.MaxBodyOutput/2) {
					t.Errorf("body is %d bytes", len(b))
				}
			},
		},
		{
			name: "same-host redirect followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/old" {
					http.Redirect(w, r, "/new", http.StatusFound)
					return
				}
				io.WriteString(w, "moved "+r.Header.Get("Authorization"))
			},
			with: func(u string) map[string]any {
				return map[string]any{"url": u + "/old", "headers": map[string]any{"Authorization": "Bearer t"}}
			},
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if out["body"] != "moved Bearer t" || srv.hits != 2 {
					t.Errorf("body %q after %d requests", out["body"], srv.hits)
				}
			},
		},
		{
			name: "redirect to another name for the host refused",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/old" {
					http.Redirect(w, r, "http://localhost:"+strings.Split(r.Host, ":")[1]+"/new", http.StatusFound)
					return
				}
				t.Error("redirect followed")
			},
			with: func(u string) map[string]any { return map[string]any{"url": u + "/old"} },
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				wantError(t, err, 302, false)
				if !errors.Is(err, httpreq.ErrRedirect) || !strings.Contains(err.Error(), "another host (localhost:") {
					t.Errorf("err = %v", err)
				}
			},
		},
		{
			name:    "body and json together",
			handler: respond(200, "", ""),
			with: func(u string) map[string]any {
				return map[string]any{"method": "POST", "url": u, "body": "x", "json": map[string]any{"a": 1}}
			},
			check: func(t *testing.T, srv *recorder, out map[string]any, err error) {
				if err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
					t.Errorf("err = %v", err)
				}
				if srv.hits != 0 {
					t.Error("request sent")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.handler)
			out, err := httpreq.New(tt.opts).Run(context.Background(), connectors.Call{With: tt.with(srv.URL), IdempotencyKey: tt.key})
			tt.check(t, srv, out, err)
		})
	}
}

// wantError checks that err is an *httpreq.Error with this status and
// retryability, through both of the ways callers ask.
func wantError(t *testing.T, err error, status int, retryable bool) *httpreq.Error {
	t.Helper()
	var e *httpreq.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *httpreq.Error", err, err)
	}
	if e.Status != status {
		t.Errorf("Status = %d, want %d (%v)", e.Status, status, err)
	}
	if e.Retryable != retryable || e.Temporary() != retryable || httpreq.IsRetryable(fmt.Errorf("step: %w", err)) != retryable {
		t.Errorf("retryable = %v, want %v (%v)", e.Retryable, retryable, err)
	}
	return e
}

func TestCrossHostRedirectRefused(t *testing.T) {
	other := newServer(t, respond(200, "", "other"))
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	})
	_, err := httpreq.New(httpreq.Options{}).Run(context.Background(), connectors.Call{With: map[string]any{
		"method": "POST", "url": srv.URL, "json": map[string]any{"host": "h"},
		"headers": map[string]any{"Authorization": "Bearer secret-token"},
	}})
	wantError(t, err, 307, false)
	if !errors.Is(err, httpreq.ErrRedirect) {
		t.Errorf("err = %v, want ErrRedirect", err)
	}
	if other.hits != 0 {
		t.Errorf("the other host got %d requests", other.hits)
	}
}

func TestDowngradeRedirectRefused(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/plain", http.StatusFound)
	}))
	defer srv.Close()
	// The caller's client (here, one trusting the test certificate) must
	// not bring its own redirect policy along.
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return nil }
	_, err := httpreq.New(httpreq.Options{Client: client}).Run(context.Background(), connectors.Call{With: map[string]any{"url": srv.URL}})
	if !errors.Is(err, httpreq.ErrRedirect) || !strings.Contains(err.Error(), "from https to http") {
		t.Errorf("err = %v", err)
	}
	if client.CheckRedirect == nil {
		t.Error("New changed the caller's client")
	}
}

// TestSecretsNotInErrors sends credentials in every place a playbook puts
// them and checks that no failure repeats them, even when the server
// echoes the request back.
func TestSecretsNotInErrors(t *testing.T) {
	secrets := []string{"s3cr3t-bearer-token", "k3y-in-header", "qu3ry-api-key", "us3r-passw0rd"}
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, "%s %s\n", r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
			fmt.Fprintf(w, "%s %s", r.URL.RawQuery, r.Header.Get("Authorization")[len("Basic "):])
		}
	}
	// withSecrets puts credentials in the userinfo, the query string and
	// two headers of a request to base.
	withSecrets := func(base string) map[string]any {
		return map[string]any{
			"url": strings.Replace(base, "http://", "http://admin:us3r-passw0rd@", 1) + "/api?api_key=qu3ry-api-key&x=1",
			"headers": map[string]any{
				"Authorization": "Basic s3cr3t-bearer-token",
				"X-Api-Key":     "k3y-in-header",
			},
			"timeout": "50ms",
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: base is the URL to call
		base    string
	}{
		{"401 echoing the request", echo(401), ""},
		{"500 echoing the request", echo(500), ""},
		{"secret across the 200-byte cut", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			io.WriteString(w, strings.Repeat("x", 190)+r.Header.Get("X-Api-Key"))
		}, ""},
		{"redirect elsewhere", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, closed.URL+"/?api_key=qu3ry-api-key", http.StatusFound)
		}, ""},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, ""},
		{"connection refused", nil, closed.URL},
		{"bad url", nil, "http://[::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if tt.handler != nil {
				base = newServer(t, tt.handler).URL
			}
			_, err := httpreq.New(httpreq.Options{}).Run(context.Background(), connectors.Call{With: withSecrets(base)})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) || strings.Contains(err.Error(), s[:6]) {
					t.Errorf("error %q contains %q", err, s)
				}
			}
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err := httpreq.New(httpreq.Options{}).Run(context.Background(), connectors.Call{With: map[string]any{"url": closed.URL}})
	wantError(t, err, 0, true)
}

func TestCallerCancel(t *testing.T) {
	started := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := httpreq.New(httpreq.Options{}).Run(ctx, connectors.Call{With: map[string]any{"url": srv.URL}})
	wantError(t, err, 0, false)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestInvalidInputs(t *testing.T) {
	tests := []struct {
		name string
		with map[string]any
		want string
	}{
		{"no url", map[string]any{}, "with.url: required"},
		{"relative url", map[string]any{"url": "/api"}, "absolute http or https"},
		{"ftp url", map[string]any{"url": "ftp://host/file"}, "absolute http or https"},
		{"method not text", map[string]any{"url": "http://h", "method": 1}, "with.method"},
		{"bad method", map[string]any{"url": "http://h", "method": "GET /x"}, "invalid method"},
		{"headers not a map", map[string]any{"url": "http://h", "headers": []any{"a"}}, "with.headers: expected a mapping"},
		{"header value a map", map[string]any{"url": "http://h", "headers": map[string]any{"X": map[string]any{}}}, "with.headers.X"},
		{"header injection", map[string]any{"url": "http://h", "headers": map[string]any{"X": "a\r\nEvil: 1"}}, "line break"},
		{"body not text", map[string]any{"url": "http://h", "body": 3}, "with.body"},
		{"json not encodable", map[string]any{"url": "http://h", "json": map[string]any{"f": func() {}}}, "with.json"},
		{"expect_status not a status", map[string]any{"url": "http://h", "expect_status": 42}, "not an HTTP status"},
		{"expect_status not a number", map[string]any{"url": "http://h", "expect_status": "ok"}, "whole number"},
		{"bad timeout", map[string]any{"url": "http://h", "timeout": "soon"}, "with.timeout: invalid duration"},
		{"negative timeout", map[string]any{"url": "http://h", "timeout": "-1s"}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpreq.New(httpreq.Options{}).Run(context.Background(), connectors.Call{With: tt.with})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if httpreq.IsRetryable(err) {
				t.Errorf("input error %v is retryable", err)
			}
		})
	}
}
