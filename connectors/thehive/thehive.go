// Package thehive holds the TheHive 5 action thehive.create_case, which
// opens a case for the incident in the case management platform the
// analysts work in.
//
// TheHive has no idempotency key for case creation, so the action is
// declared not idempotent: the engine reports a crash during it as an
// unknown outcome rather than opening a second case, and the shared client
// does not repeat the create after a 5xx. The case's URL is the action's
// link (connectors.Spec.Link), recorded in the step's case-log entry.
package thehive

import (
	"context"
	"errors"
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
	// URL is TheHive's address, such as "https://thehive.example.net".
	// Required.
	URL string
	// APIKey is the API key of a TheHive user allowed to create cases in
	// its organisation. Required.
	APIKey string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Connector calls one TheHive instance. It is safe for concurrent use.
type Connector struct {
	api  *restapi.Client
	base string
}

// New checks c and returns a connector. It makes no request.
func New(c Config) (*Connector, error) {
	var missing []string
	if c.URL == "" {
		missing = append(missing, "url")
	}
	if c.APIKey == "" {
		missing = append(missing, "api_key")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("thehive: missing %s", strings.Join(missing, " and "))
	}
	if _, err := restapi.BaseURL(c.URL, ""); err != nil {
		return nil, fmt.Errorf("thehive: url %w", err)
	}
	base := strings.TrimRight(c.URL, "/")
	return &Connector{base: base, api: &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep,
		Auth: restapi.HeaderAuth("Authorization", "Bearer "+c.APIKey)}}, nil
}

// Actions returns thehive.create_case.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{&createCase{c: c}}
}

// createCase is thehive.create_case.
type createCase struct {
	c *Connector
}

// Spec declares the action's inputs and outputs.
func (a *createCase) Spec() connectors.Spec {
	return connectors.Spec{
		Name: "thehive.create_case",
		Doc:  "Open a case in TheHive 5.",
		Inputs: []connectors.Field{
			{Name: "title", Type: connectors.String, Required: true, Doc: "Case title."},
			{Name: "description", Type: connectors.String, Doc: "Case description, in Markdown; empty means the title."},
			{Name: "severity", Type: connectors.String, Default: "medium", Doc: "low, medium, high or critical (TheHive's 1 to 4)."},
			{Name: "tlp", Type: connectors.String, Default: "amber", Doc: "Traffic Light Protocol: clear (or white), green, amber, amber+strict or red."},
			{Name: "pap", Type: connectors.String, Default: "amber", Doc: "Permissible Actions Protocol: clear (or white), green, amber or red."},
			{Name: "tags", Type: connectors.List, Doc: "Case tags."},
		},
		Outputs: []connectors.Field{
			{Name: "id", Type: connectors.String, Doc: "Case id, such as ~41112."},
			{Name: "number", Type: connectors.Int, Doc: "Case number, as the UI shows it."},
			{Name: "url", Type: connectors.String, Doc: "Link to the case in TheHive."},
		},
		Link: "url",
	}
}

// Levels of warroom's severity and of the sharing protocols, as TheHive
// numbers them.
var (
	severities = map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}
	tlps       = map[string]int{"clear": 0, "white": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}
	paps       = map[string]int{"clear": 0, "white": 0, "green": 1, "amber": 2, "red": 3}
)

// Run creates the case.
func (a *createCase) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	body, err := parse(call.With)
	if err != nil {
		return nil, err
	}
	var resp struct {
		ID     string `json:"_id"`
		Number int    `json:"number"`
	}
	if err := a.c.api.Do(ctx, restapi.Request{Method: http.MethodPost, Path: "/api/v1/case", JSON: body}, &resp); err != nil {
		return nil, fmt.Errorf("create case: %w", err)
	}
	if resp.ID == "" {
		return nil, errors.New("create case: the answer holds no case id")
	}
	return map[string]any{
		"id":     resp.ID,
		"number": resp.Number,
		"url":    a.c.base + "/cases/" + url.PathEscape(resp.ID) + "/details",
	}, nil
}

// parse checks the inputs and returns the case to create.
func parse(with map[string]any) (map[string]any, error) {
	title, err := connectors.Text(with, "title")
	if err != nil {
		return nil, err
	}
	if title == "" {
		return nil, errors.New("with.title: required input missing")
	}
	desc, err := connectors.Text(with, "description")
	if err != nil {
		return nil, err
	}
	if desc == "" {
		desc = title // TheHive requires a description
	}
	body := map[string]any{"title": title, "description": desc}
	for _, l := range []struct {
		name, def string
		levels    map[string]int
		max       int
	}{
		{"severity", "medium", severities, 4},
		{"tlp", "amber", tlps, 4},
		{"pap", "amber", paps, 3},
	} {
		n, err := level(with, l.name, l.def, l.levels, l.max)
		if err != nil {
			return nil, err
		}
		body[l.name] = n
	}
	tags := []string{}
	switch v := with["tags"].(type) {
	case nil:
	case []any:
		for i, t := range v {
			s, ok := t.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("with.tags[%d]: expected non-empty text, got %v", i, t)
			}
			tags = append(tags, strings.TrimSpace(s))
		}
	case []string:
		tags = append(tags, v...)
	default:
		return nil, fmt.Errorf("with.tags: expected a list, got %T", v)
	}
	body["tags"] = tags
	return body, nil
}

// level reads a named level ("high", "amber") or TheHive's number for it.
func level(with map[string]any, name, def string, levels map[string]int, maxN int) (int, error) {
	var s string
	switch v := with[name].(type) {
	case nil:
	case string:
		s = strings.ToLower(strings.TrimSpace(v))
	case int:
		s = strconv.Itoa(v)
	default:
		return 0, fmt.Errorf("with.%s: expected text, got %T", name, v)
	}
	if s == "" {
		s = def
	}
	if n, ok := levels[s]; ok {
		return n, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= maxN && (name != "severity" || n >= 1) {
		return n, nil
	}
	return 0, fmt.Errorf("with.%s: %q is not one of %s", name, s, sortedList(levels))
}

// sortedList lists the names of levels in level order, for messages.
func sortedList(levels map[string]int) string {
	var names []string
	for n := 0; n <= 4; n++ {
		for k, v := range levels {
			if v == n && k != "white" { // an alias of clear
				names = append(names, k)
			}
		}
	}
	return strings.Join(names, ", ")
}
