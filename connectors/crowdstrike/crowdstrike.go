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
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/oauthcc"
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
	tokens *oauthcc.Source
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
	base, err := restapi.BaseURL(c.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("crowdstrike: api_url %w", err)
	}
	tokens := oauthcc.New(oauthcc.Config{
		TokenURL:     strings.TrimRight(base, "/") + "/oauth2/token",
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		HTTP:         c.HTTP,
		Sleep:        c.Sleep,
	})
	api := &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep, Auth: tokens.Authorize}
	return &Connector{api: api, tokens: tokens}, nil
}

// Actions returns crowdstrike.contain and crowdstrike.lift_containment.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{
		&deviceAction{c: c, action: "contain"},
		&deviceAction{c: c, action: "lift_containment"},
	}
}

// do sends req with a bearer token; a 401 gets one new token and one
// more try.
func (c *Connector) do(ctx context.Context, req restapi.Request, out any) error {
	return c.tokens.Do(ctx, c.api, req, out)
}
