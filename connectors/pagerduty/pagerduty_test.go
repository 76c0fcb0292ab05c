package pagerduty_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/pagerduty"
)

const routingKey = "R0UT1NGK3Y0123456789abcdefABCDEF" // 32 characters, as PagerDuty's

// events is a fake Events API v2. It keeps one alert per dedup_key, as
// PagerDuty does, and answers with the documented shapes.
type events struct {
	t *testing.T
	*vendortest.Server

	mu     sync.Mutex
	alerts map[string]string // dedup_key → "triggered" or "resolved"
	pages  int               // new alerts opened
	fail   []int
	bodies []map[string]any
}

func newEvents(t *testing.T) *events {
	e := &events{t: t, alerts: map[string]string{}}
	e.Server = vendortest.NewServer(t, e.serve)
	return e
}

func (e *events) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" || r.Header.Get("Content-Type") != "application/json" {
		e.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		e.t.Errorf("body: %v", err)
	}
	e.bodies = append(e.bodies, body)
	if s := vendortest.Pop(&e.fail); s != 0 {
		vendortest.Fail(w, s, "4", `{"status":"throttle event","message":"Requests for this service are arriving too quickly.  Please retry later."}`)
		return
	}
	if body["routing_key"] != routingKey {
		vendortest.JSON(w, http.StatusBadRequest, `{"status":"invalid event","message":"Event object is invalid","errors":["Invalid routing key"]}`)
		return
	}
	key, _ := body["dedup_key"].(string)
	switch body["event_action"] {
	case "trigger":
		p, _ := body["payload"].(map[string]any)
		if p["summary"] == "" || p["source"] == "" || p["severity"] == nil {
			vendortest.JSON(w, http.StatusBadRequest, `{"status":"invalid event","message":"Event object is invalid","errors":["'payload' is missing or blank"]}`)
			return
		}
		if e.alerts[key] != "triggered" {
			e.pages++
		}
		e.alerts[key] = "triggered"
	case "resolve":
		e.alerts[key] = "resolved"
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, key)
}

