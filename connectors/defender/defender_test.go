package defender_test

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
	"github.com/warroom-bot/warroom/connectors/defender"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
)

const (
	tenant       = "00000000-1111-2222-3333-444444444444"
	clientID     = "app-client-id"
	clientSecret = "app-client-secret-do-not-leak"
	macA         = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	macB         = "2f6cd0e8f524eee8a13d3a43f529813c95e1dd18"
)

// mde is a fake of Entra ID's token endpoint and the Defender machine API.
// Failures are queued per endpoint: each request pops the next status and
// answers with it.
type mde struct {
	t *testing.T
	*vendortest.Server

	mu          sync.Mutex
	machines    map[string]string // id → computerDnsName
	tokens      int
	valid       string
	tokenFail   []int
	apiFail     []int
	expireFirst bool
	calls       int
	queries     []string
	actions     []map[string]any // "op" and the body
}

func newMDE(t *testing.T) *mde {
	m := &mde{t: t, machines: map[string]string{
		macA: "host-42.corp.example.com",
		macB: "twin.corp.example.com",
		"3f6cd0e8f524eee8a13d3a43f529813c95e1dd19": "twin.corp.example.com",
	}}
	m.Server = vendortest.NewServer(t, m.serve)
	return m
}

func fail(w http.ResponseWriter, status int) {
	vendortest.Fail(w, status, "8", fmt.Sprintf(`{"error":{"code":"Failure%d","message":"failure %d","target":"x"}}`, status, status))
}

