package crowdstrike_test

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
	"github.com/warroom-bot/warroom/connectors/crowdstrike"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
)

const (
	clientID     = "cs-client-id"
	clientSecret = "cs-client-secret-do-not-leak"
	devA         = "0123456789abcdef0123456789abcdef"
	devB         = "fedcba9876543210fedcba9876543210"
)

// falcon is a fake Falcon API: it issues tokens, answers device queries
// from devices and records device actions. Failures are queued per
// endpoint: each request pops the next status and answers with it.
type falcon struct {
	t *testing.T
	*vendortest.Server

	mu          sync.Mutex
	devices     map[string][]string // hostname → device ids
	tokens      int                 // tokens issued
	valid       string              // the token the API accepts
	tokenFail   []int               // statuses the token endpoint answers first
	apiFail     []int               // statuses device actions answer first
	retryAfter  string              // Retry-After sent with a 429
	expireFirst bool                // reject the first token as expired
	expiresIn   int                 // expires_in of issued tokens
	actions     []string            // "contain devA" as seen
	calls       int                 // API calls (not token requests)
	answerError string              // an errors[] entry in a 2xx action answer
}

func newFalcon(t *testing.T) *falcon {
	f := &falcon{t: t, devices: map[string][]string{"host-42": {devA}, "twin": {devA, devB}}, expiresIn: 1799}
	f.Server = vendortest.NewServer(t, f.serve)
	return f
}

func (f *falcon) fail(w http.ResponseWriter, status int) {
	vendortest.Fail(w, status, f.retryAfter, fmt.Sprintf(`{"errors":[{"code":%d,"message":"failure %d"}]}`, status, status))
}

