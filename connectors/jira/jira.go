// Package jira holds the Jira action jira.create_issue, which files a
// ticket for follow-up work (a forensic image, a password reset campaign)
// from a playbook.
//
// Jira has no idempotency key for issue creation. To keep a repeated call
// from filing a second ticket, an issue created with a Call.IdempotencyKey
// is labelled with a label derived from the key ("warroom-" and 16 hex
// digits of its SHA-256), and the action first searches for an issue with
// that label and returns it if there is one. It also searches again when
// the create request's outcome is unknown (a 5xx or a lost connection),
// before reporting a failure. The engine gives every attempt of a step the
// same key, so a retry and a restarted run both find the first issue; the
// limit is Jira's search index, which may lag a second or so behind a
// create.
//
// The issue's browse URL is the action's link (connectors.Spec.Link): the
// step's case-log entry records it, so the incident's timeline leads to
// the ticket.
//
// Jira Cloud authenticates with an account e-mail and an API token (basic
// auth); Jira Server and Data Center with a personal access token (bearer).
package jira

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// Config configures the connector. Give Email and APIToken (Jira Cloud) or
// PAT (Jira Server and Data Center), not both.
type Config struct {
	// BaseURL is the Jira site, such as "https://example.atlassian.net".
	// Required.
	BaseURL string
	// Email and APIToken are a Jira Cloud account's address and API token.
	Email    string
	APIToken string
	// PAT is a Jira Server or Data Center personal access token.
	PAT string
	// Project is the project key used when a step names none, such as
	// "SEC".
	Project string
	// IssueType is the issue type used when a step names none; empty
	// means "Task".
	IssueType string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Connector calls one Jira site. It is safe for concurrent use.
type Connector struct {
	api       *restapi.Client
	base      string
	project   string
	issueType string
}

// New checks c and returns a connector. It makes no request.
func New(c Config) (*Connector, error) {
	if c.BaseURL == "" {
		return nil, errors.New("jira: missing base_url")
	}
	if _, err := restapi.BaseURL(c.BaseURL, ""); err != nil {
		return nil, fmt.Errorf("jira: base_url %w", err)
	}
	var auth string
	switch {
	case c.PAT != "" && (c.Email != "" || c.APIToken != ""):
		return nil, errors.New("jira: give email and api_token (Jira Cloud) or pat (Jira Server), not both")
	case c.PAT != "":
		auth = "Bearer " + c.PAT
	case c.Email != "" && c.APIToken != "":
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Email+":"+c.APIToken))
	default:
		return nil, errors.New("jira: missing credentials: give email and api_token (Jira Cloud) or pat (Jira Server)")
	}
	issueType := c.IssueType
	if issueType == "" {
		issueType = "Task"
	}
	base := strings.TrimRight(c.BaseURL, "/")
	return &Connector{
		base:      base,
		project:   c.Project,
		issueType: issueType,
		api: &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep,
			Auth: restapi.HeaderAuth("Authorization", auth)},
	}, nil
}

// Actions returns jira.create_issue.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{&createIssue{c: c}}
}

// createIssue is jira.create_issue.
type createIssue struct {
	c *Connector
}

// Spec declares the action's inputs and outputs.
func (a *createIssue) Spec() connectors.Spec {
	return connectors.Spec{
		Name: "jira.create_issue",
		Doc: "Create a Jira issue. A repeat of the same call finds the issue it created " +
			"(by a warroom-… label) instead of filing a second one.",
		Inputs: []connectors.Field{
			{Name: "summary", Type: connectors.String, Required: true, Doc: "Issue summary (title)."},
			{Name: "description", Type: connectors.String, Doc: "Issue description, in Jira wiki markup."},
			{Name: "project", Type: connectors.String, Doc: "Project key; empty means the configured one."},
			{Name: "issue_type", Type: connectors.String, Doc: "Issue type name; empty means the configured one (Task)."},
			{Name: "labels", Type: connectors.List, Doc: "Labels, without spaces."},
		},
		Outputs: []connectors.Field{
			{Name: "key", Type: connectors.String, Doc: "Issue key, such as SEC-24."},
			{Name: "id", Type: connectors.String, Doc: "Issue id."},
			{Name: "url", Type: connectors.String, Doc: "Browse URL of the issue."},
			{Name: "created", Type: connectors.Bool, Doc: "False when an earlier call had already created it."},
		},
		// The label search narrows the window but cannot close it.
		Idempotent: false,
		Link:       "url",
	}
}

