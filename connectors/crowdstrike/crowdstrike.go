// Package crowdstrike holds the CrowdStrike Falcon response actions:
// crowdstrike.contain, which cuts a host off the network except for its
// link to the Falcon cloud, and crowdstrike.lift_containment, which undoes
// it.
//
// Falcon authenticates with OAuth2 client credentials. The token is cached
// until shortly before it expires, and a 401 from the API (a token revoked
// early, or a clock that drifted) fetches a new one and repeats the call
// once. The API client needs the Hosts scope with read (to find a device by
// its host name) and write (to contain it).
package crowdstrike

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// DefaultAPIURL is the API root of Falcon's US-1 cloud. Other clouds
// (api.us-2.crowdstrike.com, api.eu-1.crowdstrike.com) are set in
// Config.APIURL.
const DefaultAPIURL = "https://api.crowdstrike.com"

// Config configures the connector.
type Config struct {
	// ClientID and ClientSecret are the Falcon API client's credentials.
	// Both are required.
	ClientID     string
	ClientSecret string
	// APIURL is the API root; empty means DefaultAPIURL.
	APIURL string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Connector calls one Falcon tenant. It is safe for concurrent use.
type Connector struct {
	api    *restapi.Client
	tokens *tokenSource
}

// New checks c and returns a connector. It makes no request: credentials
// are first tried by the first action.
func New(c Config) (*Connector, error) {
	var missing []string
	if c.ClientID == "" {
		missing = append(missing, "client_id")
	}
	if c.ClientSecret == "" {
		missing = append(missing, "client_secret")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("crowdstrike: missing %s", strings.Join(missing, " and "))
	}
	base := c.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("crowdstrike: api_url must be an absolute http or https URL")
	}
	tokens := &tokenSource{
		client: &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep},
		form:   url.Values{"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}},
		now:    time.Now,
	}
	api := &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep}
	api.Auth = func(ctx context.Context, h http.Header) error {
		tok, err := tokens.cached(ctx)
		if err != nil {
			return err
		}
		h.Set("Authorization", "Bearer "+tok)
		return nil
	}
	return &Connector{api: api, tokens: tokens}, nil
}

// Actions returns crowdstrike.contain and crowdstrike.lift_containment.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{
		&deviceAction{c: c, action: "contain"},
		&deviceAction{c: c, action: "lift_containment"},
	}
}

// do sends req with a bearer token. The token is fetched here rather than
// only in the Auth hook because restapi treats a failing hook like a lost
// connection and would retry it; a rejected client secret must fail at
// once. A 401 gets one new token and one more try.
func (c *Connector) do(ctx context.Context, req restapi.Request, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.token(ctx)
		if err != nil {
			return err
		}
		err = c.api.Do(ctx, req, out)
		if attempt == 0 && restapi.StatusOf(err) == http.StatusUnauthorized {
			c.tokens.invalidate(tok)
			continue
		}
		return err
	}
}

// tokenSource fetches and caches an OAuth2 client-credentials token.
type tokenSource struct {
	client *restapi.Client
	form   url.Values
	now    func() time.Time

	// mu is held while a token is fetched, so that concurrent actions
	// wait for one request instead of each making their own.
	mu     sync.Mutex
	tok    string
	expiry time.Time // when to fetch a new one, before the real expiry
}

// token returns a valid token, fetching one if none is cached or the
// cached one is about to expire.
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok != "" && ts.now().Before(ts.expiry) {
		return ts.tok, nil
	}
	var resp struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err := ts.client.Do(ctx, restapi.Request{
		Method: http.MethodPost,
		Path:   "/oauth2/token",
		Form:   ts.form,
		// Asking for a token twice is harmless.
		Idempotent: true,
	}, &resp)
	switch {
	case restapi.IsAuth(err):
		return "", fmt.Errorf("get token: client_id or client_secret rejected: %w", err)
	case err != nil:
		return "", fmt.Errorf("get token: %w", err)
	case resp.AccessToken == "":
		return "", errors.New("get token: the answer holds no access_token")
	}
	life := time.Duration(resp.ExpiresIn) * time.Second
	// Renew a minute early (half the lifetime for short ones), so that a
	// token does not expire between this check and the request.
	ts.tok, ts.expiry = resp.AccessToken, ts.now().Add(life-min(time.Minute, life/2))
	return ts.tok, nil
}

// cached returns the cached token even if it is due for renewal: do has
// just made sure it is fresh, and one that expires during a long
// Retry-After wait is caught by do's repeat on 401. Only when there is
// none (a concurrent call dropped it) is one fetched.
func (ts *tokenSource) cached(ctx context.Context) (string, error) {
	ts.mu.Lock()
	tok := ts.tok
	ts.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	return ts.token(ctx)
}

// invalidate forgets tok if it is still the cached token; a token that a
// concurrent call already replaced is left alone.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok == tok {
		ts.tok = ""
	}
}