func TestActions(t *testing.T) {
	trigger := map[string]any{"summary": "Ransomware on host-42", "incident": "INC-7", "severity": "high",
		"source": "host-42", "custom_details": map[string]any{"channel": "#inc-7"}}
	tests := []struct {
		name    string
		action  string
		with    map[string]any
		key     string // routing key; empty: the right one
		fail    []int
		wantErr string
		want    map[string]any
		check   func(t *testing.T, e *events, sl *vendortest.Sleeps)
	}{
		{
			name:   "trigger keyed by incident",
			action: "pagerduty.trigger",
			with:   trigger,
			want:   map[string]any{"status": "success", "dedup_key": "INC-7", "message": "Event processed"},
			check: func(t *testing.T, e *events, sl *vendortest.Sleeps) {
				want := map[string]any{"routing_key": routingKey, "event_action": "trigger", "dedup_key": "INC-7",
					"payload": map[string]any{"summary": "Ransomware on host-42", "source": "host-42", "severity": "error",
						"custom_details": map[string]any{"channel": "#inc-7"}}}
				if len(e.bodies) != 1 || !reflect.DeepEqual(e.bodies[0], want) {
					t.Errorf("body = %v\nwant %v", e.bodies, want)
				}
			},
		},
		{
			name:   "explicit dedup_key and defaults",
			action: "pagerduty.trigger",
			with:   map[string]any{"summary": "check", "dedup_key": "custom-1", "incident": "INC-7"},
			want:   map[string]any{"status": "success", "dedup_key": "custom-1", "message": "Event processed"},
			check: func(t *testing.T, e *events, sl *vendortest.Sleeps) {
				p := e.bodies[0]["payload"].(map[string]any)
				if p["source"] != "warroom" || p["severity"] != "error" {
					t.Errorf("payload = %v", p)
				}
			},
		},
		{
			name:   "resolve",
			action: "pagerduty.resolve",
			with:   map[string]any{"incident": "INC-7"},
			want:   map[string]any{"status": "success", "dedup_key": "INC-7", "message": "Event processed"},
			check: func(t *testing.T, e *events, sl *vendortest.Sleeps) {
				if _, ok := e.bodies[0]["payload"]; ok || e.bodies[0]["event_action"] != "resolve" {
					t.Errorf("body = %v", e.bodies[0])
				}
			},
		},
		{
			name:    "routing key rejected",
			action:  "pagerduty.trigger",
			with:    trigger,
			key:     "wrong-routing-key-0123456789abcd",
			wantErr: "trigger PagerDuty alert INC-7: HTTP 400: Bad Request: Event object is invalid",
		},
		{
			name:   "429 with Retry-After",
			action: "pagerduty.trigger",
			with:   trigger,
			fail:   []int{429},
			want:   map[string]any{"status": "success", "dedup_key": "INC-7", "message": "Event processed"},
			check: func(t *testing.T, e *events, sl *vendortest.Sleeps) {
				if !reflect.DeepEqual(sl.Waits(), []time.Duration{4 * time.Second}) || e.pages != 1 {
					t.Errorf("waits %v, pages %d", sl.Waits(), e.pages)
				}
			},
		},
		{
			name:   "5xx is retried without paging twice",
			action: "pagerduty.trigger",
			with:   trigger,
			fail:   []int{500, 502},
			want:   map[string]any{"status": "success", "dedup_key": "INC-7", "message": "Event processed"},
			check: func(t *testing.T, e *events, sl *vendortest.Sleeps) {
				if len(e.bodies) != 3 || e.pages != 1 {
					t.Errorf("%d requests, %d pages", len(e.bodies), e.pages)
				}
				for _, b := range e.bodies {
					if b["dedup_key"] != "INC-7" {
						t.Errorf("retry changed the dedup_key: %v", b["dedup_key"])
					}
				}
			},
		},
		{
			name:    "5xx that lasts",
			action:  "pagerduty.resolve",
			with:    map[string]any{"dedup_key": "INC-7"},
			fail:    []int{503, 503, 503, 503},
			wantErr: "resolve PagerDuty alert INC-7: HTTP 503",
		},
		{name: "no key", action: "pagerduty.trigger", with: map[string]any{"summary": "x"}, wantErr: "give dedup_key or incident", check: noRequest},
		{name: "no summary", action: "pagerduty.trigger", with: map[string]any{"incident": "INC-7"}, wantErr: "with.summary: required", check: noRequest},
		{name: "bad severity", action: "pagerduty.trigger", with: map[string]any{"incident": "INC-7", "summary": "x", "severity": "sev1"}, wantErr: "with.severity", check: noRequest},
		{name: "long key", action: "pagerduty.resolve", with: map[string]any{"dedup_key": strings.Repeat("k", 256)}, wantErr: "longer than 255", check: noRequest},
		{name: "details not a map", action: "pagerduty.trigger", with: map[string]any{"incident": "INC-7", "summary": "x", "custom_details": "x"}, wantErr: "with.custom_details", check: noRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvents(t)
			e.fail = tt.fail
			rk := tt.key
			if rk == "" {
				rk = routingKey
			}
			sl := &vendortest.Sleeps{}
			c, err := pagerduty.New(pagerduty.Config{RoutingKey: rk, EventsURL: e.URL, HTTP: e.Client(), Sleep: sl.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			out, err := vendortest.ActionNamed(t, c.Actions(), tt.action).Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: "warroom-run-1-page-1"})
			vendortest.CheckErr(t, err, tt.wantErr, rk)
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("outputs = %v, want %v", out, tt.want)
			}
			if tt.check != nil {
				e.mu.Lock()
				defer e.mu.Unlock()
				tt.check(t, e, sl)
			}
		})
	}
}

func TestTriggerTwicePagesOnce(t *testing.T) {
	e := newEvents(t)
	c, err := pagerduty.New(pagerduty.Config{RoutingKey: routingKey, EventsURL: e.URL, HTTP: e.Client()})
	if err != nil {
		t.Fatal(err)
	}
	a := vendortest.ActionNamed(t, c.Actions(), "pagerduty.trigger")
	for i := range 2 {
		// A retried step gets a new IdempotencyKey; the alert key must
		// not follow it.
		call := connectors.Call{With: map[string]any{"summary": "x", "incident": "INC-9"}, IdempotencyKey: fmt.Sprintf("warroom-run-1-page-%d", i+1)}
		if _, err := a.Run(context.Background(), call); err != nil {
			t.Fatal(err)
		}
	}
	if e.pages != 1 {
		t.Errorf("%d pages for one incident", e.pages)
	}
}

func noRequest(t *testing.T, e *events, sl *vendortest.Sleeps) {
	t.Helper()
	if len(e.bodies) != 0 {
		t.Errorf("%d requests for invalid inputs", len(e.bodies))
	}
}

func TestNewNeedsConfig(t *testing.T) {
	for _, cfg := range []pagerduty.Config{{}, {RoutingKey: routingKey, EventsURL: "events.pagerduty.com"}} {
		if _, err := pagerduty.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), routingKey) {
			t.Errorf("error repeats the routing key: %v", err)
		}
	}
}

func TestSpecs(t *testing.T) {
	c, err := pagerduty.New(pagerduty.Config{RoutingKey: routingKey})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSpecs(t, c.Actions(), "pagerduty.", map[string]vendortest.Spec{
		"pagerduty.trigger": {Idempotent: true},
		"pagerduty.resolve": {Idempotent: true},
	})
}
