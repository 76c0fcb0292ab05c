package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// userInput is the input every action takes.
var userInput = connectors.Field{Name: "user", Type: connectors.String, Required: true,
	Doc: "Login (usually the e-mail address) or Okta user id."}

// userOutputs are the outputs every action gives.
var userOutputs = []connectors.Field{
	{Name: "user_id", Type: connectors.String, Doc: "Okta user id."},
	{Name: "login", Type: connectors.String, Doc: "The user's login."},
	{Name: "previous_status", Type: connectors.String, Doc: "Status before the action: ACTIVE, SUSPENDED…"},
	{Name: "status", Type: connectors.String, Doc: "Status after the action."},
}

// lifecycle is okta.suspend_user or okta.unsuspend_user: a lifecycle
// operation that moves the user to target.
type lifecycle struct {
	c      *Connector
	op     string // "suspend" or "unsuspend", as in Okta's URL
	target string // the status the operation leads to
}

// Spec declares the action's inputs and outputs.
func (a *lifecycle) Spec() connectors.Spec {
	doc := "Suspend an Okta user: they cannot sign in until unsuspended. Only ACTIVE users can be suspended; a SUSPENDED one is left as is."
	if a.op == "unsuspend" {
		doc = "Unsuspend an Okta user, making them ACTIVE again; an ACTIVE one is left as is."
	}
	return connectors.Spec{
		Name:    "okta." + a.op + "_user",
		Doc:     doc,
		Inputs:  []connectors.Field{userInput},
		Outputs: append(userOutputs[:len(userOutputs):len(userOutputs)], connectors.Field{Name: "changed", Type: connectors.Bool, Doc: "False when the user already had the status."}),
		// Suspend cuts a person off; unsuspend only gives back.
		Destructive: a.op == "suspend",
		Idempotent:  true,
	}
}

// Run looks the user up and, unless they already have the target status,
// calls the lifecycle operation.
func (a *lifecycle) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	login, err := parseUser(call.With)
	if err != nil {
		return nil, err
	}
	u, err := a.c.lookup(ctx, login)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"user_id": u.ID, "login": u.Profile.Login, "previous_status": u.Status, "status": u.Status, "changed": false}
	if u.Status == a.target {
		return out, nil
	}
	err = a.c.api.Do(ctx, restapi.Request{
		Method: http.MethodPost,
		Path:   "/api/v1/users/" + url.PathEscape(u.ID) + "/lifecycle/" + a.op,
		// Moving to a status the user has is no second effect.
		Idempotent: true,
	}, nil)
	if err != nil {
		// A repeat after a lost answer finds the work done, and Okta
		// refuses it with a 400; look before calling that a failure.
		if now, lerr := a.c.lookup(ctx, login); lerr == nil && now.Status == a.target {
			out["status"], out["changed"] = a.target, true
			return out, nil
		}
		return nil, fmt.Errorf("%s user %s: %w", a.op, login, err)
	}
	out["status"], out["changed"] = a.target, true
	return out, nil
}

// clearSessions is okta.clear_sessions.
type clearSessions struct {
	c *Connector
}

// Spec declares the action's inputs and outputs.
func (a *clearSessions) Spec() connectors.Spec {
	return connectors.Spec{
		Name: "okta.clear_sessions",
		Doc:  "End all of an Okta user's sessions, so that they must sign in again.",
		Inputs: []connectors.Field{
			userInput,
			{Name: "oauth_tokens", Type: connectors.Bool, Default: false, Doc: "Also revoke the OAuth and OpenID Connect tokens issued to the user."},
		},
		Outputs:    userOutputs,
		Idempotent: true,
	}
}

// Run looks the user up and ends their sessions.
func (a *clearSessions) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	login, err := parseUser(call.With)
	if err != nil {
		return nil, err
	}
	tokens := false
	switch v := call.With["oauth_tokens"].(type) {
	case nil:
	case bool:
		tokens = v
	default:
		return nil, fmt.Errorf("with.oauth_tokens: expected true or false, got %T", v)
	}
	u, err := a.c.lookup(ctx, login)
	if err != nil {
		return nil, err
	}
	req := restapi.Request{Method: http.MethodDelete, Path: "/api/v1/users/" + url.PathEscape(u.ID) + "/sessions"}
	if tokens {
		req.Query = url.Values{"oauthTokens": {"true"}}
	}
	// The answer is 204 with no body: nothing to decode.
	if err := a.c.api.Do(ctx, req, nil); err != nil {
		return nil, fmt.Errorf("clear sessions of %s: %w", login, err)
	}
	return map[string]any{"user_id": u.ID, "login": u.Profile.Login, "previous_status": u.Status, "status": u.Status}, nil
}

// parseUser reads with.user. A login goes into the URL path, so anything
// that could leave its path segment is refused.
func parseUser(with map[string]any) (string, error) {
	s, err := connectors.Text(with, "user")
	if err != nil {
		return "", err
	}
	switch {
	case s == "":
		return "", errors.New("with.user: required input missing")
	case s == "." || s == "..", len(s) > 200,
		strings.ContainsAny(s, `/\?#%`),
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "", fmt.Errorf("with.user: %q is not an Okta login or user id", s)
	}
	return s, nil
}
