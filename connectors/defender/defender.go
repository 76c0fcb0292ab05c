// Package defender holds the Microsoft Defender for Endpoint actions
// defender.isolate, which cuts a machine off the network (fully, or all but
// Outlook, Teams and Skype with Selective isolation), and
// defender.unisolate, which releases it.
//
// Defender authenticates with Entra ID (Azure AD) client credentials. The
// token is cached until shortly before it expires, and a 401 from the API
// fetches a new one and repeats the call once. The app registration needs
// the Machine.Read.All and Machine.Isolate application permissions.
package defender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// Default endpoints of Microsoft's commercial cloud.
const (
	DefaultAPIURL   = "https://api.securitycenter.microsoft.com"
	DefaultLoginURL = "https://login.microsoftonline.com"
	// scope asks Entra ID for a token for the Defender API with the
	// application permissions granted to the app.
	scope = "https://api.securitycenter.microsoft.com/.default"
)

// Config configures the connector.
type Config struct {
	// TenantID is the Entra ID tenant (directory) id. Required.
	TenantID string
	// ClientID and ClientSecret are the app registration's credentials.
	// Both are required.
	ClientID     string
	ClientSecret string
	// APIURL is the Defender API root; empty means DefaultAPIURL.
	APIURL string
	// LoginURL is the Entra ID root; empty means DefaultLoginURL.
	LoginURL string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Connector calls Defender for one tenant. It is safe for concurrent use.
type Connector struct {
	api    *restapi.Client
	tokens *tokenSource
}

// tenantRE keeps the tenant a single path segment of the login URL: a
// GUID or a domain name.
var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$`)

// New checks c and returns a connector. It makes no request: credentials
// are first tried by the first action.
func New(c Config) (*Connector, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{{"tenant_id", c.TenantID}, {"client_id", c.ClientID}, {"client_secret", c.ClientSecret}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("defender: missing %s", strings.Join(missing, ", "))
	}
	if !tenantRE.MatchString(c.TenantID) {
		return nil, errors.New("defender: tenant_id must be a GUID or a domain name")
	}
	base, login := c.APIURL, c.LoginURL
	if base == "" {
		base = DefaultAPIURL
	}
	if login == "" {
		login = DefaultLoginURL
	}
	for _, u := range []struct{ name, v string }{{"api_url", base}, {"login_url", login}} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("defender: %s must be an absolute http or https URL", u.name)
		}
	}
	tokens := &tokenSource{
		client: &restapi.Client{BaseURL: login, HTTP: c.HTTP, Sleep: c.Sleep},
		path:   "/" + c.TenantID + "/oauth2/v2.0/token",
		form: url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID},
			"client_secret": {c.ClientSecret}, "scope": {scope}},
		now: time.Now,
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

// Actions returns defender.isolate and defender.unisolate.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{&machineAction{c: c, op: "isolate"}, &machineAction{c: c, op: "unisolate"}}
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
	path   string
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
		Path:   ts.path,
		Form:   ts.form,
		// Asking for a token twice is harmless.
		Idempotent: true,
	}, &resp)
	switch {
	// Entra ID answers a wrong secret or client id with 400 or 401
	// (invalid_client), and an unknown tenant with 400.
	case restapi.IsAuth(err), restapi.StatusOf(err) == http.StatusBadRequest:
		return "", fmt.Errorf("get token: tenant_id, client_id or client_secret rejected: %w", err)
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
