// Package okta holds the Okta account actions: okta.suspend_user,
// okta.unsuspend_user and okta.clear_sessions.
//
// Each looks the user up by login first, so that its outputs carry the
// user's id and the status before the action, and so that asking for the
// state a user is already in (suspending a suspended user) succeeds
// without a call: a retried step must not fail because its first attempt
// worked.
//
// Okta signals rate limits with X-Rate-Limit-Reset (epoch seconds) rather
// than Retry-After; a small transport translates one into the other so
// that the shared client's wait-and-retry applies.
package okta

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// Config configures the connector.
type Config struct {
	// OrgURL is the Okta org, such as "https://example.okta.com". Required.
	OrgURL string
	// Token is an Okta API token, sent as "SSWS <token>". Required.
	Token string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	// The connector works on a copy whose transport also reads Okta's
	// rate-limit headers.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Connector calls one Okta org. It is safe for concurrent use.
type Connector struct {
	api *restapi.Client
}

// New checks c and returns a connector. It makes no request.
func New(c Config) (*Connector, error) {
	var missing []string
	if c.OrgURL == "" {
		missing = append(missing, "org_url")
	}
	if c.Token == "" {
		missing = append(missing, "token")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("okta: missing %s", strings.Join(missing, " and "))
	}
	if _, err := restapi.BaseURL(c.OrgURL, ""); err != nil {
		return nil, fmt.Errorf("okta: org_url %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if c.HTTP != nil {
		copied := *c.HTTP
		hc = &copied
	}
	hc.Transport = &rateLimitTransport{base: hc.Transport}
	return &Connector{api: &restapi.Client{
		BaseURL: c.OrgURL,
		HTTP:    hc,
		Sleep:   c.Sleep,
		Auth:    restapi.HeaderAuth("Authorization", "SSWS "+c.Token),
	}}, nil
}

// Actions returns okta.suspend_user, okta.unsuspend_user and
// okta.clear_sessions.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{
		&lifecycle{c: c, op: "suspend", target: "SUSPENDED"},
		&lifecycle{c: c, op: "unsuspend", target: "ACTIVE"},
		&clearSessions{c: c},
	}
}

// user is the part of an Okta user object the actions read.
type user struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login string `json:"login"`
	} `json:"profile"`
}

// lookup fetches the user whose login (or id, or login short name) is
// login.
func (c *Connector) lookup(ctx context.Context, login string) (*user, error) {
	var u user
	err := c.api.Do(ctx, restapi.Request{Path: "/api/v1/users/" + url.PathEscape(login)}, &u)
	switch {
	case restapi.IsNotFound(err):
		return nil, fmt.Errorf("no Okta user with login %s", login)
	case err != nil:
		return nil, fmt.Errorf("look up user %s: %w", login, err)
	case u.ID == "":
		return nil, fmt.Errorf("look up user %s: the answer holds no user id", login)
	}
	return &u, nil
}

// rateLimitTransport adds a Retry-After header to an Okta 429 that lacks
// one, computed from X-Rate-Limit-Reset. The wait is measured against the
// response's Date header when there is one, so that a skewed local clock
// does not turn it into no wait or an hour.
type rateLimitTransport struct {
	base http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip sends r and rewrites the headers of a 429 answer.
func (t *rateLimitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "" {
		return resp, err
	}
	reset, perr := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-Rate-Limit-Reset")), 10, 64)
	if perr != nil {
		return resp, nil
	}
	now := time.Now()
	if d, derr := http.ParseTime(resp.Header.Get("Date")); derr == nil {
		now = d
	}
	if wait := reset - now.Unix(); wait > 0 {
		resp.Header.Set("Retry-After", strconv.FormatInt(wait, 10))
	}
	return resp, nil
}
