// Package pagerduty holds the PagerDuty Events API v2 actions
// pagerduty.trigger and pagerduty.resolve: page the on-call responder of a
// service, and close the alert again.
//
// Both are idempotent through PagerDuty's dedup_key: a trigger repeated
// with the same key updates the one open alert instead of paging twice.
// The key is the step's dedup_key input or, failing that, its incident
// input (the incident reference, ${{ incident.ref }}), so that every page
// about one incident lands on one PagerDuty alert and resolve can find it.
// Call.IdempotencyKey is deliberately not used: it names one step of one
// run, so a second playbook run about the same incident would page again,
// and resolve, a step of its own, could not name the trigger's alert.
package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// DefaultEventsURL is the root of PagerDuty's Events API (the EU service
// region uses https://events.eu.pagerduty.com).
const DefaultEventsURL = "https://events.pagerduty.com"

// maxDedupKey is the longest dedup_key PagerDuty accepts.
const maxDedupKey = 255

// Config configures the connector.
type Config struct {
	// RoutingKey is the integration key of an Events API v2 integration
	// on the service to page. Required.
	RoutingKey string
	// EventsURL is the Events API root; empty means DefaultEventsURL.
	EventsURL string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Connector sends events to one PagerDuty integration. It is safe for
// concurrent use.
type Connector struct {
	api        *restapi.Client
	routingKey string
}

// New checks c and returns a connector. It makes no request.
func New(c Config) (*Connector, error) {
	if c.RoutingKey == "" {
		return nil, errors.New("pagerduty: missing routing_key")
	}
	base, err := restapi.BaseURL(c.EventsURL, DefaultEventsURL)
	if err != nil {
		return nil, fmt.Errorf("pagerduty: events_url %w", err)
	}
	return &Connector{
		routingKey: c.RoutingKey,
		// The routing key travels in the body, so there is no Auth hook.
		api: &restapi.Client{BaseURL: base, HTTP: c.HTTP, Sleep: c.Sleep},
	}, nil
}

// Actions returns pagerduty.trigger and pagerduty.resolve.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{&event{c: c, kind: "trigger"}, &event{c: c, kind: "resolve"}}
}

// keyInputs name the alert to trigger or resolve.
var keyInputs = []connectors.Field{
	{Name: "dedup_key", Type: connectors.String, Doc: "PagerDuty alert key; empty means the incident input."},
	{Name: "incident", Type: connectors.String, Doc: "Incident reference (${{ incident.ref }}), the alert key when dedup_key is empty."},
}

// event is pagerduty.trigger or pagerduty.resolve.
type event struct {
	c    *Connector
	kind string // event_action
}

// Spec declares the action's inputs and outputs.
func (a *event) Spec() connectors.Spec {
	s := connectors.Spec{
		Name: "pagerduty." + a.kind,
		Outputs: []connectors.Field{
			{Name: "status", Type: connectors.String, Doc: "PagerDuty's answer: success."},
			{Name: "dedup_key", Type: connectors.String, Doc: "Key of the PagerDuty alert."},
			{Name: "message", Type: connectors.String, Doc: "PagerDuty's message, such as \"Event processed\"."},
		},
		Idempotent: true, // through dedup_key
	}
	if a.kind == "resolve" {
		s.Doc = "Resolve the PagerDuty alert with a dedup_key. Give dedup_key or incident."
		s.Inputs = keyInputs
		return s
	}
	s.Doc = "Page the on-call responder through PagerDuty's Events API v2. Give dedup_key or incident; a repeat with the same key does not page twice."
	s.Inputs = append([]connectors.Field{
		{Name: "summary", Type: connectors.String, Required: true, Doc: "What is wrong, as the responder's notification shows it (up to 1024 characters)."},
		{Name: "severity", Type: connectors.String, Default: "error", Doc: "critical, error, warning or info; warroom's high, medium and low map to error, warning and info."},
		{Name: "source", Type: connectors.String, Default: "warroom", Doc: "Affected system, such as a host name."},
		{Name: "custom_details", Type: connectors.Map, Doc: "Extra fields shown with the alert."},
	}, keyInputs...)
	return s
}

// severities maps accepted severities to PagerDuty's.
var severities = map[string]string{
	"critical": "critical", "error": "error", "warning": "warning", "info": "info",
	"high": "error", "medium": "warning", "low": "info",
}

// Run sends the event.
func (a *event) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	body, err := a.parse(call.With)
	if err != nil {
		return nil, err
	}
	body["routing_key"] = a.c.routingKey
	body["event_action"] = a.kind
	var resp struct {
		Status   string `json:"status"`
		Message  string `json:"message"`
		DedupKey string `json:"dedup_key"`
	}
	err = a.c.api.Do(ctx, restapi.Request{
		Method:     http.MethodPost,
		Path:       "/v2/enqueue",
		JSON:       body,
		Idempotent: true, // the dedup_key makes a repeat harmless
	}, &resp)
	if err != nil {
		return nil, fmt.Errorf("%s PagerDuty alert %s: %w", a.kind, body["dedup_key"], err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("%s PagerDuty alert %s: PagerDuty answered %q: %s", a.kind, body["dedup_key"], resp.Status, resp.Message)
	}
	key := resp.DedupKey
	if key == "" {
		key = body["dedup_key"].(string)
	}
	return map[string]any{"status": resp.Status, "dedup_key": key, "message": resp.Message}, nil
}

// parse checks the inputs and returns the event without its routing key
// and action.
func (a *event) parse(with map[string]any) (map[string]any, error) {
	key, err := connectors.Text(with, "dedup_key")
	if err != nil {
		return nil, err
	}
	if key == "" {
		if key, err = connectors.Text(with, "incident"); err != nil {
			return nil, err
		}
	}
	switch {
	case key == "":
		return nil, errors.New("with: give dedup_key or incident")
	case len(key) > maxDedupKey:
		return nil, fmt.Errorf("with.dedup_key: longer than %d bytes", maxDedupKey)
	}
	body := map[string]any{"dedup_key": key}
	if a.kind == "resolve" {
		return body, nil
	}

	summary, err := connectors.Text(with, "summary")
	if err != nil {
		return nil, err
	}
	if summary == "" {
		return nil, errors.New("with.summary: required input missing")
	}
	if r := []rune(summary); len(r) > 1024 {
		summary = string(r[:1023]) + "…" // PagerDuty would cut it anyway
	}
	sev, err := connectors.Text(with, "severity")
	if err != nil {
		return nil, err
	}
	if sev == "" {
		sev = "error"
	}
	pdSev, ok := severities[strings.ToLower(sev)]
	if !ok {
		return nil, fmt.Errorf("with.severity: %q is not critical, error, warning or info", sev)
	}
	source, err := connectors.Text(with, "source")
	if err != nil {
		return nil, err
	}
	if source == "" {
		source = "warroom"
	}
	payload := map[string]any{"summary": summary, "source": source, "severity": pdSev}
	switch d := with["custom_details"].(type) {
	case nil:
	case map[string]any:
		payload["custom_details"] = d
	default:
		return nil, fmt.Errorf("with.custom_details: expected a mapping, got %T", d)
	}
	body["payload"] = payload
	return body, nil
}
