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
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/oauthcc"
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
	tokens *oauthcc.Source
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
	base, err := restapi.BaseURL(c.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("defender: api_url %w", err)
	}
	login, err := restapi.BaseURL(c.LoginURL, DefaultLoginURL)
	if err != nil {
		return nil, fmt.Errorf("defender: login_url %w", err)
	}
	tokens := oauthcc.New(oauthcc.Config{
		TokenURL:     strings.TrimRight(login, "/") + "/" + c.TenantID + "/oauth2/v2.0/token",
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Scope:        scope,
		Form:         url.Values{"grant_type": {"client_credentials"}},
		Credentials:  "tenant_id, client_id or client_secret",
		// Entra ID answers a wrong secret or client id with 400 or 401
		// (invalid_client), and an unknown tenant with 400.
		Rejected: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden},
		HTTP:     c.HTTP,
		Sleep:    c.Sleep,
	})
	api := &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep, Auth: tokens.Authorize}
	return &Connector{api: api, tokens: tokens}, nil
}

// Actions returns defender.isolate and defender.unisolate.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{&machineAction{c: c, op: "isolate"}, &machineAction{c: c, op: "unisolate"}}
}

// do sends req with a bearer token; a 401 gets one new token and one
// more try.
func (c *Connector) do(ctx context.Context, req restapi.Request, out any) error {
	return c.tokens.Do(ctx, c.api, req, out)
}
