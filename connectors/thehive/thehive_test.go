package thehive_test

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
	"github.com/warroom-bot/warroom/connectors/thehive"
)

const apiKey = "thehive-api-key-do-not-leak"

// hive is a fake TheHive 5 case API. Failures are queued: each create pops
// the next status and answers with it.
type hive struct {
	t *testing.T
	*vendortest.Server

	mu     sync.Mutex
	fail   []int
	bodies []map[string]any
}

func newHive(t *testing.T) *hive {
	h := &hive{t: t}
	h.Server = vendortest.NewServer(t, h.serve)
	return h
}

func (h *hive) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+apiKey {
		vendortest.JSON(w, http.StatusUnauthorized, `{"type":"AuthenticationError","message":"Authentication failure"}`)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/case" || r.Header.Get("Content-Type") != "application/json" {
		h.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		h.t.Errorf("body: %v", err)
	}
	h.bodies = append(h.bodies, body)
	if s := vendortest.Pop(&h.fail); s != 0 {
		vendortest.Fail(w, s, "6", fmt.Sprintf(`{"type":"InternalError","message":"failure %d"}`, s))
		return
	}
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"_id":"~41112","_type":"Case","_createdBy":"bot@thehive.local","_createdAt":1700000000000,"number":%d,"title":%q,"severity":%v,"status":"New","stage":"New"}`,
		11+len(h.bodies), body["title"], body["severity"])
}

func TestCreateCase(t *testing.T) {
	tests := []struct {
		name     string
		with     map[string]any
		key      string // API key; empty: the right one
		fail     []int
		wantErr  string
		want     map[string]any // url is relative to the server
		wantBody map[string]any
		requests int
		waits    []time.Duration
	}{
		{
			name: "all inputs",
			with: map[string]any{"title": "INC-7 ransomware", "description": "Seen on host-42.", "severity": "critical",
				"tlp": "amber+strict", "pap": "red", "tags": []any{"warroom", "INC-7"}},
			want: map[string]any{"id": "~41112", "number": 12, "url": "/cases/~41112/details"},
			wantBody: map[string]any{"title": "INC-7 ransomware", "description": "Seen on host-42.", "severity": 4.0,
				"tlp": 3.0, "pap": 3.0, "tags": []any{"warroom", "INC-7"}},
			requests: 1,
		},
		{
			name:     "defaults",
			with:     map[string]any{"title": "INC-8"},
			want:     map[string]any{"id": "~41112", "number": 12, "url": "/cases/~41112/details"},
			wantBody: map[string]any{"title": "INC-8", "description": "INC-8", "severity": 2.0, "tlp": 2.0, "pap": 2.0, "tags": []any{}},
		},
		{
			name:     "numbers and white",
			with:     map[string]any{"title": "x", "severity": "1", "tlp": "white", "pap": 0},
			wantBody: map[string]any{"title": "x", "description": "x", "severity": 1.0, "tlp": 0.0, "pap": 0.0, "tags": []any{}},
		},
		{name: "wrong key", with: map[string]any{"title": "x"}, key: "wrong-key-value", wantErr: "create case: HTTP 401: authentication failed", requests: 0, waits: []time.Duration{}},
		{
			name:     "429 with Retry-After",
			with:     map[string]any{"title": "x"},
			fail:     []int{429},
			want:     map[string]any{"id": "~41112", "number": 13, "url": "/cases/~41112/details"},
			requests: 2,
			waits:    []time.Duration{6 * time.Second},
		},
		{
			// A create may have worked before the 5xx: not repeated.
			name:     "5xx is not repeated",
			with:     map[string]any{"title": "x"},
			fail:     []int{502},
			wantErr:  "create case: HTTP 502",
			requests: 1,
			waits:    []time.Duration{},
		},
		{name: "no title", with: map[string]any{"description": "x"}, wantErr: "with.title: required", requests: 0},
		{name: "bad severity", with: map[string]any{"title": "x", "severity": "urgent"}, wantErr: `with.severity: "urgent" is not one of low, medium, high, critical`, requests: 0},
		{name: "severity 0", with: map[string]any{"title": "x", "severity": "0"}, wantErr: "with.severity", requests: 0},
		{name: "bad tlp", with: map[string]any{"title": "x", "tlp": "5"}, wantErr: "with.tlp", requests: 0},
		{name: "pap amber+strict", with: map[string]any{"title": "x", "pap": "amber+strict"}, wantErr: "with.pap", requests: 0},
		{name: "empty tag", with: map[string]any{"title": "x", "tags": []any{" "}}, wantErr: "with.tags[0]", requests: 0},
		{name: "title not text", with: map[string]any{"title": 5}, wantErr: "with.title: expected text", requests: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHive(t)
			h.fail = tt.fail
			key := tt.key
			if key == "" {
				key = apiKey
			}
			sl := &vendortest.Sleeps{}
			c, err := thehive.New(thehive.Config{URL: h.URL + "/", APIKey: key, HTTP: h.Client(), Sleep: sl.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Actions()[0].Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: "warroom-run-1-case-1"})
			vendortest.CheckErr(t, err, tt.wantErr, key)
			if tt.want != nil {
				tt.want["url"] = h.URL + tt.want["url"].(string)
				if !reflect.DeepEqual(out, tt.want) {
					t.Errorf("outputs = %v, want %v", out, tt.want)
				}
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if tt.wantBody != nil && (len(h.bodies) == 0 || !reflect.DeepEqual(h.bodies[0], tt.wantBody)) {
				t.Errorf("body = %v\nwant %v", h.bodies, tt.wantBody)
			}
			if (tt.wantErr != "" || tt.requests != 0) && len(h.bodies) != tt.requests {
				t.Errorf("%d requests, want %d", len(h.bodies), tt.requests)
			}
			if tt.waits != nil {
				sl.Check(t, tt.waits)
			}
		})
	}
}

func TestNewNeedsConfig(t *testing.T) {
	for _, cfg := range []thehive.Config{{APIKey: apiKey}, {URL: "https://hive"}, {URL: "hive", APIKey: apiKey}} {
		if _, err := thehive.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), apiKey) {
			t.Errorf("error repeats the key: %v", err)
		}
	}
}

func TestSpecs(t *testing.T) {
	c, err := thehive.New(thehive.Config{URL: "https://hive", APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSpecs(t, c.Actions(), "thehive.", map[string]vendortest.Spec{
		"thehive.create_case": {Required: []string{"title"}, Link: "url"},
	})
}
