// Package restapi is the small HTTP client every vendor connector shares:
// JSON in and out, authentication by header, retries that honour
// Retry-After on 429 and back off on 5xx, and errors that say what went
// wrong without repeating a secret.
//
// It exists so that each connector package is about its vendor's API shape
// and nothing else, and so that "retries honour Retry-After" is true for all
// of them in one place.
package restapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

// maxBody bounds what is read of a response; no vendor answer we use comes
// near it, and a runaway body must not exhaust memory.
const maxBody = 16 << 20

// Client calls one vendor API.
type Client struct {
	// BaseURL is the API root, such as "https://www.virustotal.com/api/v3".
	BaseURL string
	// HTTP is the client to use; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Auth, if set, adds credentials to every request (a header). It may
	// fetch a token first, so it takes the request's context. An error
	// from it ends the call without a retry. The headers it sets are kept
	// off redirects to other hosts and cut out of vendor error texts.
	Auth func(ctx context.Context, h http.Header) error
	// Retries is how many times a request is repeated after a 429 or a
	// retryable failure; zero means 3, negative means never.
	Retries int
	// MaxWait is the longest Retry-After honoured before giving up with a
	// RateLimitError; zero means one minute.
	MaxWait time.Duration
	// Sleep waits between attempts; nil means a timer that stops when ctx
	// ends. Tests replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Request is one API call.
type Request struct {
	Method string     // GET when empty
	Path   string     // appended to BaseURL: "/ip_addresses/203.0.113.7"
	Query  url.Values // added to the URL
	// Exactly one of JSON, Form or Body may be set.
	JSON any
	Form url.Values
	Body []byte
	// Header holds extra headers, such as an Idempotency-Key.
	Header http.Header
	// Idempotent marks a non-GET request as safe to repeat after a 5xx or a
	// lost connection (the API dedupes it, or it sets rather than adds).
	// GET, HEAD, PUT and DELETE are always treated as idempotent. A 429 is
	// always retried because the server did not act on the request.
	Idempotent bool
	// Secrets are credentials the request carries outside the headers the
	// Auth hook sets, such as a client secret in a token request's form.
	// They are cut out of vendor error texts like the Auth hook's headers.
	Secrets []string
}

// StatusError is an HTTP answer other than 2xx.
type StatusError struct {
	Status  int
	Message string // the vendor's error text, shortened, if it sent one
}

func (e *StatusError) Error() string {
	text := http.StatusText(e.Status)
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		text = "authentication failed (check api_key)"
	}
	if e.Message != "" {
		return fmt.Sprintf("HTTP %d: %s: %s", e.Status, text, e.Message)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, text)
}

// RateLimitError is a 429 that could not be waited out.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter.Round(time.Second))
	}
	return "rate limited"
}

// ErrBaseURL is BaseURL's error: an API root that is not an absolute http
// or https URL. Connectors wrap it with the setting's name, as in
// "virustotal: api_url must be an absolute http or https URL".
var ErrBaseURL = errors.New("must be an absolute http or https URL")

// BaseURL returns raw, or def when raw is empty, if it is an absolute http
// or https URL, and ErrBaseURL if not. A relative URL would be joined to
// request paths as a path on no host, and another scheme is not spoken;
// both are caught when the config is loaded rather than at the first call.
// The error does not repeat the URL, which may carry credentials.
func BaseURL(raw, def string) (string, error) {
	base := cmp.Or(raw, def)
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", ErrBaseURL
	}
	return base, nil
}

// HeaderAuth returns a Client.Auth hook that sets header name to value on
// every request: the API key or fixed Authorization most vendors take.
// The value is then kept off redirects to other hosts and out of error
// texts like any header the hook sets.
func HeaderAuth(name, value string) func(context.Context, http.Header) error {
	return func(_ context.Context, h http.Header) error {
		h.Set(name, value)
		return nil
	}
}

// IsNotFound reports whether err is a 404: for lookups it means "the source
// knows nothing of this", not a failure.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsAuth reports whether err is a 401 or 403.
func IsAuth(err error) bool {
	s := StatusOf(err)
	return s == http.StatusUnauthorized || s == http.StatusForbidden
}

// StatusOf returns the HTTP status of a StatusError in err's chain, or 0.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// Do sends req and decodes a JSON answer into out (if out is not nil). On a
// 429 it waits as long as Retry-After says (or a JSON "retry_after" field)
// and tries again; on a 5xx or a broken connection it backs off and tries
// again if the request is idempotent.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	raw, err := c.Raw(ctx, req)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("malformed response: %w", err)
	}
	return nil
}

