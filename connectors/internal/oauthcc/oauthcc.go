// Package oauthcc gets OAuth2 client-credentials tokens (RFC 6749 §4.4)
// for the response connectors whose vendors hand them out: CrowdStrike
// Falcon, and Microsoft Defender through Entra ID.
//
// A token is cached until shortly before it expires, concurrent calls wait
// for one token request rather than each making their own, and a 401 from
// the vendor's API (a token revoked early, or a clock that drifted) gets one
// new token and one more try. It exists so that these rules, and keeping
// the client secret out of every error, hold for each such vendor in one
// place; what differs (the token URL, the form fields, which answers mean
// "wrong credentials") is in Config.
package oauthcc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// Config describes one token endpoint and the credentials to show it. The
// connector checks its settings before New; New checks nothing.
type Config struct {
	// TokenURL is the token endpoint, such as
	// "https://api.crowdstrike.com/oauth2/token".
	TokenURL string
	// ClientID and ClientSecret are sent as the client_id and
	// client_secret form fields.
	ClientID     string
	ClientSecret string
	// Scope is sent as the scope field; empty sends none.
	Scope string
	// Form holds further fields of the token request. Entra ID wants
	// grant_type=client_credentials; Falcon's endpoint takes none.
	Form url.Values
	// Credentials names the settings an error blames when the endpoint
	// refuses them; empty means "client_id or client_secret".
	Credentials string
	// Rejected lists the token endpoint's statuses that mean refused
	// credentials; nil means 401 and 403. RFC 6749 §5.2 also allows 400,
	// which Entra ID sends for an unknown tenant.
	Rejected []int
	// HTTP sends the token requests; nil means a client with a 30 s
	// timeout.
	HTTP *http.Client
	// Sleep waits between retries of a token request; nil means the wall
	// clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Source fetches and caches the tokens of one client. It is safe for
// concurrent use.
type Source struct {
	client      *restapi.Client
	form        url.Values
	secret      string
	credentials string
	rejected    []int
	now         func() time.Time

	// mu is held while a token is fetched, so that concurrent actions
	// wait for one request instead of each making their own.
	mu     sync.Mutex
	tok    string
	expiry time.Time // when to fetch a new one, before the real expiry
}

// New returns a source for c. It makes no request.
func New(c Config) *Source {
	form := url.Values{}
	for k, vs := range c.Form {
		form[k] = slices.Clone(vs)
	}
	form.Set("client_id", c.ClientID)
	form.Set("client_secret", c.ClientSecret)
	if c.Scope != "" {
		form.Set("scope", c.Scope)
	}
	credentials := c.Credentials
	if credentials == "" {
		credentials = "client_id or client_secret"
	}
	rejected := c.Rejected
	if rejected == nil {
		rejected = []int{http.StatusUnauthorized, http.StatusForbidden}
	}
	return &Source{
		client:      &restapi.Client{BaseURL: c.TokenURL, HTTP: c.HTTP, Sleep: c.Sleep},
		form:        form,
		secret:      c.ClientSecret,
		credentials: credentials,
		rejected:    rejected,
		now:         time.Now,
	}
}

// Token returns a valid token, fetching one if none is cached or the
// cached one is about to expire. Its errors start with "get token:" and
// never hold the client secret, even when the endpoint echoes it.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && s.now().Before(s.expiry) {
		return s.tok, nil
	}
	var resp struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err := s.client.Do(ctx, restapi.Request{
		Method:  http.MethodPost,
		Form:    s.form,
		Secrets: []string{s.secret},
		// Asking for a token twice is harmless.
		Idempotent: true,
	}, &resp)
	switch {
	case err != nil && slices.Contains(s.rejected, restapi.StatusOf(err)):
		return "", fmt.Errorf("get token: %s rejected: %w", s.credentials, err)
	case err != nil:
		return "", fmt.Errorf("get token: %w", err)
	case resp.AccessToken == "":
		return "", errors.New("get token: the answer holds no access_token")
	}
	life := time.Duration(resp.ExpiresIn) * time.Second
	// Renew a minute early (half the lifetime for short ones), so that a
	// token does not expire between this check and the request.
	s.tok, s.expiry = resp.AccessToken, s.now().Add(life-min(time.Minute, life/2))
	return s.tok, nil
}

// Invalidate forgets tok if it is still the cached token, so that the next
// Token fetches a new one; a token that a concurrent call already replaced
// is left alone.
func (s *Source) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == tok {
		s.tok = ""
	}
}

// Authorize is a restapi.Client.Auth hook: it sets "Authorization: Bearer"
// with the cached token, even one due for renewal, because Do has just made
// sure it is fresh and one that expires during a long Retry-After wait is
// caught by Do's repeat on 401. Only when there is none (a concurrent call
// dropped it) is one fetched.
func (s *Source) Authorize(ctx context.Context, h http.Header) error {
	s.mu.Lock()
	tok := s.tok
	s.mu.Unlock()
	if tok == "" {
		var err error
		if tok, err = s.Token(ctx); err != nil {
			return err
		}
	}
	h.Set("Authorization", "Bearer "+tok)
	return nil
}

// Do sends req through api, whose Auth hook must be s.Authorize, and
// decodes the answer into out. The token is fetched here first, not only
// in the hook, so that a refused secret ends the call with the token
// endpoint's own error; a 401 from the API gets one new token and one more
// try.
func (s *Source) Do(ctx context.Context, api *restapi.Client, req restapi.Request, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := s.Token(ctx)
		if err != nil {
			return err
		}
		err = api.Do(ctx, req, out)
		if attempt == 0 && restapi.StatusOf(err) == http.StatusUnauthorized {
			s.Invalidate(tok)
			continue
		}
		return err
	}
}
