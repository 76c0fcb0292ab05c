package nftables_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/execrun"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/nftables"
)

// host is a machine with nft (the fake) and a ruleset.
type host struct {
	dir, nft string
}

// newHost links nft to the test binary in a fresh directory and writes a
// ruleset holding the inet filter sets blocklist (IPv4, with intervals and
// timeouts) and blocklist6 (IPv6, intervals only), with one element.
func newHost(t *testing.T) *host {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("nftables is Linux; the fake needs a symbolic link")
	}
	self, err := os.Executable()
	if err != nil {
		t.Skipf("no path to the test binary: %v", err)
	}
	h := &host{dir: t.TempDir()}
	h.nft = filepath.Join(h.dir, "nft")
	if err := os.Symlink(self, h.nft); err != nil {
		t.Fatal(err)
	}
	h.write(t, ruleset{Sets: map[string]*set{
		"inet filter blocklist":  {Type: "ipv4_addr", Flags: []string{"interval", "timeout"}, Elements: map[string]string{"198.51.100.99": ""}},
		"inet filter blocklist6": {Type: "ipv6_addr", Flags: []string{"interval"}, Elements: map[string]string{}},
	}})
	return h
}

func (h *host) write(t *testing.T, rs ruleset) {
	t.Helper()
	b, _ := json.Marshal(rs)
	if err := os.WriteFile(filepath.Join(h.dir, "ruleset.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (h *host) ruleset(t *testing.T) ruleset {
	t.Helper()
	var rs ruleset
	b, err := os.ReadFile(filepath.Join(h.dir, "ruleset.json"))
	if err != nil || json.Unmarshal(b, &rs) != nil {
		t.Fatalf("ruleset: %v", err)
	}
	return rs
}

// calls returns the argument lists nft was run with.
func (h *host) calls(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(h.dir, "calls.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var args []string
		json.Unmarshal(sc.Bytes(), &args)
		out = append(out, args)
	}
	return out
}

func (h *host) connector(t *testing.T, c nftables.Config) *nftables.Connector {
	t.Helper()
	if c.Exec == nil {
		c.Exec = execrun.New([]string{h.nft})
	}
	if c.Program == "" {
		c.Program = h.nft
	}
	n, err := nftables.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestActions(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		with    map[string]any
		cfg     nftables.Config
		want    map[string]any
		wantErr string
		calls   [][]string
		v4, v6  map[string]string // the sets' elements afterwards; nil: unchanged
	}{
		{
			name:   "block an address",
			action: "nftables.block_ip",
			with:   map[string]any{"ip": "203.0.113.7"},
			want:   map[string]any{"ip": "203.0.113.7", "set": "inet filter blocklist", "changed": true},
			calls:  [][]string{{"add", "element", "inet", "filter", "blocklist", "{ 203.0.113.7 }"}},
			v4:     map[string]string{"198.51.100.99": "", "203.0.113.7": ""},
		},
		{
			name:   "block for a day",
			action: "nftables.block_ip",
			with:   map[string]any{"ip": "203.0.113.7", "timeout": "24h"},
			want:   map[string]any{"ip": "203.0.113.7", "set": "inet filter blocklist", "changed": true},
			calls:  [][]string{{"add", "element", "inet", "filter", "blocklist", "{ 203.0.113.7 timeout 1d }"}},
			v4:     map[string]string{"198.51.100.99": "", "203.0.113.7": "1d"},
		},
		{
			name:   "block a network",
			action: "nftables.block_ip",
			with:   map[string]any{"ip": "203.0.113.0/24", "timeout": "90m"},
			want:   map[string]any{"ip": "203.0.113.0/24", "set": "inet filter blocklist", "changed": true},
			calls:  [][]string{{"add", "element", "inet", "filter", "blocklist", "{ 203.0.113.0/24 timeout 1h30m }"}},
			v4:     map[string]string{"198.51.100.99": "", "203.0.113.0/24": "1h30m"},
		},
		{
			name:   "IPv6 goes to the IPv6 set",
			action: "nftables.block_ip",
			with:   map[string]any{"ip": "2001:DB8::7"},
			want:   map[string]any{"ip": "2001:db8::7", "set": "inet filter blocklist6", "changed": true},
			calls:  [][]string{{"add", "element", "inet", "filter", "blocklist6", "{ 2001:db8::7 }"}},
			v6:     map[string]string{"2001:db8::7": ""},
		},
		{
			name:   "blocking a blocked address changes nothing",
			action: "nftables.block_ip",
			with:   map[string]any{"ip": "198.51.100.99"},
			want:   map[string]any{"ip": "198.51.100.99", "set": "inet filter blocklist", "changed": true},
			calls:  [][]string{{"add", "element", "inet", "filter", "blocklist", "{ 198.51.100.99 }"}},
		},
		{
			name:   "unblock",
			action: "nftables.unblock_ip",
			with:   map[string]any{"ip": "198.51.100.99"},
			want:   map[string]any{"ip": "198.51.100.99", "set": "inet filter blocklist", "changed": true},
			calls:  [][]string{{"delete", "element", "inet", "filter", "blocklist", "{ 198.51.100.99 }"}},
			v4:     map[string]string{},
		},
		{
			name:   "unblocking an address the set does not hold succeeds",
			action: "nftables.unblock_ip",
			with:   map[string]any{"ip": "203.0.113.7"},
			want:   map[string]any{"ip": "203.0.113.7", "set": "inet filter blocklist", "changed": false},
			calls: [][]string{
				{"delete", "element", "inet", "filter", "blocklist", "{ 203.0.113.7 }"},
				{"list", "set", "inet", "filter", "blocklist"},
			},
		},
		{
			name:    "unblocking from a set that does not exist fails",
			action:  "nftables.unblock_ip",
			with:    map[string]any{"ip": "203.0.113.7", "set": "nosuch"},
			wantErr: "delete 203.0.113.7 from set inet filter nosuch: ",
			calls: [][]string{
				{"delete", "element", "inet", "filter", "nosuch", "{ 203.0.113.7 }"},
				{"list", "set", "inet", "filter", "nosuch"},
			},
		},
		{
			name:    "a set that does not exist",
			action:  "nftables.block_ip",
			with:    map[string]any{"ip": "203.0.113.7"},
			cfg:     nftables.Config{Set: "drop_list"},
			wantErr: "add 203.0.113.7 to set inet filter drop_list: ",
			calls:   [][]string{{"add", "element", "inet", "filter", "drop_list", "{ 203.0.113.7 }"}},
		},
		{
			name:    "nft's own error is shown",
			action:  "nftables.block_ip",
			with:    map[string]any{"ip": "2001:db8::/32", "timeout": "1h"},
			wantErr: "Operation not supported",
			calls:   [][]string{{"add", "element", "inet", "filter", "blocklist6", "{ 2001:db8::/32 timeout 1h }"}},
		},
		{
			name:    "an IPv6 address in an ip table",
			action:  "nftables.block_ip",
			with:    map[string]any{"ip": "2001:db8::7"},
			cfg:     nftables.Config{Family: "ip"},
			wantErr: "with.ip: 2001:db8::7 does not fit the ip table filter",
		},
		{
			name:    "private address refused before nft runs",
			action:  "nftables.block_ip",
			with:    map[string]any{"ip": "10.1.2.3"},
			wantErr: "private or local range 10.0.0.0/8",
		},
		{
			name:    "nft syntax in the address never reaches nft",
			action:  "nftables.block_ip",
			with:    map[string]any{"ip": "203.0.113.7 }; flush ruleset; add element inet filter blocklist { 8.8.8.8"},
			wantErr: "is not an IP address",
		},
		{
			name:    "nft syntax in the set never reaches nft",
			action:  "nftables.unblock_ip",
			with:    map[string]any{"ip": "203.0.113.7", "set": "blocklist { 8.8.8.8 }"},
			wantErr: "with.set: ",
		},
		{
			name:    "timeout shorter than a second",
			action:  "nftables.block_ip",
			with:    map[string]any{"ip": "203.0.113.7", "timeout": "500ms"},
			wantErr: "with.timeout: 500ms is shorter",
		},
		{
			name:    "nft not in exec.allow",
			action:  "nftables.block_ip",
			with:    map[string]any{"ip": "203.0.113.7"},
			cfg:     nftables.Config{Exec: execrun.New([]string{"/usr/sbin/iptables"})},
			wantErr: "not allowed: add it to exec.allow",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t)
			before := h.ruleset(t)
			a := vendortest.ActionNamed(t, h.connector(t, tt.cfg).Actions(), tt.action)
			out, err := a.Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: "warroom-run-1-block"})
			vendortest.CheckErr(t, err, tt.wantErr)
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("outputs = %v, want %v", out, tt.want)
			}
			if got := h.calls(t); !reflect.DeepEqual(got, tt.calls) {
				t.Errorf("nft ran with %q, want %q", got, tt.calls)
			}
			after := h.ruleset(t)
			for key, want := range map[string]map[string]string{"inet filter blocklist": tt.v4, "inet filter blocklist6": tt.v6} {
				if want == nil {
					want = before.Sets[key].Elements
				}
				if got := after.Sets[key].Elements; !reflect.DeepEqual(got, want) {
					t.Errorf("%s holds %v, want %v", key, got, want)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	run := execrun.New([]string{"nft"})
	for _, tc := range []struct {
		name string
		c    nftables.Config
		want string
	}{
		{"no exec.run", nftables.Config{}, "no exec.run action"},
		{"family", nftables.Config{Exec: run, Family: "arp"}, `family "arp"`},
		{"table", nftables.Config{Exec: run, Table: "filter; flush ruleset"}, "table \"filter; flush ruleset\" is not an nftables name"},
		{"sets", nftables.Config{Exec: run, Set: "a b", Set6: "6"}, "set \"a b\" is not an nftables name (a letter, then letters, digits and _)\nnftables: set6 \"6\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := nftables.New(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error with %q", err, tc.want)
			}
		})
	}
	n, err := nftables.New(nftables.Config{Exec: run})
	if err != nil || n.Program() != "nft" {
		t.Errorf("defaults: %v, program %q", err, n.Program())
	}
}

func TestSpecs(t *testing.T) {
	n, err := nftables.New(nftables.Config{Exec: execrun.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ip := []string{"ip"}
	vendortest.CheckSpecs(t, n.Actions(), "nftables.", map[string]vendortest.Spec{
		"nftables.block_ip":   {Destructive: true, Idempotent: true, Required: ip},
		"nftables.unblock_ip": {Idempotent: true, Required: ip},
	})
}
