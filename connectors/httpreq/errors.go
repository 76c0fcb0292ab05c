package httpreq

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Causes of an *Error, for errors.Is.
var (
	// ErrRedirect means a redirect was refused: to another host, from
	// https to http, or one too many.
	ErrRedirect = errors.New("redirect refused")
	// ErrTooLarge means the response body was larger than
	// Options.MaxResponse.
	ErrTooLarge = errors.New("response body too large")
)

// Error is a failed call: the request could not be made or completed, or
// the response did not have the expected status. Its text is safe to show
// in chat and to keep in the case log: the URL has no query string or
// userinfo, no request header is quoted, and request header values echoed
// in the response body are masked.
type Error struct {
	// Method and URL identify the request; URL is already redacted.
	Method string
	URL    string
	// Status is the response's status, or 0 when there was none.
	Status int
	// Expected is with.expect_status (0: any 2xx) when Status failed it.
	Expected int
	// Body is the start of the response body when Status failed.
	Body string
	// Retryable says the failure is likely transient (a timeout, a
	// dropped connection, a 5xx or 429 response): the same call may work
	// later. Whether repeating a call is safe is a separate question,
	// answered by the method and the idempotency key.
	Retryable bool
	// RetryAfter is the delay the server asked for with Retry-After on a
	// 429 or 503 response, or 0.
	RetryAfter time.Duration
	// Err is the cause, or nil when the status alone is the failure.
	Err error
}

// Error describes the failure in one line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Method, e.URL)
	switch {
	case e.Err != nil && e.Status != 0:
		fmt.Fprintf(&b, "status %d: %v", e.Status, e.Err)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		want := "2xx"
		if e.Expected != 0 {
			want = strconv.Itoa(e.Expected)
		}
		fmt.Fprintf(&b, "status %d, want %s", e.Status, want)
		if body := strings.TrimSpace(e.Body); body != "" {
			fmt.Fprintf(&b, ": %s", body)
		}
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the failure is likely transient; the engine's
// retry policy asks this of any action's error.
func (e *Error) Temporary() bool { return e.Retryable }

// IsRetryable reports whether err, or an error it wraps, is an *Error
// marked retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// unwrapURLError drops net/http's *url.Error wrapper, whose message
// repeats the full URL with its query string.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// transient reports whether a transport failure may go away on its own: a
// network timeout, a refused or dropped connection, a DNS server that did
// not answer. A name that does not exist, a bad certificate or a refused
// redirect will fail the same way next time.
func transient(err error) bool {
	if errors.Is(err, ErrRedirect) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redactURL is u without userinfo, query string or fragment: credentials
// and API keys are often put there, and this text goes to chat.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}

// minSecretLen is the shortest request value mask hides. Shorter values
// ("1", "json") would blank out ordinary words of the body and are not
// credentials anyway.
const minSecretLen = 6

// mask replaces every occurrence of a secret in s: a server that echoes
// the request (httpbin, many error pages) must not put the step's
// Authorization header into an error message.
func mask(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecretLen {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}
