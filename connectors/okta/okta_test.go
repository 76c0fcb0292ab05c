package okta_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/okta"
)

const token = "00okta-api-token-do-not-leak"

// org is a fake Okta org. Users are found by login or id; lifecycle calls
// change their status as Okta does, refusing to suspend a user who is not
// ACTIVE. Failures are queued: each lifecycle or sessions request pops the
// next status and answers with it.
type org struct {
	t *testing.T
	*vendortest.Server

	mu        sync.Mutex
	users     map[string]*fakeUser // by id
	fail      []int                // statuses lifecycle and sessions calls answer first
	lookFail  []int                // statuses lookups answer first
	limitOnly bool                 // send a 429 with X-Rate-Limit-Reset only
	acted     bool                 // apply the change even when answering a queued failure
	calls     []string             // "POST /api/v1/users/00u1/lifecycle/suspend"
}

type fakeUser struct {
	id, login, status string
	sessions          int
}

func newOrg(t *testing.T) *org {
	o := &org{t: t, users: map[string]*fakeUser{
		"00u1": {id: "00u1", login: "alice@example.com", status: "ACTIVE", sessions: 2},
		"00u2": {id: "00u2", login: "bob@example.com", status: "SUSPENDED"},
		"00u3": {id: "00u3", login: "carol@example.com", status: "DEPROVISIONED"},
	}}
	o.Server = vendortest.NewServer(t, o.serve)
	return o
}

func (o *org) find(key string) *fakeUser {
	for _, u := range o.users {
		if u.id == key || u.login == key {
			return u
		}
	}
	return nil
}

func errorBody(w http.ResponseWriter, status int, code, summary string) {
	vendortest.JSON(w, status, fmt.Sprintf(`{"errorCode":%q,"errorSummary":%q,"errorLink":%q,"errorId":"oae1","errorCauses":[]}`, code, summary, code))
}

func (o *org) failWith(w http.ResponseWriter, status int) {
	if status == http.StatusTooManyRequests {
		date := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		w.Header().Set("Date", date.Format(http.TimeFormat))
		w.Header().Set("X-Rate-Limit-Limit", "600")
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(date.Unix()+9, 10))
		if !o.limitOnly {
			w.Header().Set("Retry-After", "3")
		}
	}
	errorBody(w, status, "E0000047", fmt.Sprintf("failure %d", status))
}

