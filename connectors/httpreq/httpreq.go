// Package httpreq is the http.request action: a playbook step that calls an
// HTTP API, typically the REST endpoint of an EDR, a firewall or an
// identity provider.
//
// Security tools often live on internal networks (an EDR console on 10.x),
// so any host may be called. What the action refuses is being led
// elsewhere: a redirect to another host, or from https down to http, is an
// error rather than a request the playbook author never wrote.
//
// Errors reach chat and the case log, and secrets sit in headers and query
// strings, so an error names the method, the URL without its query string
// or userinfo, the status and the start of the response body (with any
// request header value it echoes masked), and never a request header.
package httpreq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

// Limits and defaults of a call.
const (
	// DefaultTimeout bounds a call whose with: gives no timeout.
	DefaultTimeout = 30 * time.Second
	// MaxTimeout caps with.timeout: a playbook step that holds a run for
	// longer than this is waiting on something, which is what wait and
	// approval steps are for.
	MaxTimeout = 5 * time.Minute
	// DefaultMaxResponse is the largest response body read when
	// Options.MaxResponse is zero.
	DefaultMaxResponse = 1 << 20
	// MaxBodyOutput is how much of the response body outputs.body keeps:
	// outputs are stored in the case log with every step.
	MaxBodyOutput = 64 << 10
	// errorBodyLen is how much of the response body an error quotes.
	errorBodyLen = 200
	// maxRedirects is the length of a same-host redirect chain followed,
	// as in net/http's default policy.
	maxRedirects = 10
)

// Options configure the action. The zero value is ready to use.
type Options struct {
	// Client sends the requests; nil means a client over
	// http.DefaultTransport. The action works on a copy whose
	// CheckRedirect is replaced by its own policy, so a caller's client
	// cannot reopen cross-host redirects. A Client.Timeout still applies
	// on top of each call's timeout.
	Client *http.Client
	// MaxResponse is the largest response body, in bytes, that is read; a
	// larger body is an error instead of a truncated document, whose JSON
	// would be silently wrong. Zero means DefaultMaxResponse.
	MaxResponse int64
	// UserAgent is sent unless the step sets its own; empty means
	// "warroom".
	UserAgent string
}

// Action is the http.request action. It is safe for concurrent use.
type Action struct {
	client      *http.Client
	maxResponse int64
	userAgent   string
}

// New returns the http.request action configured by opts.
func New(opts Options) *Action {
	c := &http.Client{}
	if opts.Client != nil {
		*c = *opts.Client
	}
	c.CheckRedirect = checkRedirect
	a := &Action{client: c, maxResponse: opts.MaxResponse, userAgent: opts.UserAgent}
	if a.maxResponse <= 0 {
		a.maxResponse = DefaultMaxResponse
	}
	if a.userAgent == "" {
		a.userAgent = "warroom"
	}
	return a
}

// Spec declares http.request's inputs and outputs. It must stay equal to
// the declaration in playbooks.BuiltinSpecs, which validates playbooks; a
// test holds the two together.
func (a *Action) Spec() connectors.Spec {
	return connectors.Spec{
		Name: "http.request",
		Doc: "Call an HTTP API. Redirects to other hosts are not followed; the " +
			"response's JSON body becomes outputs.json. Only GET and HEAD are " +
			"idempotent (see IsIdempotent).",
		Inputs: []connectors.Field{
			{Name: "method", Type: connectors.String, Default: "GET", Doc: "HTTP method."},
			{Name: "url", Type: connectors.String, Required: true, Doc: "Absolute http or https URL."},
			{Name: "headers", Type: connectors.Map, Doc: "Request headers."},
			{Name: "json", Type: connectors.Any, Doc: "Request body, sent as JSON."},
			{Name: "body", Type: connectors.String, Doc: "Raw request body (instead of json)."},
			{Name: "expect_status", Type: connectors.Int, Default: 0, Doc: "Expected status; 0 means any 2xx."},
			{Name: "timeout", Type: connectors.Duration, Doc: "Timeout of the request."},
		},
		Outputs: []connectors.Field{
			{Name: "status", Type: connectors.Int, Doc: "HTTP status code."},
			{Name: "headers", Type: connectors.Map, Doc: "Response headers."},
			{Name: "json", Type: connectors.Any, Doc: "Response body decoded as JSON, if it was JSON."},
			{Name: "body", Type: connectors.String, Doc: "Response body, truncated."},
		},
	}
}

