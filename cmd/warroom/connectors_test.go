package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors"
)

func TestUnknownConnectorIsAnError(t *testing.T) {
	cfg := writeConfig(t, `
database: `+filepath.Join(t.TempDir(), "w.db")+`
connectors:
  virustotl: {api_key: vt-key-0123456789}
`)
	_, _, err := runCLI(t, "enrich", "--config", cfg, "45.155.205.233")
	if err == nil || !strings.Contains(err.Error(), "connectors.virustotl: unknown connector (known: abuseipdb, ") {
		t.Errorf("enrich with a misspelt connector: %v", err)
	}
	_, _, err = runCLI(t, "playbook", "validate", "--config", cfg, "testdata/playbooks")
	if err == nil || !strings.Contains(err.Error(), "connectors.virustotl: unknown connector") {
		t.Errorf("playbook validate with a misspelt connector: %v", err)
	}
}

// TestEnrichLeavesAllowlistedAlone: `warroom enrich` never sends the
// organisation's own names and ranges to a source, and says so.
func TestEnrichLeavesAllowlistedAlone(t *testing.T) {
	vt, calls := fakeVirusTotal(t)
	cfg := enrichConfig(t, t.TempDir(), vt.URL, `
enrichment:
  allowlist: [corp-example.com, 45.155.205.0/24]
`)
	out, stderr, err := runCLI(t, "enrich", "--config", cfg, "--json", "www.corp-example.com", "45.155.205.233", "evil-updates.com", "evil-updates.com")
	if err != nil {
		t.Fatalf("enrich: %v\n%s", err, stderr)
	}
	var got []findingJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var f findingJSON
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, f)
	}
	if len(got) != 3 {
		t.Fatalf("want one object per distinct indicator, got:\n%s", out)
	}
	for i, want := range []bool{true, true, false} {
		if got[i].Allowlisted != want || (want && len(got[i].Sources) != 0) {
			t.Errorf("%s: allowlisted %v with sources %+v; want allowlisted %v and, if so, no source", got[i].Value, got[i].Allowlisted, got[i].Sources, want)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("VirusTotal was asked %d times, want once (evil-updates.com only)", n)
	}

	text, _, err := runCLI(t, "enrich", "--config", cfg, "45.155.205.233")
	if err != nil || !strings.Contains(text, "allowlisted (enrichment.allowlist): not looked up") {
		t.Errorf("text output (%v):\n%s", err, text)
	}
}

func TestIOCExtractLeavesAllowlistedOut(t *testing.T) {
	cfg := writeConfig(t, "enrichment:\n  allowlist: [corp-example.com, 10.0.0.0/8]\n")
	var out, errb strings.Builder
	in := strings.NewReader("beacon from 10.1.2.3 (build.corp-example.com) to 45.155.205[.]233\n")
	if err := run(context.Background(), []string{"ioc", "extract", "--config", cfg}, in, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if got, want := strings.TrimSpace(out.String()), `{"type":"ipv4","value":"45.155.205.233"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestVirusTotalQueuesAtFourAMinute: with no rate_limit configured,
// VirusTotal gets its public key's quota: four lookups at once, the fifth
// a minute after the first.
func TestVirusTotalQueuesAtFourAMinute(t *testing.T) {
	cfg, err := config.Parse("warroom.yaml", []byte("connectors:\n  virustotal: {api_key: vt-key-0123456789}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		sources, err := enrichSources(cfg)
		if err != nil || len(sources) != 1 || sources[0].Limit == nil {
			t.Fatalf("sources %+v, %v; want virustotal with a limit", sources, err)
		}
		start := time.Now()
		for i := range 5 {
			if err := sources[0].Limit.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := time.Duration(0)
			if i == 4 {
				want = time.Minute
			}
			if got := time.Since(start); got != want {
				t.Errorf("lookup %d may start after %s, want %s", i+1, got, want)
			}
		}
	})
}

// TestConnectorTimeoutBoundsRequests: connectors.NAME.timeout bounds each
// request of a response connector too, so a firewall or a ticket system
// that stops answering fails the step instead of holding it.
func TestConnectorTimeoutBoundsRequests(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	cfg, err := config.Parse("warroom.yaml", []byte(`
connectors:
  thehive: {api_url: `+hang.URL+`, api_key: thehive-key-0123456789, timeout: 50ms}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := actionRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := reg.Lookup("thehive.create_case")
	if !ok {
		t.Fatal("thehive.create_case is not registered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = a.Run(ctx, connectors.Call{With: map[string]any{"title": "INC-1: beacon"}})
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout") {
		t.Errorf("create_case against a server that never answers: %v, want the client's timeout", err)
	}
}

// TestNftablesNeedsExecAllow: the nftables connector runs nft through
// exec.run, so it is refused at start unless exec.allow lists nft; once
// it does, nftables.block_ip is a destructive action playbooks must
// approve first.
func TestNftablesNeedsExecAllow(t *testing.T) {
	dir := t.TempDir()
	pb := filepath.Join(dir, "playbooks")
	if err := os.MkdirAll(pb, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pb, "block.yaml"), []byte(`name: block
on: {command: block}
inputs:
  ip: {type: string, required: true}
steps:
  - id: block
    uses: nftables.block_ip
    with: {ip: "${{ inputs.ip }}", timeout: 24h}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	without := writeConfig(t, "connectors:\n  nftables: {options: {set: drop4}}\n")
	if _, _, err := runCLI(t, "playbook", "validate", "--config", without, pb); err == nil ||
		!strings.Contains(err.Error(), "connectors.nftables: nftables runs nft through exec.run: add nft to exec.allow") {
		t.Errorf("nftables without nft in exec.allow: %v", err)
	}
	with := writeConfig(t, "exec:\n  allow: [nft]\nconnectors:\n  nftables: {options: {set: drop4}}\n")
	out, _, err := runCLI(t, "playbook", "validate", "--config", with, pb)
	if err == nil || !strings.Contains(out, "nftables.block_ip is destructive: put an approval step before it") {
		t.Errorf("a block without approval validated (%v):\n%s", err, out)
	}
}