// Raw is Do without decoding: it returns the body of a 2xx answer.
func (c *Client) Raw(ctx context.Context, req Request) ([]byte, error) {
	retries := c.Retries
	if retries == 0 {
		retries = 3
	}
	maxWait := c.MaxWait
	if maxWait == 0 {
		maxWait = time.Minute
	}
	idempotent := req.Idempotent
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		idempotent = true
	}
	for attempt := 0; ; attempt++ {
		// A request that cannot be built (a value that does not encode, an
		// Auth hook that failed) will not build on a second try either, so
		// it is not retried like a lost connection.
		hr, secrets, err := c.build(ctx, req)
		if err != nil {
			return nil, err
		}
		body, status, retryAfter, err := c.once(hr, secrets, req.Secrets)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		var wait time.Duration
		switch {
		case status == http.StatusTooManyRequests:
			wait = retryAfter
			if wait <= 0 {
				wait = backoff(attempt)
			}
			if wait > maxWait || attempt >= retries || !fits(ctx, wait) {
				return nil, &RateLimitError{RetryAfter: wait}
			}
		case (status >= 500 || (status == 0 && !permanent(err))) && idempotent && attempt < retries:
			wait = backoff(attempt)
			if !fits(ctx, wait) {
				return nil, err
			}
		default:
			return nil, err
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once makes one attempt. status is 0 when no answer arrived. secrets are
// the headers the Auth hook set: they are kept off redirects to other hosts
// and cut out of the vendor's error text, as are the extra credentials of
// Request.Secrets.
func (c *Client) once(hr *http.Request, secrets http.Header, extra []string) (body []byte, status int, retryAfter time.Duration, err error) {
	resp, err := c.httpClient(secrets).Do(hr)
	if err != nil {
		return nil, 0, 0, scrub(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("reading response: %w", scrub(err))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, resp.StatusCode, 0, nil
	}
	return nil, resp.StatusCode, retryAfterOf(resp.Header, body),
		&StatusError{Status: resp.StatusCode, Message: errorText(body, secrets, extra...)}
}

// httpClient returns the client to send with. When credentials were set,
// it is a copy whose redirect policy drops them on the way to another host
// or from https to http: net/http itself only drops Authorization and
// Cookie, so a key in a vendor header (x-apikey, Key) would otherwise
// follow a redirect anywhere.
func (c *Client) httpClient(secrets http.Header) *http.Client {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if len(secrets) == 0 {
		return hc
	}
	cp := *hc
	next := hc.CheckRedirect
	cp.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		first := via[0].URL
		if r.URL.Host != first.Host || (first.Scheme == "https" && r.URL.Scheme != "https") {
			for k := range secrets {
				r.Header.Del(k)
			}
		}
		if next != nil {
			return next(r, via)
		}
		// The default policy of net/http.
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

// build makes the HTTP request for one attempt (a body reader can be read
// only once) and returns with it the headers the Auth hook set.
func (c *Client) build(ctx context.Context, req Request) (*http.Request, http.Header, error) {
	u := strings.TrimRight(c.BaseURL, "/") + req.Path
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	var body io.Reader
	ctype := ""
	switch {
	case req.JSON != nil:
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding request: %w", err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	case req.Form != nil:
		body, ctype = strings.NewReader(req.Form.Encode()), "application/x-www-form-urlencoded"
	case req.Body != nil:
		body = bytes.NewReader(req.Body)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, fmt.Errorf("building request: %w", scrub(err))
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if ctype != "" && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", ctype)
	}
	// A caller may ask for a vendor media type (RDAP's
	// application/rdap+json); JSON is the default.
	if hr.Header.Get("Accept") == "" {
		hr.Header.Set("Accept", "application/json")
	}
	hr.Header.Set("User-Agent", "warroom")
	if c.Auth == nil {
		return hr, nil, nil
	}
	before := hr.Header.Clone()
	if err := c.Auth(ctx, hr.Header); err != nil {
		return nil, nil, fmt.Errorf("authenticating: %w", err)
	}
	secrets := http.Header{}
	for k, vs := range hr.Header {
		if !slices.Equal(vs, before[k]) {
			secrets[k] = vs
		}
	}
	return hr, secrets, nil
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return connectors.Sleep(ctx, d)
}

// permanent reports whether a failure to get an answer will recur on the
// next try: a certificate the client does not trust stays untrusted.
func permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	return errors.As(err, &cv)
}

// fits reports whether waiting d still leaves time before ctx's deadline.
func fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

// backoff is 0.5 s, 1 s, 2 s … with ±20% jitter, so that many clients
// failing together do not come back together.
func backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt, 6)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryAfterOf reads Retry-After (seconds or an HTTP date), then the
// "retry_after" seconds some APIs (Discord, Okta-style bodies) put in JSON.
func retryAfterOf(h http.Header, body []byte) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return seconds(s)
		}
		if t, err := http.ParseTime(v); err == nil {
			return min(max(time.Until(t), 0), maxRetryAfter)
		}
	}
	var b struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &b) == nil && b.RetryAfter > 0 {
		return seconds(b.RetryAfter)
	}
	return 0
}

