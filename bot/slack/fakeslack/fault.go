package fakeslack

import (
	"fmt"
	"net/http"
)

// FaultKind says how an injected Fault misbehaves; each kind maps to a
// failure mode the Slack adapter has to survive in production.
type FaultKind int

const (
	// FaultRateLimited answers HTTP 429 with a Retry-After header, which
	// slack-go turns into *slack.RateLimitedError.
	FaultRateLimited FaultKind = iota + 1
	// FaultHTTPStatus answers with an arbitrary HTTP status (typically 5xx)
	// and an HTML body, as Slack's edge does; slack-go returns
	// slack.StatusCodeError.
	FaultHTTPStatus
	// FaultSlackError answers HTTP 200 with {"ok":false,"error":...}, the way
	// Slack reports API-level errors.
	FaultSlackError
	// FaultMalformedBody answers HTTP 200 with a body that is not JSON, to
	// exercise decode-error handling.
	FaultMalformedBody
	// FaultHang never answers; the request blocks until the client gives up
	// (its context ends) or the server is closed, to exercise timeouts.
	FaultHang
)

// String returns a short name for the kind, used in failure messages.
func (k FaultKind) String() string {
	switch k {
	case FaultRateLimited:
		return "rate_limited"
	case FaultHTTPStatus:
		return "http_status"
	case FaultSlackError:
		return "slack_error"
	case FaultMalformedBody:
		return "malformed_body"
	case FaultHang:
		return "hang"
	default:
		return fmt.Sprintf("FaultKind(%d)", int(k))
	}
}

// Fault describes one injected failure. Build it with RateLimited,
// HTTPStatus, SlackError, MalformedBody or Hang rather than by hand, so the
// fields that matter for each kind are always set.
type Fault struct {
	// Kind selects the failure mode.
	Kind FaultKind
	// RetryAfter is the Retry-After header value in seconds (FaultRateLimited).
	RetryAfter int
	// Status is the HTTP status code to answer with (FaultHTTPStatus).
	Status int
	// Error is the Slack error code to answer with (FaultSlackError).
	Error string
}

// RateLimited returns a fault that answers HTTP 429 with Retry-After set to
// retryAfterSeconds, exactly as Slack's rate limiter does.
func RateLimited(retryAfterSeconds int) Fault {
	return Fault{Kind: FaultRateLimited, RetryAfter: retryAfterSeconds}
}

// HTTPStatus returns a fault that answers with the given HTTP status code and
// a non-JSON body, mimicking an outage at Slack's edge.
func HTTPStatus(code int) Fault {
	return Fault{Kind: FaultHTTPStatus, Status: code}
}

// SlackError returns a fault that answers {"ok":false,"error":code} with
// HTTP 200, for error codes the fake would not otherwise produce (for
// example "token_revoked" or "fatal_error").
func SlackError(code string) Fault {
	return Fault{Kind: FaultSlackError, Error: code}
}

// MalformedBody returns a fault that answers HTTP 200 with a body that is
// not JSON.
func MalformedBody() Fault {
	return Fault{Kind: FaultMalformedBody}
}

// Hang returns a fault that never answers, so that the caller's timeout is
// what ends the request.
func Hang() Fault {
	return Fault{Kind: FaultHang}
}

// String describes the fault for failure messages.
func (f Fault) String() string {
	switch f.Kind {
	case FaultRateLimited:
		return fmt.Sprintf("rate_limited(retry_after=%ds)", f.RetryAfter)
	case FaultHTTPStatus:
		return fmt.Sprintf("http_status(%d)", f.Status)
	case FaultSlackError:
		return fmt.Sprintf("slack_error(%s)", f.Error)
	default:
		return f.Kind.String()
	}
}

// write answers the request according to the fault. Hang is handled by the
// caller because it needs the request context and the server's shutdown
// signal.
func (f Fault) write(w http.ResponseWriter) {
	switch f.Kind {
	case FaultRateLimited:
		w.Header().Set("Retry-After", fmt.Sprint(f.RetryAfter))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
	case FaultHTTPStatus:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.Status, http.StatusText(f.Status))
	case FaultSlackError:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": f.Error})
	case FaultMalformedBody:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html>upstream connect error or disconnect/reset before headers"))
	}
}
