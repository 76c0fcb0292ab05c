package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/store"
)

// fakeEDR is an EDR's containment API: it records every request.
type fakeEDR struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []edrRequest
	// failFirst answers that many requests with 503 before succeeding.
	failFirst int
}

type edrRequest struct {
	Path, Auth, Key string
	Body            map[string]any
}

func newFakeEDR(t *testing.T) *fakeEDR {
	e := &fakeEDR{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		e.mu.Lock()
		e.reqs = append(e.reqs, edrRequest{Path: r.Method + " " + r.URL.Path, Auth: r.Header.Get("Authorization"), Key: r.Header.Get("Idempotency-Key"), Body: body})
		fail := len(e.reqs) <= e.failFirst
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"busy"}`)
			return
		}
		io.WriteString(w, `{"status":"contained"}`)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *fakeEDR) requests() []edrRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]edrRequest(nil), e.reqs...)
}

// containHarness opens INC-1 with the example contain playbook loaded.
func containHarness(t *testing.T) (*harness, *fakeEDR, string) {
	t.Helper()
	edr := newFakeEDR(t)
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/playbooks/contain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "contain.yaml"), src, 0o644)
	h := newHarness(t, withPerms(commands.Permissions{Roles: map[string][]string{"lead": {"ULEAD", "ULEAD2", "UANALYST"}}}), withPlaybooks(dir, map[string]string{"EDR_URL": edr.URL, "EDR_TOKEN": "edr-secret-token"}))
	h.incident("UANALYST", "CGENERAL", "new Beaconing from host-42 --sev high")
	room := h.room(1).ID
	r := h.command("UANALYST", room, "/contain", "host-42 beaconing to 203.0.113.7")
	if !strings.Contains(r.all(), "Started contain") {
		t.Fatalf("/contain answer: %s", r.all())
	}
	h.deliver()
	return h, edr, room
}

// keyed returns a keyed message of INC-1 as Slack has it now.
func (h *harness) keyed(name string) fakeslack.Message {
	h.t.Helper()
	ch, ts, err := h.db.Message(context.Background(), "slack", "INC-1/"+name)
	if err != nil {
		h.t.Fatalf("message %s: %v", name, err)
	}
	m, _ := h.fake.Message(ch, ts)
	return m
}

// buttonValue finds the value of the button with the action id.
func buttonValue(t *testing.T, m fakeslack.Message, actionID string) string {
	t.Helper()
	var blocks []map[string]any
	json.Unmarshal(m.Blocks, &blocks)
	for _, b := range blocks {
		els, _ := b["elements"].([]any)
		for _, el := range els {
			e, _ := el.(map[string]any)
			if e["action_id"] == actionID {
				return e["value"].(string)
			}
		}
	}
	return ""
}

// TestRetriesKeepTheIdempotencyKey: a step retried after a failure sends
// the same Idempotency-Key, so an EDR that did act on the first call
// recognises the second as a repeat.
func TestRetriesKeepTheIdempotencyKey(t *testing.T) {
	h, edr, room := containHarness(t)
	edr.mu.Lock()
	edr.failFirst = 1
	edr.mu.Unlock()
	approval := h.keyed("approval-1")
	h.click("ULEAD", room, approval.TS, "approval.approve", buttonValue(t, approval, "approval.approve"))
	reqs := edr.requests()
	if len(reqs) != 2 {
		t.Fatalf("EDR requests = %+v, want a failure and a retry", reqs)
	}
	if reqs[0].Key == "" || reqs[0].Key != reqs[1].Key {
		t.Errorf("idempotency keys %q then %q, want one key for both attempts", reqs[0].Key, reqs[1].Key)
	}
	if p := rendered(t, h.keyed("run-1")); !strings.Contains(p, "✅ Isolate host-42") {
		t.Errorf("the retried step did not succeed:\n%s", p)
	}
}

func TestContainNeedsALeadsApproval(t *testing.T) {
	h, edr, room := containHarness(t)
	progress, approval := h.keyed("run-1"), h.keyed("approval-1")
	if p := rendered(t, progress); !strings.Contains(p, "⏸ approve") || !strings.Contains(p, "waiting for approval") {
		t.Fatalf("progress before approval:\n%s", p)
	}
	if a := rendered(t, approval); !strings.Contains(a, "Isolate host-42? Reason: beaconing to 203.0.113.7") || !strings.Contains(a, "<@ULEAD>") {
		t.Fatalf("approval message:\n%s", a)
	}
	token := buttonValue(t, approval, "approval.approve")
	if token == "" || buttonValue(t, approval, "approval.deny") != token {
		t.Fatalf("approval buttons missing: %s", approval.Blocks)
	}

	for _, tc := range []struct{ user, want string }{
		{"UANALYST", "four-eyes"}, // the requester, though a lead
		{"URANDOM", "needs role lead"},
	} {
		if got := h.responses(h.click(tc.user, room, approval.TS, "approval.approve", token)); !strings.Contains(got, tc.want) {
			t.Errorf("%s's click: %q, want %q", tc.user, got, tc.want)
		}
	}
	if n := len(edr.requests()); n != 0 {
		t.Fatalf("EDR called %d times before a lead approved", n)
	}

	h.click("ULEAD", room, approval.TS, "approval.approve", token)
	reqs := edr.requests()
	if len(reqs) != 1 {
		t.Fatalf("EDR requests = %+v, want exactly one", reqs)
	}
	if r := reqs[0]; r.Path != "POST /contain" || r.Body["host"] != "host-42" || r.Key != "warroom-run-1-isolate" || r.Auth != "Bearer edr-secret-token" {
		t.Errorf("EDR request = %+v", r)
	}
	p := rendered(t, h.keyed("run-1"))
	for _, want := range []string{"finished", "✅ approve", "✅ Isolate host-42", "✅ tell"} {
		if !strings.Contains(p, want) {
			t.Errorf("final progress lacks %q:\n%s", want, p)
		}
	}
	if a := h.keyed("approval-1"); buttonValue(t, a, "approval.approve") != "" || !strings.Contains(rendered(t, a), "approved by ULEAD") {
		t.Errorf("decided approval still offers buttons or hides the decider:\n%s", rendered(t, a))
	}
	said := false
	for _, m := range h.fake.Messages(room) {
		said = said || strings.Contains(m.Text, "host-42 is isolated")
	}
	if !said {
		t.Error("the tell step did not post")
	}

	// A replayed click changes nothing.
	if got := h.responses(h.click("ULEAD2", room, approval.TS, "approval.approve", token)); !strings.Contains(got, "Already decided") {
		t.Errorf("replayed click: %q", got)
	}
	if n := len(edr.requests()); n != 1 {
		t.Errorf("EDR requests after replay = %d", n)
	}
	log := strings.Join(h.kinds(1), " ")
	for _, want := range []string{"run.started", "approval.requested", "approval.refused", "approval.approved", "step.running", "step.succeeded", "run.succeeded"} {
		if !strings.Contains(log, want) {
			t.Errorf("case log lacks %s: %s", want, log)
		}
	}
	if strings.Count(log, "approval.refused") != 2 {
		t.Errorf("refusals recorded: %d", strings.Count(log, "approval.refused"))
	}
	for _, e := range h.entries(1) {
		if strings.Contains(string(e.Body), "edr-secret-token") {
			t.Fatalf("a secret reached the case log: %s %s", e.Kind, e.Body)
		}
	}
}

func TestContainDenied(t *testing.T) {
	h, edr, room := containHarness(t)
	approval := h.keyed("approval-1")
	h.click("ULEAD", room, approval.TS, "approval.deny", buttonValue(t, approval, "approval.deny"))
	if n := len(edr.requests()); n != 0 {
		t.Fatalf("EDR called after a denial")
	}
	if p := rendered(t, h.keyed("run-1")); !strings.Contains(p, "not approved") {
		t.Errorf("progress after denial:\n%s", p)
	}
	if runs, _ := h.db.Runs(context.Background(), 1, 0); runs[0].Status != "denied" {
		t.Errorf("run status %q", runs[0].Status)
	}
}

func TestContainApprovalTimesOut(t *testing.T) {
	h, edr, _ := containHarness(t)
	h.clock.Advance(29 * time.Minute)
	h.engine.Tick(context.Background())
	h.deliver()
	if runs, _ := h.db.Runs(context.Background(), 1, 0); runs[0].Status != "waiting" {
		t.Fatalf("run %q before the 30m timeout", runs[0].Status)
	}
	h.clock.Advance(2 * time.Minute)
	h.engine.Tick(context.Background())
	h.deliver()
	if runs, _ := h.db.Runs(context.Background(), 1, 0); runs[0].Status != "denied" {
		t.Fatalf("run %q after the timeout", runs[0].Status)
	}
	if n := len(edr.requests()); n != 0 {
		t.Fatal("EDR called after a timeout")
	}
	if a := rendered(t, h.keyed("approval-1")); !strings.Contains(a, "denied by timeout") {
		t.Errorf("approval after timeout:\n%s", a)
	}
}

func TestApprovalSurvivesRestart(t *testing.T) {
	h, edr, room := containHarness(t)
	approval := h.keyed("approval-1")
	h.restart()
	h.click("ULEAD", room, approval.TS, "approval.approve", buttonValue(t, approval, "approval.approve"))
	if n := len(edr.requests()); n != 1 {
		t.Fatalf("EDR requests after restart and approval = %d", n)
	}
	if runs, _ := h.db.Runs(context.Background(), 1, 0); runs[0].Status != "succeeded" {
		t.Fatalf("run %q", runs[0].Status)
	}
}

func TestContainUsageAndDryRun(t *testing.T) {
	h, edr, room := containHarness(t)
	if r := h.command("UANALYST", room, "/contain", ""); !strings.Contains(r.all(), "Usage: /contain TARGET") {
		t.Errorf("missing target: %s", r.all())
	}
	r := h.command("UANALYST", room, "/contain", "host-7 --dry-run")
	if !strings.Contains(r.all(), "nothing was called") || !strings.Contains(r.all(), "host-7") || strings.Contains(r.all(), "edr-secret-token") {
		t.Errorf("dry run: %s", r.all())
	}
	h.deliver()
	if runs, _ := h.db.Runs(context.Background(), 1, 0); len(runs) != 1 {
		t.Errorf("a dry run or a usage error started a run: %d runs", len(runs))
	}
	if n := len(edr.requests()); n != 0 {
		t.Errorf("EDR called %d times", n)
	}
	if r := h.command("UANALYST", room, "/playbook", "list"); !strings.Contains(r.all(), "contain · /contain") {
		t.Errorf("playbook list: %s", r.all())
	}
	if r := h.command("UANALYST", room, "/playbook", "status"); !strings.Contains(r.all(), "run 1 · contain") {
		t.Errorf("playbook status: %s", r.all())
	}
	if r := h.command("UANALYST", "CGENERAL", "/contain", "host-7"); !strings.Contains(r.all(), "incident channel") {
		t.Errorf("outside an incident: %s", r.all())
	}
}

func TestAlertStartsMatchingPlaybook(t *testing.T) {
	edr := newFakeEDR(t)
	dir := t.TempDir()
	src, _ := os.ReadFile("../../examples/playbooks/contain.yaml")
	os.WriteFile(filepath.Join(dir, "contain.yaml"), src, 0o644)
	h := newHarness(t, withPerms(commands.Permissions{Roles: map[string][]string{"lead": {"ULEAD"}}}), withPlaybooks(dir, map[string]string{"EDR_URL": edr.URL, "EDR_TOKEN": "edr-secret-token"}))
	// A critical Wazuh alert matches contain's on.alert; a low one does not.
	h.ingest(bot.Alert{Source: "wazuh", Fingerprint: "w1", Status: "firing", Title: "Ransomware behaviour on host-42",
		Severity: "critical", Labels: map[string]string{"host": "host-42"}})
	h.ingest(bot.Alert{Source: "wazuh", Fingerprint: "w2", Status: "firing", Title: "Failed login", Severity: "low",
		Labels: map[string]string{"host": "host-7"}})
	if err := h.engine.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.deliver()
	runs, _ := h.db.Runs(context.Background(), 0, 0)
	if len(runs) != 1 || runs[0].IncidentID != 1 || runs[0].Status != "waiting" || runs[0].Trigger != "alert" {
		t.Fatalf("runs = %+v", runs)
	}
	approval := h.keyed("approval-1")
	if a := rendered(t, approval); !strings.Contains(a, "Isolate host-42?") {
		t.Fatalf("approval for the alert's host:\n%s", a)
	}
	h.click("ULEAD", h.room(1).ID, approval.TS, "approval.approve", buttonValue(t, approval, "approval.approve"))
	if reqs := edr.requests(); len(reqs) != 1 || reqs[0].Body["host"] != "host-42" {
		t.Fatalf("EDR requests = %+v", reqs)
	}
}

func TestCrashDuringUnsafeStepIsReportedNotRepeated(t *testing.T) {
	h, edr, _ := containHarness(t)
	// The state a crash leaves behind: approved, and the POST to the EDR
	// started but never recorded as finished.
	ctx := context.Background()
	now := h.clock.Now()
	err := h.db.Write(ctx, func(tx *store.Tx) error {
		ap, err := tx.ApprovalByToken(ctx, buttonValue(t, h.keyed("approval-1"), "approval.approve"))
		if err != nil {
			return err
		}
		ap.Decision, ap.DecidedBy, ap.DecidedAt, ap.Votes = "approve", "slack:ULEAD", now, []string{"slack:ULEAD"}
		if err := tx.UpdateApproval(ctx, ap); err != nil {
			return err
		}
		for _, s := range []store.RunStep{{RunID: 1, Step: "approve", Status: "succeeded"}, {RunID: 1, Step: "isolate", Status: "running", Attempts: 1, StartedAt: now,
			Inputs: []byte(`{"method":"POST","url":"[env.EDR_URL]/contain","json":{"host":"host-42"}}`)}} {
			if err := tx.SaveRunStep(ctx, s); err != nil {
				return err
			}
		}
		return tx.SetRunStatus(ctx, 1, "running", "", now, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.restart()
	h.deliver()
	if n := len(edr.requests()); n != 0 {
		t.Fatalf("a non-idempotent POST was repeated after the crash: %d calls", n)
	}
	runs, _ := h.db.Runs(ctx, 1, 0)
	if runs[0].Status != "failed" || !strings.Contains(runs[0].Error, "outcome unknown") {
		t.Fatalf("run = %q %q", runs[0].Status, runs[0].Error)
	}
	noted := false
	for _, e := range h.entries(1) {
		noted = noted || (e.Kind == "note.added" && strings.Contains(string(e.Body), "containment of host-42 failed"))
	}
	if !noted {
		t.Error("on_failure did not note the failure")
	}
}

const twoLeads = `name: twolead
on: {command: twolead}
inputs:
  target: {type: string, required: true}
steps:
  - id: approve
    approval:
      roles: [lead]
      required: 2
      timeout: 1h
      escalate: {after: 10m, roles: [manager]}
  - id: isolate
    uses: http.request
    with: {method: POST, url: "${{ env.EDR_URL }}/contain", json: {host: "${{ inputs.target }}"}}
`

func TestTwoApproversAndEscalation(t *testing.T) {
	edr := newFakeEDR(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "twolead.yaml"), []byte(twoLeads), 0o644)
	h := newHarness(t, withPerms(commands.Permissions{Roles: map[string][]string{"lead": {"ULEAD"}, "manager": {"UMGR"}}}), withPlaybooks(dir, map[string]string{"EDR_URL": edr.URL, "EDR_TOKEN": "edr-secret-token"}))
	h.incident("UANALYST", "CGENERAL", "new Worm")
	room := h.room(1).ID
	h.command("UANALYST", room, "/twolead", "host-9")
	h.deliver()
	approval := h.keyed("approval-1")
	token := buttonValue(t, approval, "approval.approve")

	if got := h.responses(h.click("UMGR", room, approval.TS, "approval.approve", token)); !strings.Contains(got, "needs role lead") {
		t.Fatalf("manager before escalation: %q", got)
	}
	if got := h.responses(h.click("ULEAD", room, approval.TS, "approval.approve", token)); !strings.Contains(got, "1 of 2") {
		t.Fatalf("first approval: %q", got)
	}
	if got := h.responses(h.click("ULEAD", room, approval.TS, "approval.approve", token)); !strings.Contains(got, "already approved") {
		t.Fatalf("same lead twice: %q", got)
	}
	if n := len(edr.requests()); n != 0 {
		t.Fatal("ran with one approval of two")
	}

	h.clock.Advance(11 * time.Minute)
	h.engine.Tick(context.Background())
	h.deliver()
	pinged := false
	for _, m := range h.fake.Messages(room) {
		pinged = pinged || (strings.Contains(m.Text, "manager may now approve") && strings.Contains(string(m.Blocks), "UMGR"))
	}
	if !pinged {
		t.Error("managers were not pinged on escalation")
	}
	h.click("UMGR", room, approval.TS, "approval.approve", token)
	if n := len(edr.requests()); n != 1 {
		t.Fatalf("EDR calls after two distinct approvals = %d", n)
	}
}

func TestRoleHeldThroughSlackUserGroup(t *testing.T) {
	edr := newFakeEDR(t)
	dir := t.TempDir()
	src, _ := os.ReadFile("../../examples/playbooks/contain.yaml")
	os.WriteFile(filepath.Join(dir, "contain.yaml"), src, 0o644)
	h := newHarness(t, withPerms(commands.Permissions{Roles: map[string][]string{"lead": {"S0LEADS"}}}),
		withPlaybooks(dir, map[string]string{"EDR_URL": edr.URL, "EDR_TOKEN": "t0ken-edr"}))
	h.fake.SetUserGroup("S0LEADS", "ULEAD")
	h.incident("UANALYST", "CGENERAL", "new Beaconing")
	room := h.room(1).ID
	h.command("UANALYST", room, "/contain", "host-42")
	h.deliver()
	a := h.keyed("approval-1")
	if !strings.Contains(rendered(t, a), "<!subteam^S0LEADS>") {
		t.Errorf("the lead group is not pinged:\n%s", rendered(t, a))
	}
	token := buttonValue(t, a, "approval.approve")
	if got := h.responses(h.click("UOTHER", room, a.TS, "approval.approve", token)); !strings.Contains(got, "needs role lead") {
		t.Fatalf("outsider: %q", got)
	}
	h.click("ULEAD", room, a.TS, "approval.approve", token)
	if n := len(edr.requests()); n != 1 {
		t.Fatalf("a member of the lead group could not approve: %d EDR calls", n)
	}
}

func TestDecidedApprovalResumesAfterRestart(t *testing.T) {
	h, edr, _ := containHarness(t)
	// The decision was committed, then the process stopped before the run went on.
	ctx := context.Background()
	err := h.db.Write(ctx, func(tx *store.Tx) error {
		ap, err := tx.ApprovalByToken(ctx, buttonValue(t, h.keyed("approval-1"), "approval.approve"))
		if err != nil {
			return err
		}
		ap.Decision, ap.DecidedBy, ap.DecidedAt, ap.Votes = "approve", "slack:ULEAD", h.clock.Now(), []string{"slack:ULEAD"}
		return tx.UpdateApproval(ctx, ap)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.restart()
	h.deliver()
	if n := len(edr.requests()); n != 1 {
		t.Fatalf("EDR calls after restart = %d, want 1", n)
	}
	if runs, _ := h.db.Runs(ctx, 1, 0); runs[0].Status != "succeeded" {
		t.Fatalf("run %q", runs[0].Status)
	}
}