// maxRetryAfter caps a server's Retry-After. Any wait this long ends in a
// RateLimitError anyway; the cap keeps "Inf" or 1e300 from overflowing a
// Duration into a negative wait that would be retried at once.
const maxRetryAfter = 24 * time.Hour

// seconds converts a non-negative number of seconds to a Duration, capped
// at maxRetryAfter.
func seconds(s float64) time.Duration {
	if s >= maxRetryAfter.Seconds() {
		return maxRetryAfter
	}
	return time.Duration(s * float64(time.Second))
}

// vendorMessage pulls a short error text out of a vendor's error body. APIs
// disagree on the shape, so the common ones are tried in turn.
func vendorMessage(body []byte) string {
	var b struct {
		Message          string `json:"message"`
		ErrorDescription string `json:"error_description"`
		ErrorSummary     string `json:"errorSummary"`
		Error            any    `json:"error"`
		Errors           []any  `json:"errors"`
		// RFC 9083 (RDAP) error responses.
		Title       string   `json:"title"`
		Description []string `json:"description"`
	}
	msg := ""
	if json.Unmarshal(body, &b) == nil {
		switch {
		case b.ErrorDescription != "":
			msg = b.ErrorDescription
		case b.ErrorSummary != "":
			msg = b.ErrorSummary
		case b.Message != "":
			msg = b.Message
		case b.Title != "" || len(b.Description) > 0:
			msg = strings.TrimPrefix(b.Title+": "+strings.Join(b.Description, " "), ": ")
			msg = strings.TrimSuffix(msg, ": ")
		case b.Error != nil:
			msg = textOf(b.Error)
		case len(b.Errors) > 0:
			msg = textOf(b.Errors[0])
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

func textOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		for _, k := range []string{"message", "detail", "code"} {
			if s, ok := v[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// scrub removes the query string from the URL in a transport error: some
// APIs take keys as query parameters, and errors end up in logs and chat.
func scrub(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	clean := "(unparsable URL)"
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.ForceQuery, u.User, u.Fragment, u.RawFragment = "", false, nil, "", ""
		clean = u.String()
	}
	// An unparsable URL (a bad escape in a BaseURL) is dropped whole: the
	// query string in it cannot be found reliably.
	return &url.Error{Op: ue.Op, URL: clean, Err: ue.Err}
}

// errorText is the vendor's error text without credentials: the headers
// the Auth hook set and the extra values of Request.Secrets. The body is
// redacted before vendorMessage shortens it, so that a key cut in half by
// the shortening cannot slip through, and the text again after decoding in
// case JSON escaping hid a key from the first pass.
func errorText(body []byte, secrets http.Header, extra ...string) string {
	if len(secrets) == 0 && len(extra) == 0 {
		return vendorMessage(body)
	}
	return redact(vendorMessage([]byte(redact(string(body), secrets, extra))), secrets, extra)
}

// redact replaces the credentials wherever a vendor echoes them in an
// error text ("invalid key abc123…"), so that they do not reach logs and
// chat through a StatusError. Each value is cut out whole and word by word
// ("Bearer TOKEN" → the token), ignoring words too short to be a secret.
func redact(msg string, secrets http.Header, extra []string) string {
	for _, vs := range append(slices.Collect(maps.Values(secrets)), extra) {
		for _, v := range vs {
			for _, w := range append(strings.Fields(v), v) {
				if len(w) >= 8 {
					msg = strings.ReplaceAll(msg, w, "[redacted]")
				}
			}
		}
	}
	return msg
}
