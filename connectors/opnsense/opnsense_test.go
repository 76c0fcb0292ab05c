package opnsense_test

import (
	"context"
	"encoding/base64"
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
	"github.com/warroom-bot/warroom/connectors/opnsense"
)

const (
	key    = "opn-key"
	secret = "opn-secret-do-not-leak"
)

// firewall is a fake OPNsense alias_util API holding alias contents.
// Failures are queued: each request pops the next status and answers it.
type firewall struct {
	t *testing.T
	*vendortest.Server

	mu      sync.Mutex
	aliases map[string]map[string]bool
	fail    []int
	calls   []string // "add blocklist 203.0.113.7"
}

func newFirewall(t *testing.T) *firewall {
	f := &firewall{t: t, aliases: map[string]map[string]bool{"warroom_block": {}, "other": {}}}
	f.Server = vendortest.NewServer(t, f.serve)
	return f
}

func (f *firewall) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":"+secret)) {
		vendortest.JSON(w, http.StatusUnauthorized, `{"status":401,"message":"Authentication Failed"}`)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/firewall/alias_util/")
	op, alias, _ := strings.Cut(rest, "/")
	if !ok || r.Method != http.MethodPost || (op != "add" && op != "delete") || r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("unexpected %s %s (%s)", r.Method, r.URL, r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var body struct {
		Address string `json:"address"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("body: %v", err)
	}
	f.calls = append(f.calls, op+" "+alias+" "+body.Address)
	if s := vendortest.Pop(&f.fail); s != 0 {
		vendortest.Fail(w, s, "2", fmt.Sprintf(`{"status":%d,"message":"failure %d"}`, s, s))
		return
	}
	set, ok := f.aliases[alias]
	if !ok {
		fmt.Fprint(w, `{"status":"failed"}`)
		return
	}
	if op == "add" {
		set[body.Address] = true
	} else {
		delete(set, body.Address)
	}
	fmt.Fprint(w, `{"status":"done"}`)
}

func TestActions(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		with    map[string]any
		secret  string
		fail    []int
		wantErr string
		want    map[string]any
		calls   []string // nil: not checked; empty: none
		waits   []time.Duration
	}{
		{
			name:   "block an address",
			action: "opnsense.block_ip",
			with:   map[string]any{"ip": " 203.0.113.7 "},
			want:   map[string]any{"ip": "203.0.113.7", "alias": "warroom_block", "status": "done"},
			calls:  []string{"add warroom_block 203.0.113.7"},
		},
		{
			name:   "block a network in another alias",
			action: "opnsense.block_ip",
			with:   map[string]any{"ip": "2001:db8:ab::/48", "alias": "other"},
			want:   map[string]any{"ip": "2001:db8:ab::/48", "alias": "other", "status": "done"},
			calls:  []string{"add other 2001:db8:ab::/48"},
		},
		{
			name:   "IPv4-mapped address and /32",
			action: "opnsense.block_ip",
			with:   map[string]any{"ip": "::ffff:198.51.100.9"},
			want:   map[string]any{"ip": "198.51.100.9", "alias": "warroom_block", "status": "done"},
		},
		{
			name:   "private address allowed explicitly",
			action: "opnsense.block_ip",
			with:   map[string]any{"ip": "10.1.2.3", "allow_private": true},
			want:   map[string]any{"ip": "10.1.2.3", "alias": "warroom_block", "status": "done"},
		},
		{
			name:   "unblock a private address",
			action: "opnsense.unblock_ip",
			with:   map[string]any{"ip": "192.168.1.0/24"},
			want:   map[string]any{"ip": "192.168.1.0/24", "alias": "warroom_block", "status": "done"},
			calls:  []string{"delete warroom_block 192.168.1.0/24"},
		},
		{
			name:    "unknown alias",
			action:  "opnsense.block_ip",
			with:    map[string]any{"ip": "203.0.113.7", "alias": "nope"},
			wantErr: `add 203.0.113.7 to alias nope: OPNsense answered status "failed"`,
		},
		{
			name:    "wrong secret",
			action:  "opnsense.block_ip",
			with:    map[string]any{"ip": "203.0.113.7"},
			secret:  "wrong-secret",
			wantErr: "HTTP 401: authentication failed",
			waits:   []time.Duration{},
		},
		{
			name:   "429 with Retry-After",
			action: "opnsense.block_ip",
			with:   map[string]any{"ip": "203.0.113.7"},
			fail:   []int{429},
			want:   map[string]any{"ip": "203.0.113.7", "alias": "warroom_block", "status": "done"},
			waits:  []time.Duration{2 * time.Second},
		},
		{
			name:   "5xx is retried",
			action: "opnsense.unblock_ip",
			with:   map[string]any{"ip": "203.0.113.7"},
			fail:   []int{502},
			want:   map[string]any{"ip": "203.0.113.7", "alias": "warroom_block", "status": "done"},
		},
		{
			name:    "5xx that lasts",
			action:  "opnsense.block_ip",
			with:    map[string]any{"ip": "203.0.113.7"},
			fail:    []int{500, 500, 500, 500},
			wantErr: "add 203.0.113.7 to alias warroom_block: HTTP 500",
		},
		{name: "no ip", action: "opnsense.block_ip", with: map[string]any{}, wantErr: "with.ip: required input missing", calls: []string{}},
		{name: "not an ip", action: "opnsense.block_ip", with: map[string]any{"ip": "evil.example.com"}, wantErr: "is not an IP address", calls: []string{}},
		{name: "host bits set", action: "opnsense.block_ip", with: map[string]any{"ip": "203.0.113.7/24"}, wantErr: "the network is 203.0.113.0/24", calls: []string{}},
		{name: "zone", action: "opnsense.block_ip", with: map[string]any{"ip": "fe80::1%eth0"}, wantErr: "is not an IP address", calls: []string{}},
		{name: "loopback", action: "opnsense.block_ip", with: map[string]any{"ip": "127.0.0.1"}, wantErr: "allow_private", calls: []string{}},
		{name: "private", action: "opnsense.block_ip", with: map[string]any{"ip": "172.20.1.1"}, wantErr: "private or local range 172.16.0.0/12", calls: []string{}},
		{name: "network over private", action: "opnsense.block_ip", with: map[string]any{"ip": "172.0.0.0/8"}, wantErr: "allow_private", calls: []string{}},
		{name: "ULA", action: "opnsense.block_ip", with: map[string]any{"ip": "fd00::5"}, wantErr: "allow_private", calls: []string{}},
		{name: "too wide", action: "opnsense.block_ip", with: map[string]any{"ip": "0.0.0.0/0", "allow_private": true}, wantErr: "too wide", calls: []string{}},
		{name: "bad alias", action: "opnsense.block_ip", with: map[string]any{"ip": "203.0.113.7", "alias": "../x"}, wantErr: "with.alias", calls: []string{}},
		{name: "allow_private not bool", action: "opnsense.block_ip", with: map[string]any{"ip": "10.0.0.1", "allow_private": "true"}, wantErr: "with.allow_private", calls: []string{}},
		{name: "ip not text", action: "opnsense.unblock_ip", with: map[string]any{"ip": 7}, wantErr: "with.ip: expected text", calls: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFirewall(t)
			f.fail = tt.fail
			sec := tt.secret
			if sec == "" {
				sec = secret
			}
			sl := &vendortest.Sleeps{}
			c, err := opnsense.New(opnsense.Config{URL: f.URL, Key: key, Secret: sec, Alias: "warroom_block", HTTP: f.Client(), Sleep: sl.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			out, err := vendortest.ActionNamed(t, c.Actions(), tt.action).Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: "warroom-run-1-block-1"})
			vendortest.CheckErr(t, err, tt.wantErr, sec)
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("outputs = %v, want %v", out, tt.want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if tt.calls != nil && !(len(tt.calls) == 0 && len(f.calls) == 0) && !reflect.DeepEqual(f.calls, tt.calls) {
				t.Errorf("calls = %q, want %q", f.calls, tt.calls)
			}
			if tt.waits != nil {
				sl.Check(t, tt.waits)
			}
		})
	}
}

func TestNoAliasConfigured(t *testing.T) {
	c, err := opnsense.New(opnsense.Config{URL: "http://127.0.0.1:1", Key: key, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = vendortest.ActionNamed(t, c.Actions(), "opnsense.block_ip").Run(context.Background(), connectors.Call{With: map[string]any{"ip": "203.0.113.7"}})
	if err == nil || !strings.Contains(err.Error(), "no default alias") {
		t.Errorf("error = %v", err)
	}
}

func TestNewNeedsConfig(t *testing.T) {
	for _, cfg := range []opnsense.Config{
		{Key: key, Secret: secret},
		{URL: "https://fw", Secret: secret},
		{URL: "https://fw", Key: key},
		{URL: "fw", Key: key, Secret: secret},
		{URL: "https://fw", Key: key, Secret: secret, Alias: "bad alias"},
	} {
		if _, err := opnsense.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}

func TestSpecs(t *testing.T) {
	c, err := opnsense.New(opnsense.Config{URL: "https://fw", Key: key, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	ip := []string{"ip"}
	vendortest.CheckSpecs(t, c.Actions(), "opnsense.", map[string]vendortest.Spec{
		"opnsense.block_ip":   {Destructive: true, Idempotent: true, Required: ip},
		"opnsense.unblock_ip": {Idempotent: true, Required: ip},
	})
}
