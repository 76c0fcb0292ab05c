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

	"github.com/warroom-bot/warroom/bot/discord/fakediscord"
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

// containStory opens an incident, runs /contain on host-42 in its channel
// as the analyst and returns the approval message it posted. leads is the
// roles: entry for lead.
func containStory(t *testing.T, leads func(h *harness) []string) (*harness, *fakeEDR, fakediscord.Message) {
	t.Helper()
	edr := newFakeEDR(t)
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/playbooks/contain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "contain.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(h *harness) {
		h.perms = commands.Permissions{Roles: map[string][]string{"lead": leads(h)}}
	}, withPlaybooks(dir, map[string]string{"EDR_URL": edr.URL, "EDR_TOKEN": "edr-secret-token"}))
	h.incident(analyst, general, "new", s("title", "Beaconing from host-42"), s("severity", "high"))
	room := h.room(1).ID
	a := h.command(analyst, room, "contain", s("target", "host-42"), s("reason", "beaconing to 203.0.113.7"))
	if !strings.Contains(a.all(), "Started contain") {
		t.Fatalf("/contain answer: %s", a.all())
	}
	h.deliver()
	return h, edr, h.keyed(1, "approval-1")
}

// TestContainNeedsALeadsApproval: /contain posts an approval with buttons;
// a non-lead and the requester (four-eyes) are refused, a member holding
// the lead role by its Discord role id approves, and the approval message
// is edited to show the decision.
func TestContainNeedsALeadsApproval(t *testing.T) {
	// The requester is a lead by user id; the others by Discord role.
	h, edr, approval := containStory(t, func(h *harness) []string { return []string{"discord:" + h.leadRole, "discord:" + analyst} })
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

// TestApprovalDecisions: a lead named by Discord role id or by user id in
// roles: decides; Approve runs the containment once, Deny stops it; the
// message shows the decision without buttons either way.
func TestApprovalDecisions(t *testing.T) {
	tests := []struct {
		name     string
		leads    func(h *harness) []string
		clicker  string
		button   string // "approve" or "deny"
		edrCalls int
		shows    string
		logged   string
	}{
		{"lead by role id approves", func(h *harness) []string { return []string{"discord:" + h.leadRole} },
			lead, "approve", 1, "approved by " + lead, "approval.approved"},
		{"lead by user id approves", func(h *harness) []string { return []string{"discord:" + resp1} },
			resp1, "approve", 1, "approved by " + resp1, "approval.approved"},
		{"lead denies", func(h *harness) []string { return []string{"discord:" + h.leadRole} },
			lead2, "deny", 0, "denied by " + lead2, "approval.denied"},
		{"a member of another role is refused", func(h *harness) []string { return []string{"discord:" + resp1} },
			lead, "approve", 0, "Approval needed", "approval.refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, edr, approval := containStory(t, tc.leads)
			var id string
			for _, c := range customIDs(approval.Components) {
				if strings.HasPrefix(c, "?approval."+tc.button+"|") {
					id = strings.TrimPrefix(c, "?")
				}
			}
			if id == "" {
				t.Fatalf("no %s button in %v", tc.button, customIDs(approval.Components))
			}
			h.click(tc.clicker, approval, id)
			if n := len(edr.calls()); n != tc.edrCalls {
				t.Errorf("EDR requests = %d, want %d", n, tc.edrCalls)
			}
			now := h.keyed(1, "approval-1")
			if !strings.Contains(rendered(now), tc.shows) {
				t.Errorf("approval message lacks %q:\n%s", tc.shows, rendered(now))
			}
			if decided := tc.logged != "approval.refused"; decided == (len(customIDs(now.Components)) != 0) {
				t.Errorf("buttons after the click: %v", customIDs(now.Components))
			}
			if log := strings.Join(h.kinds(1), " "); !strings.Contains(log, tc.logged) {
				t.Errorf("case log lacks %s: %s", tc.logged, log)
			}
		})
	}
}