func (m *mde) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.URL.Path == "/login/"+tenant+"/oauth2/v2.0/token" {
		if s := vendortest.Pop(&m.tokenFail); s != 0 {
			fail(w, s)
			return
		}
		if r.PostFormValue("grant_type") != "client_credentials" || r.PostFormValue("scope") != "https://api.securitycenter.microsoft.com/.default" {
			m.t.Errorf("token form = %v", r.PostForm)
		}
		if r.PostFormValue("client_id") != clientID || r.PostFormValue("client_secret") != clientSecret {
			vendortest.JSON(w, http.StatusUnauthorized, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`)
			return
		}
		m.tokens++
		m.valid = fmt.Sprintf("eyJ.token-%d", m.tokens)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":%q}`, m.valid)
		return
	}
	m.calls++
	if r.Header.Get("Authorization") != "Bearer "+m.valid || (m.expireFirst && m.valid == "eyJ.token-1") {
		fail(w, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/machines":
		f := r.URL.Query().Get("$filter")
		m.queries = append(m.queries, f)
		var match func(string) bool
		if name, ok := strings.CutPrefix(f, "computerDnsName eq '"); ok && strings.HasSuffix(name, "'") {
			match = func(dns string) bool { return dns == strings.TrimSuffix(name, "'") }
		} else if p, ok := strings.CutPrefix(f, "startswith(computerDnsName,'"); ok && strings.HasSuffix(p, "')") {
			match = func(dns string) bool { return strings.HasPrefix(dns, strings.TrimSuffix(p, "')")) }
		} else {
			m.t.Errorf("filter %q", f)
			return
		}
		found := []map[string]any{}
		for id, dns := range m.machines {
			if match(dns) {
				found = append(found, map[string]any{"id": id, "computerDnsName": dns, "osPlatform": "Windows11", "healthStatus": "Active"})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"@odata.context": "x", "value": found})
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/machines/"):
		if s := vendortest.Pop(&m.apiFail); s != 0 {
			fail(w, s)
			return
		}
		id, op, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/api/machines/"), "/")
		if _, ok := m.machines[id]; !ok {
			fail(w, http.StatusNotFound)
			return
		}
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		body["op"] = op
		m.actions = append(m.actions, body)
		w.WriteHeader(http.StatusCreated)
		typ := map[string]string{"isolate": "Isolate", "unisolate": "Unisolate"}[op]
		fmt.Fprintf(w, `{"id":"b89eb834-4578-496c-8be0-03f004061435","type":%q,"requestor":"app","requestorComment":%q,"status":"Pending","machineId":%q}`, typ, body["Comment"], id)
	default:
		m.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestActions(t *testing.T) {
	ok := map[string]any{"machine_id": macA, "action_id": "b89eb834-4578-496c-8be0-03f004061435", "status": "Pending"}
	tests := []struct {
		name    string
		action  string
		with    map[string]any
		secret  string
		setup   func(m *mde)
		wantErr string
		want    map[string]any
		check   func(t *testing.T, m *mde, sl *vendortest.Sleeps)
	}{
		{
			name:   "isolate by DNS name",
			action: "defender.isolate",
			with:   map[string]any{"host": "host-42.corp.example.com", "comment": "INC-7: ransomware"},
			want:   ok,
			check: func(t *testing.T, m *mde, sl *vendortest.Sleeps) {
				want := []map[string]any{{"op": "isolate", "Comment": "INC-7: ransomware", "IsolationType": "Full"}}
				if !reflect.DeepEqual(m.actions, want) || len(m.queries) != 1 {
					t.Errorf("actions %v, queries %q", m.actions, m.queries)
				}
			},
		},
		{
			name:   "selective isolation of a short name",
			action: "defender.isolate",
			with:   map[string]any{"host": "host-42", "isolation_type": "selective"},
			want:   ok,
			check: func(t *testing.T, m *mde, sl *vendortest.Sleeps) {
				wantQ := []string{"computerDnsName eq 'host-42'", "startswith(computerDnsName,'host-42.')"}
				if !reflect.DeepEqual(m.queries, wantQ) || m.actions[0]["IsolationType"] != "Selective" || m.actions[0]["Comment"] != "Isolated by warroom" {
					t.Errorf("queries %q, actions %v", m.queries, m.actions)
				}
			},
		},
		{
			name:   "unisolate by machine id",
			action: "defender.unisolate",
			with:   map[string]any{"machine_id": strings.ToUpper(macA)},
			want:   ok,
			check: func(t *testing.T, m *mde, sl *vendortest.Sleeps) {
				want := []map[string]any{{"op": "unisolate", "Comment": "Released by warroom"}}
				if !reflect.DeepEqual(m.actions, want) || len(m.queries) != 0 {
					t.Errorf("actions %v, queries %q", m.actions, m.queries)
				}
			},
		},
		{name: "no such machine", action: "defender.isolate", with: map[string]any{"host": "host-43"}, wantErr: "no Defender machine named host-43", check: noAction},
		{name: "two machines", action: "defender.isolate", with: map[string]any{"host": "twin"}, wantErr: "2 Defender machines are named twin", check: noAction},
		{
			name:    "wrong client secret",
			action:  "defender.isolate",
			with:    map[string]any{"host": "host-42"},
			secret:  "wrong-secret-value",
			wantErr: "get token: tenant_id, client_id or client_secret rejected: HTTP 401: authentication failed",
			check: func(t *testing.T, m *mde, sl *vendortest.Sleeps) {
				if m.calls != 0 || len(sl.Waits()) != 0 {
					t.Errorf("%d calls, waits %v", m.calls, sl.Waits())
				}
			},
		},
		{
			name:   "expired token is refreshed once",
			action: "defender.isolate",
			with:   map[string]any{"machine_id": macA},
			setup:  func(m *mde) { m.expireFirst = true },
			want:   ok,
			check: func(t *testing.T, m *mde, sl *vendortest.Sleeps) {
				if m.tokens != 2 || len(m.actions) != 1 {
					t.Errorf("tokens %d, actions %v", m.tokens, m.actions)
				}
			},
		},
		{
			name:    "401 after a fresh token fails",
			action:  "defender.isolate",
			with:    map[string]any{"machine_id": macA},
			setup:   func(m *mde) { m.apiFail = []int{401, 401, 401} },
			wantErr: "isolate machine " + macA + ": HTTP 401: authentication failed",
			check: func(t *testing.T, m *mde, sl *vendortest.Sleeps) {
				if m.tokens != 2 || m.calls != 2 {
					t.Errorf("tokens %d, calls %d", m.tokens, m.calls)
				}
			},
		},
		{
			name:   "429 waits for Retry-After",
			action: "defender.isolate",
			with:   map[string]any{"machine_id": macA},
			setup:  func(m *mde) { m.apiFail = []int{429} },
			want:   ok,
			check: func(t *testing.T, m *mde, sl *vendortest.Sleeps) {
				if !reflect.DeepEqual(sl.Waits(), []time.Duration{8 * time.Second}) {
					t.Errorf("waits %v", sl.Waits())
				}
			},
		},
		{
			name:   "5xx is retried",
			action: "defender.unisolate",
			with:   map[string]any{"machine_id": macA},
			setup:  func(m *mde) { m.apiFail = []int{503} },
			want:   ok,
		},
		{
			name:    "5xx that lasts",
			action:  "defender.isolate",
			with:    map[string]any{"machine_id": macA},
			setup:   func(m *mde) { m.apiFail = []int{500, 500, 500, 500} },
			wantErr: "HTTP 500: Internal Server Error: failure 500",
		},
		{
			name:    "token endpoint 5xx",
			action:  "defender.isolate",
			with:    map[string]any{"machine_id": macA},
			setup:   func(m *mde) { m.tokenFail = []int{503, 503, 503, 503} },
			wantErr: "get token: HTTP 503",
			check:   noAction,
		},
		{name: "no target", action: "defender.isolate", with: map[string]any{}, wantErr: "give host or machine_id", check: noCall},
		{name: "both", action: "defender.isolate", with: map[string]any{"host": "a", "machine_id": macA}, wantErr: "not both", check: noCall},
		{name: "OData injection", action: "defender.isolate", with: map[string]any{"host": "x' or 1 eq 1 or 'a"}, wantErr: "is not a host name", check: noCall},
		{name: "bad machine id", action: "defender.isolate", with: map[string]any{"machine_id": "../../x"}, wantErr: "not a Defender machine id", check: noCall},
		{name: "bad isolation type", action: "defender.isolate", with: map[string]any{"machine_id": macA, "isolation_type": "partial"}, wantErr: "with.isolation_type", check: noCall},
		{name: "comment not text", action: "defender.unisolate", with: map[string]any{"machine_id": macA, "comment": 3}, wantErr: "with.comment: expected text", check: noCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMDE(t)
			if tt.setup != nil {
				tt.setup(m)
			}
			secret := tt.secret
			if secret == "" {
				secret = clientSecret
			}
			sl := &vendortest.Sleeps{}
			c, err := defender.New(defender.Config{TenantID: tenant, ClientID: clientID, ClientSecret: secret,
				APIURL: m.URL, LoginURL: m.URL + "/login", HTTP: m.Client(), Sleep: sl.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			out, err := vendortest.ActionNamed(t, c.Actions(), tt.action).Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: "warroom-run-1-isolate-1"})
			vendortest.CheckErr(t, err, tt.wantErr, secret, "eyJ.")
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("outputs = %v, want %v", out, tt.want)
			}
			if tt.check != nil {
				m.mu.Lock()
				defer m.mu.Unlock()
				tt.check(t, m, sl)
			}
		})
	}
}

func noAction(t *testing.T, m *mde, sl *vendortest.Sleeps) {
	t.Helper()
	if len(m.actions) != 0 {
		t.Errorf("actions taken: %v", m.actions)
	}
}

func noCall(t *testing.T, m *mde, sl *vendortest.Sleeps) {
	t.Helper()
	if m.calls != 0 || m.tokens != 0 {
		t.Errorf("%d calls and %d tokens for invalid inputs", m.calls, m.tokens)
	}
}

func TestTokenCached(t *testing.T) {
	m := newMDE(t)
	c, err := defender.New(defender.Config{TenantID: tenant, ClientID: clientID, ClientSecret: clientSecret,
		APIURL: m.URL, LoginURL: m.URL + "/login", HTTP: m.Client()})
	if err != nil {
		t.Fatal(err)
	}
	a := vendortest.ActionNamed(t, c.Actions(), "defender.isolate")
	for range 3 {
		if _, err := a.Run(context.Background(), connectors.Call{With: map[string]any{"host": "host-42.corp.example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	if m.tokens != 1 {
		t.Errorf("%d tokens for 3 runs", m.tokens)
	}
}

func TestNewNeedsConfig(t *testing.T) {
	for _, cfg := range []defender.Config{
		{ClientID: clientID, ClientSecret: clientSecret},
		{TenantID: tenant, ClientSecret: clientSecret},
		{TenantID: tenant, ClientID: clientID},
		{TenantID: "../evil", ClientID: clientID, ClientSecret: clientSecret},
		{TenantID: tenant, ClientID: clientID, ClientSecret: clientSecret, LoginURL: "login.example"},
	} {
		if _, err := defender.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), clientSecret) {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}

func TestSpecs(t *testing.T) {
	c, err := defender.New(defender.Config{TenantID: tenant, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSpecs(t, c.Actions(), "defender.", map[string]vendortest.Spec{
		"defender.isolate":   {Destructive: true, Idempotent: true},
		"defender.unisolate": {Idempotent: true},
	})
}