// Run sends the request and reads the response.
//
// The outputs are status, headers (first value of each, lower-case names;
// Set-Cookie is left out because cookies are credentials), body (at most
// MaxBodyOutput bytes) and json (the decoded body, present only when the
// response says it is JSON and it parses). A response that fails
// expect_status gives both these outputs and an *Error, so that a step
// with continue_on_error can still look at the status. Failures of the
// call itself (timeouts, refused redirects, oversized bodies) are *Error
// too; invalid inputs are plain errors.
func (a *Action) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	in, err := parseInputs(call.With)
	if err != nil {
		return nil, err
	}
	fail := func(status int, retryable bool, cause error) *Error {
		return &Error{Method: in.method, URL: redactURL(in.url), Status: status, Retryable: retryable, Err: cause}
	}

	callCtx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	var body io.Reader
	if in.body != nil {
		body = bytes.NewReader(in.body)
	}
	req, err := http.NewRequestWithContext(callCtx, in.method, in.url.String(), body)
	if err != nil {
		return nil, fail(0, false, unwrapURLError(err))
	}
	req.Header.Set("User-Agent", a.userAgent)
	if in.json {
		req.Header.Set("Content-Type", "application/json")
	}
	if call.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", call.IdempotencyKey)
	}
	// The step's own headers come last: a playbook that names its
	// Idempotency-Key or Content-Type means it.
	for k, vs := range in.header {
		req.Header[k] = vs
	}
	if h := in.header.Get("Host"); h != "" {
		req.Host = h // net/http ignores a Host header; virtual hosts need this
	}

	resp, err := a.client.Do(req)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode // the redirect that was refused
		}
		return nil, a.transportError(ctx, callCtx, in, fail(status, false, nil), err)
	}
	defer resp.Body.Close()

	if resp.ContentLength > a.maxResponse {
		return nil, fail(resp.StatusCode, false, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, resp.ContentLength, a.maxResponse))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, a.maxResponse+1))
	if err != nil {
		return nil, a.transportError(ctx, callCtx, in, fail(resp.StatusCode, false, nil), err)
	}
	if int64(len(raw)) > a.maxResponse {
		return nil, fail(resp.StatusCode, false, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, a.maxResponse))
	}

	out := map[string]any{
		"status":  resp.StatusCode,
		"headers": responseHeaders(resp.Header),
		"body":    truncate(raw, MaxBodyOutput),
	}
	if v, ok := decodeJSON(resp.Header.Get("Content-Type"), raw); ok {
		out["json"] = v
	}

	if !statusOK(resp.StatusCode, in.expect) {
		e := fail(resp.StatusCode, retryableStatus(resp.StatusCode), nil)
		e.Expected = in.expect
		// One line, for chat and logs: HTML error pages are mostly
		// whitespace.
		e.Body = strings.Join(strings.Fields(errorBody(raw, in.secrets())), " ")
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return out, e
	}
	return out, nil
}

// transportError completes e for a failure to send the request or read the
// response: it tells a timeout of this call from the caller giving up, and
// keeps only the cause of a *url.Error, whose text repeats the whole URL.
func (a *Action) transportError(parent, callCtx context.Context, in *inputs, e *Error, err error) *Error {
	switch {
	case parent.Err() != nil:
		// The engine or the server is stopping: not this call's fault,
		// and not for this action to call transient.
		e.Err = parent.Err()
	case errors.Is(callCtx.Err(), context.DeadlineExceeded):
		e.Err = fmt.Errorf("timed out after %s: %w", in.timeout, context.DeadlineExceeded)
		e.Retryable = true
	default:
		e.Err = unwrapURLError(err)
		e.Retryable = transient(e.Err)
	}
	return e
}

// errorBody is the start of a response body for an error message, with
// secrets masked. It masks before it cuts, so that a secret straddling the
// cut cannot show its first half.
func errorBody(raw []byte, secrets []string) string {
	longest := 0
	for _, s := range secrets {
		longest = max(longest, len(s))
	}
	masked := mask(truncate(raw, errorBodyLen+longest), secrets)
	return truncate([]byte(masked), errorBodyLen)
}

// statusOK reports whether status meets expect_status.
func statusOK(status, expect int) bool {
	if expect == 0 {
		return status >= 200 && status <= 299
	}
	return status == expect
}

// retryableStatus reports whether a status says "try again later": the
// server failed or asked us to slow down. Other 4xx responses will fail
// the same way every time.
func retryableStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

// responseHeaders flattens response headers to their first values under
// lower-case names, the form playbook expressions can index.
func responseHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		if len(vs) == 0 || http.CanonicalHeaderKey(k) == "Set-Cookie" {
			continue
		}
		out[strings.ToLower(k)] = vs[0]
	}
	return out
}

// decodeJSON decodes body when contentType says JSON (application/json or
// a +json suffix). A body that does not parse is not an error: the raw
// text is still in outputs.body.
func decodeJSON(contentType string, body []byte) (any, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, false
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, false
	}
	return v, true
}

// checkRedirect is the client's redirect policy: follow redirects on the
// same host only, and never from https to http. A redirect elsewhere would
// send the step's headers (and their credentials) to a host the playbook
// did not name, and a downgrade would send them in clear text.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: stopped after %d redirects", ErrRedirect, maxRedirects)
	}
	prev := via[len(via)-1].URL
	if prev.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: from https to %s", ErrRedirect, req.URL.Scheme)
	}
	if !sameHost(via[0].URL, req.URL) {
		return fmt.Errorf("%w: to another host (%s)", ErrRedirect, req.URL.Host)
	}
	return nil
}

// sameHost reports whether b is on a's host: the same name and port. A
// plain http-to-https upgrade on the default ports counts as the same host.
func sameHost(a, b *url.URL) bool {
	if !strings.EqualFold(a.Hostname(), b.Hostname()) {
		return false
	}
	pa, pb := a.Port(), b.Port()
	if pa == "" && pb == "" {
		return true
	}
	return effectivePort(a) == effectivePort(b)
}

// effectivePort is u's port, or its scheme's default.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
