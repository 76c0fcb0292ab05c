package slack_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// intel judges one address malicious and everything else clean.
type intel struct{}

func (intel) Name() string                    { return "intel" }
func (intel) Supports(ind ioc.Indicator) bool { return ind.Type == ioc.TypeIPv4 }
func (intel) Lookup(_ context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if ind.Value == "45.155.205.233" {
		return enrich.Result{Verdict: enrich.Malicious, Score: 95, Reason: "Cobalt Strike C2"}, nil
	}
	return enrich.Result{Verdict: enrich.Clean, Score: 0}, nil
}

// TestEnrichmentOffersPlaybooks: the enrichment message of a new incident
// names the verdict and offers the playbook that acts on the malicious
// address; clicking it starts the playbook, whose approval still applies.
func TestEnrichmentOffersPlaybooks(t *testing.T) {
	edr := newFakeEDR(t)
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/playbooks/block-ip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "block-ip.yaml"), src, 0o644)
	h := newHarness(t,
		withPerms(commands.Permissions{Roles: map[string][]string{"lead": {"ULEAD"}, "manager": {"UMGR"}}}),
		withPlaybooks(dir, map[string]string{"FIREWALL_URL": edr.URL, "FIREWALL_TOKEN": "fw-token"}),
		withEnrichment(enrich.Configured{Source: intel{}}))
	h.incident("UANALYST", "CGENERAL", "new Beacon from host-42 to 45.155.205[.]233 --sev high")

	msg := h.keyed("enrichment")
	text := rendered(t, msg)
	for _, want := range []string{"45.155.205.233 — MALICIOUS", "intel: malicious (95) Cobalt Strike C2"} {
		if !strings.Contains(text, want) {
			t.Fatalf("enrichment message lacks %q:\n%s", want, text)
		}
	}
	value := buttonValue(t, msg, commands.ActionRunPlaybook)
	if value != "block-ip|INC-1|45.155.205.233" {
		t.Fatalf("playbook button value %q in:\n%s", value, msg.Blocks)
	}

	room := h.room(1).ID
	rurl := h.click("UANALYST", room, msg.TS, commands.ActionRunPlaybook, value)
	if got := h.responses(rurl); !strings.Contains(got, "Started block-ip") {
		t.Fatalf("click answer: %s", got)
	}
	if a := rendered(t, h.keyed("approval-1")); !strings.Contains(a, "Block 45.155.205.233") {
		t.Fatalf("the run does not wait for a lead's approval:\n%s", a)
	}
}
