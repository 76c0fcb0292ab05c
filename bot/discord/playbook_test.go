package discord_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/warroom-bot/warroom/commands"
)

// fakeEDR is an EDR's containment API: it counts the requests.
type fakeEDR struct {
	*httptest.Server
	mu    sync.Mutex
	hosts []string
}

func newFakeEDR(t *testing.T) *fakeEDR {
	e := &fakeEDR{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Host string }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		e.mu.Lock()
		e.hosts = append(e.hosts, body.Host)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"contained"}`)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *fakeEDR) calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.hosts)
}

// TestContainNeedsALeadsApproval: /contain posts an approval with buttons;
// a non-lead and the requester (four-eyes) are refused, a member holding
// the lead role by its Discord role id approves, and the approval message
// is edited to show the decision.
func TestContainNeedsALeadsApproval(t *testing.T) {
	edr := newFakeEDR(t)
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/playbooks/contain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "contain.yaml"), src, 0o644)
	h := newHarness(t, func(h *harness) {
		// The requester is a lead by user id; the others by Discord role.
		h.perms = commands.Permissions{Roles: map[string][]string{"lead": {"discord:" + h.leadRole, "discord:" + analyst}}}
	}, withPlaybooks(dir, map[string]string{"EDR_URL": edr.URL, "EDR_TOKEN": "edr-secret-token"}))
	h.incident(analyst, general, "new", s("title", "Beaconing from host-42"), s("severity", "high"))
	room := h.room(1).ID
	a := h.command(analyst, room, "contain", s("target", "host-42"), s("reason", "beaconing to 203.0.113.7"))
	if !strings.Contains(a.all(), "Started contain") {
		t.Fatalf("/contain answer: %s", a.all())
	}
	h.deliver()
	approval := h.keyed(1, "approval-1")
	if got := rendered(approval); !strings.Contains(got, "Isolate host-42? Reason: beaconing to 203.0.113.7") {
		t.Fatalf("approval message:\n%s", got)
	}
	if !strings.Contains(approval.Content, "<@&"+h.leadRole+">") || !slices.Equal(approval.AllowedMentions.Roles, []string{h.leadRole}) {
		t.Errorf("the lead role is not pinged: %q %+v", approval.Content, approval.AllowedMentions)
	}
	ids := customIDs(approval.Components)
	if len(ids) != 2 || !strings.HasPrefix(ids[0], "?approval.approve|") || !strings.HasPrefix(ids[1], "?approval.deny|") {
		t.Fatalf("approval buttons = %v", ids)
	}
	approve := strings.TrimPrefix(ids[0], "?")

	for _, tc := range []struct{ user, want string }{
		{analyst, "four-eyes"}, // the requester, though a lead
		{random, "needs role lead"},
	} {
		if got := h.click(tc.user, approval, approve); !got.ephemeral() || !strings.Contains(got.all(), tc.want) {
			t.Errorf("%s's click: %q, want %q", tc.user, got.all(), tc.want)
		}
	}
	if n := len(edr.calls()); n != 0 {
		t.Fatalf("EDR called %d times before a lead approved", n)
	}

	h.click(lead, approval, approve)
	if got := edr.calls(); !slices.Equal(got, []string{"host-42"}) {
		t.Fatalf("EDR requests = %v, want exactly one for host-42", got)
	}
	decided := h.keyed(1, "approval-1")
	if ids := customIDs(decided.Components); len(ids) != 0 || !strings.Contains(rendered(decided), "approved by "+lead) {
		t.Errorf("decided approval still offers %v or hides the decider:\n%s", ids, rendered(decided))
	}
	if got := h.click(lead2, approval, approve); !strings.Contains(got.all(), "Already decided") {
		t.Errorf("replayed click: %q", got.all())
	}
	if n := len(edr.calls()); n != 1 {
		t.Errorf("EDR requests after a second click = %d", n)
	}
	log := strings.Join(h.kinds(1), " ")
	if strings.Count(log, "approval.refused") != 2 || !strings.Contains(log, "approval.approved") {
		t.Errorf("case log: %s", log)
	}
}