func (f *falcon) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/oauth2/token" {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			f.t.Errorf("token request: %s, Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if s := vendortest.Pop(&f.tokenFail); s != 0 {
			f.fail(w, s)
			return
		}
		if r.PostFormValue("client_id") != clientID || r.PostFormValue("client_secret") != clientSecret {
			f.fail(w, http.StatusUnauthorized)
			return
		}
		f.tokens++
		f.valid = fmt.Sprintf("token-%d", f.tokens)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":%d}`, f.valid, f.expiresIn)
		return
	}
	f.calls++
	if r.Header.Get("Authorization") != "Bearer "+f.valid || (f.expireFirst && f.valid == "token-1") {
		f.fail(w, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/devices/queries/devices/v1":
		filter := r.URL.Query().Get("filter")
		name, ok := strings.CutPrefix(filter, "hostname:'")
		if !ok || !strings.HasSuffix(name, "'") {
			f.t.Errorf("device query filter = %q", filter)
		}
		ids := f.devices[strings.TrimSuffix(name, "'")]
		if ids == nil {
			ids = []string{}
		}
		json.NewEncoder(w).Encode(map[string]any{"resources": ids, "errors": []any{}})
	case r.Method == http.MethodPost && r.URL.Path == "/devices/entities/devices-actions/v2":
		if s := vendortest.Pop(&f.apiFail); s != 0 {
			f.fail(w, s)
			return
		}
		var body struct {
			IDs []string `json:"ids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.IDs) != 1 {
			f.t.Errorf("action body: %v %v", body, err)
		}
		f.actions = append(f.actions, r.URL.Query().Get("action_name")+" "+strings.Join(body.IDs, ","))
		w.WriteHeader(http.StatusAccepted)
		errs := "[]"
		if f.answerError != "" {
			errs = fmt.Sprintf(`[{"code":409,"message":%q}]`, f.answerError)
		}
		fmt.Fprintf(w, `{"resources":[{"id":%q,"path":""}],"errors":%s}`, body.IDs[0], errs)
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func actions(t *testing.T, f *falcon, secret string, sl *vendortest.Sleeps) map[string]connectors.Action {
	t.Helper()
	c, err := crowdstrike.New(crowdstrike.Config{ClientID: clientID, ClientSecret: secret, APIURL: f.URL, HTTP: f.Client(), Sleep: sl.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]connectors.Action{}
	for _, a := range c.Actions() {
		m[a.Spec().Name] = a
	}
	return m
}

func TestActions(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		with    map[string]any
		secret  string
		setup   func(f *falcon)
		wantErr string         // substring; "" means success
		want    map[string]any // outputs
		check   func(t *testing.T, f *falcon, sl *vendortest.Sleeps)
	}{
		{
			name:   "contain by host",
			action: "crowdstrike.contain",
			with:   map[string]any{"host": "host-42"},
			want:   map[string]any{"device_id": devA, "hostname": "host-42", "action": "contain"},
			check: func(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
				if !reflect.DeepEqual(f.actions, []string{"contain " + devA}) || f.tokens != 1 {
					t.Errorf("actions %q, tokens %d", f.actions, f.tokens)
				}
			},
		},
		{
			name:   "lift containment by device id",
			action: "crowdstrike.lift_containment",
			with:   map[string]any{"device_id": strings.ToUpper(devB)},
			want:   map[string]any{"device_id": devB, "hostname": "", "action": "lift_containment"},
			check: func(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
				if !reflect.DeepEqual(f.actions, []string{"lift_containment " + devB}) || f.calls != 1 {
					t.Errorf("actions %q after %d calls", f.actions, f.calls)
				}
			},
		},
		{
			name:    "no such device",
			action:  "crowdstrike.contain",
			with:    map[string]any{"host": "host-43"},
			wantErr: "no Falcon device named host-43",
			check:   noAction,
		},
		{
			name:    "two devices of one name",
			action:  "crowdstrike.contain",
			with:    map[string]any{"host": "twin"},
			wantErr: "2 Falcon devices are named twin (" + devA + ", " + devB + "): give device_id",
			check:   noAction,
		},
		{
			name:    "wrong client secret",
			action:  "crowdstrike.contain",
			with:    map[string]any{"host": "host-42"},
			secret:  "wrong",
			wantErr: "get token: client_id or client_secret rejected: HTTP 401: authentication failed",
			check: func(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
				if f.calls != 0 || len(sl.Waits()) != 0 {
					t.Errorf("%d API calls and waits %v after a rejected secret", f.calls, sl.Waits())
				}
			},
		},
		{
			name:   "expired token is refreshed once",
			action: "crowdstrike.contain",
			with:   map[string]any{"device_id": devA},
			setup:  func(f *falcon) { f.expireFirst = true },
			want:   map[string]any{"device_id": devA, "hostname": "", "action": "contain"},
			check: func(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
				if f.tokens != 2 || len(f.actions) != 1 {
					t.Errorf("tokens %d, actions %q", f.tokens, f.actions)
				}
			},
		},
		{
			name:    "401 after a fresh token fails",
			action:  "crowdstrike.contain",
			with:    map[string]any{"device_id": devA},
			setup:   func(f *falcon) { f.apiFail = []int{401, 401, 401} },
			wantErr: "contain device " + devA + ": HTTP 401: authentication failed",
			check: func(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
				if f.tokens != 2 || f.calls != 2 {
					t.Errorf("tokens %d, calls %d; want one refresh and one repeat", f.tokens, f.calls)
				}
			},
		},
		{
			name:   "429 waits for Retry-After",
			action: "crowdstrike.contain",
			with:   map[string]any{"device_id": devA},
			setup:  func(f *falcon) { f.apiFail, f.retryAfter = []int{429}, "7" },
			want:   map[string]any{"device_id": devA, "hostname": "", "action": "contain"},
			check: func(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
				if !reflect.DeepEqual(sl.Waits(), []time.Duration{7 * time.Second}) || len(f.actions) != 1 {
					t.Errorf("waits %v, actions %q", sl.Waits(), f.actions)
				}
			},
		},
		{
			name:   "5xx is retried",
			action: "crowdstrike.contain",
			with:   map[string]any{"device_id": devA},
			setup:  func(f *falcon) { f.apiFail = []int{502, 503} },
			want:   map[string]any{"device_id": devA, "hostname": "", "action": "contain"},
			check: func(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
				if len(sl.Waits()) != 2 || len(f.actions) != 1 {
					t.Errorf("waits %v, actions %q", sl.Waits(), f.actions)
				}
			},
		},
		{
			name:    "5xx that lasts",
			action:  "crowdstrike.contain",
			with:    map[string]any{"device_id": devA},
			setup:   func(f *falcon) { f.apiFail = []int{500, 500, 500, 500} },
			wantErr: "HTTP 500: Internal Server Error: failure 500",
		},
		{
			name:    "token endpoint 5xx",
			action:  "crowdstrike.contain",
			with:    map[string]any{"device_id": devA},
			setup:   func(f *falcon) { f.tokenFail = []int{503, 503, 503, 503} },
			wantErr: "get token: HTTP 503",
			check:   noAction,
		},
		{
			name:    "error inside a 2xx answer",
			action:  "crowdstrike.contain",
			with:    map[string]any{"device_id": devA},
			setup:   func(f *falcon) { f.answerError = "device is not online" },
			wantErr: "Falcon error 409: device is not online",
		},
		{name: "no target", action: "crowdstrike.contain", with: map[string]any{}, wantErr: "give host or device_id", check: noCall},
		{name: "both targets", action: "crowdstrike.contain", with: map[string]any{"host": "a", "device_id": devA}, wantErr: "not both", check: noCall},
		{name: "FQL injection", action: "crowdstrike.contain", with: map[string]any{"host": "x'+hostname:'*"}, wantErr: "is not a host name", check: noCall},
		{name: "bad device id", action: "crowdstrike.contain", with: map[string]any{"device_id": "../../x"}, wantErr: "not a Falcon device id", check: noCall},
		{name: "host not text", action: "crowdstrike.contain", with: map[string]any{"host": 42}, wantErr: "with.host: expected text", check: noCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFalcon(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			secret := tt.secret
			if secret == "" {
				secret = clientSecret
			}
			sl := &vendortest.Sleeps{}
			out, err := actions(t, f, secret, sl)[tt.action].Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: "warroom-run-1-contain-1"})
			vendortest.CheckErr(t, err, tt.wantErr, clientSecret, "token-")
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("outputs = %v, want %v", out, tt.want)
			}
			if tt.check != nil {
				f.mu.Lock()
				defer f.mu.Unlock()
				tt.check(t, f, sl)
			}
		})
	}
}

func noAction(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
	if len(f.actions) != 0 {
		t.Errorf("actions taken: %q", f.actions)
	}
}

func noCall(t *testing.T, f *falcon, sl *vendortest.Sleeps) {
	if f.calls != 0 || f.tokens != 0 {
		t.Errorf("%d calls and %d tokens for invalid inputs", f.calls, f.tokens)
	}
}

func TestTokenCached(t *testing.T) {
	f := newFalcon(t)
	a := actions(t, f, clientSecret, &vendortest.Sleeps{})["crowdstrike.contain"]
	for range 3 {
		if _, err := a.Run(context.Background(), connectors.Call{With: map[string]any{"host": "host-42"}}); err != nil {
			t.Fatal(err)
		}
	}
	if f.tokens != 1 {
		t.Errorf("%d tokens for 3 runs; want the first one reused", f.tokens)
	}
}

func TestShortLivedTokenRenewed(t *testing.T) {
	f := newFalcon(t)
	f.expiresIn = 0 // expired on arrival: every call needs a new one
	a := actions(t, f, clientSecret, &vendortest.Sleeps{})["crowdstrike.contain"]
	for range 2 {
		if _, err := a.Run(context.Background(), connectors.Call{With: map[string]any{"device_id": devA}}); err != nil {
			t.Fatal(err)
		}
	}
	if f.tokens != 2 {
		t.Errorf("%d tokens for 2 runs with expired tokens", f.tokens)
	}
}

func TestNewNeedsCredentials(t *testing.T) {
	for _, cfg := range []crowdstrike.Config{
		{ClientSecret: clientSecret},
		{ClientID: clientID},
		{ClientID: clientID, ClientSecret: clientSecret, APIURL: "api.crowdstrike.com"},
	} {
		if _, err := crowdstrike.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if cfg.ClientSecret != "" && strings.Contains(err.Error(), cfg.ClientSecret) {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}

func TestSpecs(t *testing.T) {
	c, err := crowdstrike.New(crowdstrike.Config{ClientID: "id", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSpecs(t, c.Actions(), "crowdstrike.", map[string]vendortest.Spec{
		"crowdstrike.contain":          {Destructive: true, Idempotent: true},
		"crowdstrike.lift_containment": {Idempotent: true},
	})
}