func (o *org) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.Header.Get("Authorization") != "SSWS "+token {
		errorBody(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/users/")
	if !ok {
		o.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	key, op, _ := strings.Cut(rest, "/")
	if r.Method == http.MethodGet && op == "" {
		if s := vendortest.Pop(&o.lookFail); s != 0 {
			o.failWith(w, s)
			return
		}
		u := o.find(key)
		if u == nil {
			errorBody(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+key+" (User)")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": u.id, "status": u.status, "profile": map[string]any{"login": u.login, "email": u.login}})
		return
	}
	o.calls = append(o.calls, r.Method+" "+r.URL.Path+queryOf(r))
	u := o.users[key] // actions must call by id
	if u == nil {
		errorBody(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+key+" (User)")
		return
	}
	s := vendortest.Pop(&o.fail)
	if s != 0 && !o.acted {
		o.failWith(w, s)
		return
	}
	switch {
	case r.Method == http.MethodPost && op == "lifecycle/suspend":
		if u.status != "ACTIVE" {
			errorBody(w, http.StatusBadRequest, "E0000001", "Api validation failed: Cannot suspend a user that is not active")
			return
		}
		u.status = "SUSPENDED"
	case r.Method == http.MethodPost && op == "lifecycle/unsuspend":
		if u.status != "SUSPENDED" {
			errorBody(w, http.StatusBadRequest, "E0000001", "Api validation failed: Cannot unsuspend a user that is not suspended")
			return
		}
		u.status = "ACTIVE"
	case r.Method == http.MethodDelete && op == "sessions":
		u.sessions = 0
	default:
		o.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if s != 0 {
		o.failWith(w, s) // the change was made, the answer lost
		return
	}
	if op == "sessions" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("{}"))
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

func TestActions(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		with    map[string]any
		token   string
		setup   func(o *org)
		wantErr string
		want    map[string]any
		check   func(t *testing.T, o *org, sl *vendortest.Sleeps)
	}{
		{
			name:   "suspend",
			action: "okta.suspend_user",
			with:   map[string]any{"user": "alice@example.com"},
			want:   map[string]any{"user_id": "00u1", "login": "alice@example.com", "previous_status": "ACTIVE", "status": "SUSPENDED", "changed": true},
			check:  wantCalls("POST /api/v1/users/00u1/lifecycle/suspend"),
		},
		{
			name:   "suspend a suspended user",
			action: "okta.suspend_user",
			with:   map[string]any{"user": "bob@example.com"},
			want:   map[string]any{"user_id": "00u2", "login": "bob@example.com", "previous_status": "SUSPENDED", "status": "SUSPENDED", "changed": false},
			check:  wantCalls(),
		},
		{
			name:    "suspend a deprovisioned user",
			action:  "okta.suspend_user",
			with:    map[string]any{"user": "carol@example.com"},
			wantErr: "suspend user carol@example.com: HTTP 400: Bad Request: Api validation failed: Cannot suspend a user that is not active",
		},
		{
			name:   "unsuspend",
			action: "okta.unsuspend_user",
			with:   map[string]any{"user": "00u2"},
			want:   map[string]any{"user_id": "00u2", "login": "bob@example.com", "previous_status": "SUSPENDED", "status": "ACTIVE", "changed": true},
			check:  wantCalls("POST /api/v1/users/00u2/lifecycle/unsuspend"),
		},
		{
			name:   "unsuspend an active user",
			action: "okta.unsuspend_user",
			with:   map[string]any{"user": "alice@example.com"},
			want:   map[string]any{"user_id": "00u1", "login": "alice@example.com", "previous_status": "ACTIVE", "status": "ACTIVE", "changed": false},
			check:  wantCalls(),
		},
		{
			name:   "clear sessions",
			action: "okta.clear_sessions",
			with:   map[string]any{"user": "alice@example.com", "oauth_tokens": true},
			want:   map[string]any{"user_id": "00u1", "login": "alice@example.com", "previous_status": "ACTIVE", "status": "ACTIVE"},
			check: func(t *testing.T, o *org, sl *vendortest.Sleeps) {
				wantCalls("DELETE /api/v1/users/00u1/sessions?oauthTokens=true")(t, o, sl)
				if o.users["00u1"].sessions != 0 {
					t.Error("sessions not cleared")
				}
			},
		},
		{
			name:    "no such user",
			action:  "okta.suspend_user",
			with:    map[string]any{"user": "mallory@example.com"},
			wantErr: "no Okta user with login mallory@example.com",
			check:   wantCalls(),
		},
		{
			name:    "bad token",
			action:  "okta.suspend_user",
			with:    map[string]any{"user": "alice@example.com"},
			token:   "wrong-token-value",
			wantErr: "look up user alice@example.com: HTTP 401: authentication failed",
			check: func(t *testing.T, o *org, sl *vendortest.Sleeps) {
				if len(sl.Waits()) != 0 {
					t.Errorf("retried a 401: waits %v", sl.Waits())
				}
			},
		},
		{
			name:   "429 with Retry-After",
			action: "okta.suspend_user",
			with:   map[string]any{"user": "alice@example.com"},
			setup:  func(o *org) { o.fail = []int{429} },
			want:   map[string]any{"user_id": "00u1", "login": "alice@example.com", "previous_status": "ACTIVE", "status": "SUSPENDED", "changed": true},
			check:  wantWaits(3 * time.Second),
		},
		{
			name:   "429 with X-Rate-Limit-Reset only",
			action: "okta.clear_sessions",
			with:   map[string]any{"user": "alice@example.com"},
			setup:  func(o *org) { o.fail, o.limitOnly = []int{429}, true },
			want:   map[string]any{"user_id": "00u1", "login": "alice@example.com", "previous_status": "ACTIVE", "status": "ACTIVE"},
			check:  wantWaits(9 * time.Second),
		},
		{
			name:   "5xx on a lookup is retried",
			action: "okta.suspend_user",
			with:   map[string]any{"user": "alice@example.com"},
			setup:  func(o *org) { o.lookFail = []int{503} },
			want:   map[string]any{"user_id": "00u1", "login": "alice@example.com", "previous_status": "ACTIVE", "status": "SUSPENDED", "changed": true},
		},
		{
			name:   "suspend answered 5xx after it worked",
			action: "okta.suspend_user",
			with:   map[string]any{"user": "alice@example.com"},
			setup:  func(o *org) { o.fail, o.acted = []int{502}, true },
			want:   map[string]any{"user_id": "00u1", "login": "alice@example.com", "previous_status": "ACTIVE", "status": "SUSPENDED", "changed": true},
		},
		{
			name:    "5xx that lasts",
			action:  "okta.clear_sessions",
			with:    map[string]any{"user": "alice@example.com"},
			setup:   func(o *org) { o.fail = []int{500, 500, 500, 500} },
			wantErr: "clear sessions of alice@example.com: HTTP 500",
		},
		{name: "no user", action: "okta.suspend_user", with: map[string]any{}, wantErr: "with.user: required input missing", check: noRequest},
		{name: "path in login", action: "okta.suspend_user", with: map[string]any{"user": "../groups/00g1"}, wantErr: "is not an Okta login", check: noRequest},
		{name: "dot dot", action: "okta.suspend_user", with: map[string]any{"user": ".."}, wantErr: "is not an Okta login", check: noRequest},
		{name: "user not text", action: "okta.suspend_user", with: map[string]any{"user": []any{"a"}}, wantErr: "expected text", check: noRequest},
		{name: "oauth_tokens not bool", action: "okta.clear_sessions", with: map[string]any{"user": "alice@example.com", "oauth_tokens": "yes"}, wantErr: "with.oauth_tokens", check: noRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			if tt.setup != nil {
				tt.setup(o)
			}
			tok := tt.token
			if tok == "" {
				tok = token
			}
			sl := &vendortest.Sleeps{}
			c, err := okta.New(okta.Config{OrgURL: o.URL, Token: tok, HTTP: o.Client(), Sleep: sl.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			out, err := vendortest.ActionNamed(t, c.Actions(), tt.action).Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: "warroom-run-1-suspend-1"})
			vendortest.CheckErr(t, err, tt.wantErr, tok)
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("outputs = %v, want %v", out, tt.want)
			}
			if tt.check != nil {
				o.mu.Lock()
				defer o.mu.Unlock()
				tt.check(t, o, sl)
			}
		})
	}
}

func wantCalls(calls ...string) func(*testing.T, *org, *vendortest.Sleeps) {
	return func(t *testing.T, o *org, _ *vendortest.Sleeps) {
		t.Helper()
		if len(calls) == 0 && len(o.calls) == 0 {
			return
		}
		if !reflect.DeepEqual(o.calls, calls) {
			t.Errorf("calls = %q, want %q", o.calls, calls)
		}
	}
}

func wantWaits(d ...time.Duration) func(*testing.T, *org, *vendortest.Sleeps) {
	return func(t *testing.T, _ *org, sl *vendortest.Sleeps) {
		t.Helper()
		sl.Check(t, d)
	}
}

// noRequest checks that invalid inputs were refused before any call,
// lookups included.
func noRequest(t *testing.T, o *org, sl *vendortest.Sleeps) {
	t.Helper()
	if len(o.calls) != 0 {
		t.Errorf("calls for invalid inputs: %q", o.calls)
	}
}

func TestNewNeedsConfig(t *testing.T) {
	for _, cfg := range []okta.Config{
		{Token: token},
		{OrgURL: "https://example.okta.com"},
		{OrgURL: "example.okta.com", Token: token},
	} {
		if _, err := okta.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), token) {
			t.Errorf("error repeats the token: %v", err)
		}
	}
}

func TestSpecs(t *testing.T) {
	c, err := okta.New(okta.Config{OrgURL: "https://example.okta.com", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	user := []string{"user"}
	vendortest.CheckSpecs(t, c.Actions(), "okta.", map[string]vendortest.Spec{
		"okta.suspend_user":   {Destructive: true, Idempotent: true, Required: user},
		"okta.unsuspend_user": {Idempotent: true, Required: user},
		"okta.clear_sessions": {Idempotent: true, Required: user},
	})
}