// issueRef is Jira's answer to a create, and an entry of a search.
type issueRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Run creates the issue, or finds the one an earlier call with the same
// idempotency key created.
func (a *createIssue) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	fields, err := a.parse(call.With)
	if err != nil {
		return nil, err
	}
	label := ""
	if call.IdempotencyKey != "" {
		label = keyLabel(call.IdempotencyKey)
		fields["labels"] = append(fields["labels"].([]string), label)
		found, err := a.c.search(ctx, label)
		if err != nil {
			return nil, err
		}
		if found != nil {
			return a.c.outputs(found, false), nil
		}
	}
	var created issueRef
	err = a.c.api.Do(ctx, restapi.Request{
		Method: http.MethodPost,
		Path:   "/rest/api/2/issue",
		JSON:   map[string]any{"fields": fields},
	}, &created)
	if err != nil {
		if s := restapi.StatusOf(err); label != "" && (s == 0 || s >= 500) {
			// The issue may exist even though the answer was lost.
			if found, serr := a.c.search(ctx, label); serr == nil && found != nil {
				return a.c.outputs(found, true), nil
			}
		}
		return nil, fmt.Errorf("create issue: %w", err)
	}
	if created.Key == "" {
		return nil, errors.New("create issue: the answer holds no issue key")
	}
	return a.c.outputs(&created, true), nil
}

func (c *Connector) outputs(r *issueRef, created bool) map[string]any {
	return map[string]any{"key": r.Key, "id": r.ID, "url": c.base + "/browse/" + url.PathEscape(r.Key), "created": created}
}

// search returns the issue labelled label, or nil.
func (c *Connector) search(ctx context.Context, label string) (*issueRef, error) {
	var resp struct {
		Issues []issueRef `json:"issues"`
	}
	err := c.api.Do(ctx, restapi.Request{
		Path: "/rest/api/2/search",
		// label is hex and a prefix: nothing to escape inside the quotes.
		Query: url.Values{"jql": {`labels = "` + label + `"`}, "fields": {"key"}, "maxResults": {"1"}},
	}, &resp)
	if err != nil {
		return nil, fmt.Errorf("search for an issue labelled %s: %w", label, err)
	}
	if len(resp.Issues) == 0 {
		return nil, nil
	}
	return &resp.Issues[0], nil
}

// keyLabel derives the label that marks an issue created under key. A
// hash keeps it free of the spaces and quotes a label may not hold, and
// short.
func keyLabel(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "warroom-" + hex.EncodeToString(sum[:8])
}

// parse checks the inputs and returns the issue's fields.
func (a *createIssue) parse(with map[string]any) (map[string]any, error) {
	get := func(name, def string) (string, error) {
		s, err := connectors.Text(with, name)
		if err != nil || s != "" {
			return s, err
		}
		return def, nil
	}
	summary, err := get("summary", "")
	if err != nil {
		return nil, err
	}
	if summary == "" {
		return nil, errors.New("with.summary: required input missing")
	}
	if strings.ContainsAny(summary, "\r\n") {
		return nil, errors.New("with.summary: must be one line")
	}
	desc, err := get("description", "")
	if err != nil {
		return nil, err
	}
	project, err := get("project", a.c.project)
	if err != nil {
		return nil, err
	}
	if project == "" {
		return nil, errors.New("with.project: required: no default project is configured")
	}
	issueType, err := get("issue_type", a.c.issueType)
	if err != nil {
		return nil, err
	}
	labels := []string{}
	switch v := with["labels"].(type) {
	case nil:
	case []any:
		for i, l := range v {
			s, ok := l.(string)
			if !ok {
				return nil, fmt.Errorf("with.labels[%d]: expected text, got %T", i, l)
			}
			labels = append(labels, s)
		}
	case []string:
		labels = append(labels, v...)
	default:
		return nil, fmt.Errorf("with.labels: expected a list, got %T", v)
	}
	for i, l := range labels {
		if l == "" || strings.ContainsFunc(l, unicode.IsSpace) {
			return nil, fmt.Errorf("with.labels[%d]: %q: a Jira label is one word", i, l)
		}
	}
	return map[string]any{
		"project":     map[string]any{"key": project},
		"summary":     summary,
		"description": desc,
		"issuetype":   map[string]any{"name": issueType},
		"labels":      labels,
	}, nil
}
