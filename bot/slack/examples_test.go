package slack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/warroom-bot/warroom/commands"
)

// fakeTools answers as a firewall, an identity provider and VirusTotal
// would, and records what was asked of it.
type fakeTools struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string
}

func newFakeTools(t *testing.T) *fakeTools {
	f := &fakeTools{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+r.Header.Get("x-apikey")+" "+string(body))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/blocklist":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"r-17"}`)
		case strings.HasPrefix(r.URL.Path, "/api/v1/users/"):
			if r.Method == http.MethodDelete {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			io.WriteString(w, `{}`)
		case r.URL.Path == "/api/v3/search":
			io.WriteString(w, `{"data":[{"id":"u1","attributes":{"last_analysis_stats":{"malicious":5,"harmless":60}}}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTools) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "\n")
}

// examplesHarness loads every example playbook with its tools pointed at fakes.
func examplesHarness(t *testing.T) (*harness, *fakeTools) {
	tools := newFakeTools(t)
	dir := t.TempDir()
	files, _ := filepath.Glob("../../examples/playbooks/*.yaml")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
	}
	h := newHarness(t, withPerms(commands.Permissions{Roles: map[string][]string{"lead": {"ULEAD"}, "manager": {"UMGR"}}}),
		withPlaybooks(dir, map[string]string{
			"EDR_URL": tools.URL, "EDR_TOKEN": "edr-token-1", "FIREWALL_URL": tools.URL, "FIREWALL_TOKEN": "fw-token-1",
			"IDP_URL": tools.URL, "IDP_TOKEN": "idp-token-1", "VT_API_URL": tools.URL, "VT_API_KEY": "vt-key-1",
		}))
	h.incident("UANALYST", "CGENERAL", "new Intrusion --sev medium")
	return h, tools
}

func (h *harness) approveLatest(t *testing.T, name string) {
	t.Helper()
	a := h.keyed(name)
	h.click("ULEAD", h.room(1).ID, a.TS, "approval.approve", buttonValue(t, a, "approval.approve"))
}

func (h *harness) said(text string) bool {
	for _, m := range h.fake.Messages(h.room(1).ID) {
		if strings.Contains(m.Text+string(m.Blocks), text) {
			return true
		}
	}
	return false
}

func TestExampleBlockIP(t *testing.T) {
	h, tools := examplesHarness(t)
	h.command("UANALYST", h.room(1).ID, "/block-ip", "203.0.113.7 command and control")
	h.deliver()
	if strings.Contains(tools.log(), "blocklist") {
		t.Fatal("blocked before approval")
	}
	h.approveLatest(t, "approval-1")
	if log := tools.log(); !strings.Contains(log, `POST /api/blocklist Bearer fw-token-1 {"address":"203.0.113.7"`) {
		t.Fatalf("firewall calls:\n%s", log)
	}
	if !h.said("Blocked 203.0.113.7 for 24h (firewall rule r-17)") {
		t.Error("the block was not noted")
	}
}

func TestExampleDisableUser(t *testing.T) {
	h, tools := examplesHarness(t)
	h.command("UANALYST", h.room(1).ID, "/disable-user", "alice@example.com phished via fake login page")
	h.deliver()
	h.approveLatest(t, "approval-1")
	log := tools.log()
	for _, want := range []string{"POST /api/v1/users/alice@example.com/lifecycle/suspend SSWS idp-token-1", "DELETE /api/v1/users/alice@example.com/sessions"} {
		if !strings.Contains(log, want) {
			t.Errorf("IdP calls lack %q:\n%s", want, log)
		}
	}
	if in := h.incidentRow(1); in.Status != "contained" {
		t.Errorf("status %q, want contained", in.Status)
	}
	if !h.said("alice@example.com is suspended (approved by slack:ULEAD)") {
		t.Error("the suspension was not told")
	}
}

func TestExamplePhishingTriage(t *testing.T) {
	h, tools := examplesHarness(t)
	r := h.command("UANALYST", h.room(1).ID, "/phish", "https://login.example.com/evil the CFO")
	h.deliver()
	if !strings.Contains(r.all(), "Started phishing-triage") {
		t.Fatalf("answer: %s", r.all())
	}
	if log := tools.log(); !strings.Contains(log, "GET /api/v3/search vt-key-1") {
		t.Fatalf("VirusTotal calls:\n%s", log)
	}
	if in := h.incidentRow(1); in.Severity != "high" {
		t.Errorf("severity %q, want high after a malicious verdict", in.Severity)
	}
	if !h.said("Triage of https://login.example.com/evil done: malicious") {
		t.Error("verdict not told")
	}
	runs, _ := h.db.Runs(context.Background(), 1, 0)
	if runs[0].Status != "succeeded" {
		t.Errorf("run %s: %s", runs[0].Status, runs[0].Error)
	}
	for _, e := range h.entries(1) {
		if strings.Contains(string(e.Body), "vt-key-1") {
			t.Fatalf("the API key reached the case log: %s", e.Body)
		}
	}
}
