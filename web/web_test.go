package web

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

func TestHasRole(t *testing.T) {
	has := HasRole(
		[]Account{{Name: "alice", Role: "lead"}, {Name: "admin", Role: AllRoles}},
		[]Token{{Name: "ci", Role: "lead"}, {Name: "plain"}},
	)
	for _, tt := range []struct {
		actor, role string
		want        bool
	}{
		{"local:alice", "lead", true},
		{"local:alice", "analyst", false},
		{"local:admin", "anything", true},
		{"local:mallory", "lead", false},
		{"api:ci", "lead", true},
		{"api:plain", "", false},
		{"api:alice", "lead", false},
		{"slack:alice", "lead", false},
		{"alice", "lead", false},
	} {
		if got := has(context.Background(), tt.actor, tt.role); got != tt.want {
			t.Errorf("HasRole(%q, %q) = %v, want %v", tt.actor, tt.role, got, tt.want)
		}
	}
}

func TestNameIncident(t *testing.T) {
	s := &Server{}
	for _, tt := range []struct{ word, text, want string }{
		{"incident", "status contained", "status INC-4 contained"},
		{"incident", "timeline", "timeline INC-4"},
		{"incident", "status INC-2 contained", "status INC-2 contained"},
		{"incident", "new Phish --sev high", "new Phish --sev high"},
		{"incident", "list", "list"},
		{"playbook", "run contain host-1", "run contain INC-4 host-1"},
		{"playbook", "status", "status INC-4"},
		{"playbook", "list", "list"},
		{"enrich", "203.0.113.7", "203.0.113.7"},
		{"unknown", "x", "x"},
	} {
		if got := s.nameIncident(tt.word, tt.text, "INC-4"); got != tt.want {
			t.Errorf("/%s %s → %q, want %q", tt.word, tt.text, got, tt.want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/incidents/INC-1": "/incidents/INC-1",
		"//evil.example/":  "/",
		"https://evil/":    "/",
		"/\\evil":          "/",
		"/\t/evil.example": "/",
		"/\n/evil.example": "/",
		"":                 "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlainText(t *testing.T) {
	m := bot.Message{Title: "INC-1 · Phish", Actor: "local:alice", Text: "set the status",
		Fields: []bot.Field{{Label: "Commander", User: "slack:U1"}, {Label: "Status", Value: "open"}}, Footer: "by warroom"}
	want := "INC-1 · Phish\nalice set the status\nCommander: U1 (slack)\nStatus: open\nby warroom"
	if got := plainText(m); got != want {
		t.Errorf("PlainText:\n%s\nwant:\n%s", got, want)
	}
}

func TestSessionsExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ss := &sessions{byID: map[string]*session{}, now: func() time.Time { return now }}
	s := ss.create("alice")
	if _, ok := ss.get(s.id); !ok {
		t.Fatal("a new session is unknown")
	}
	now = now.Add(sessionTTL + time.Second)
	if _, ok := ss.get(s.id); ok {
		t.Error("an idle session outlived its TTL")
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(10*time.Second, 3, func() time.Time { return now })
	alice := loginKeys("10.0.0.1", "alice")
	for range 3 {
		if !l.attempt(alice...) {
			t.Fatal("refused before the burst was used")
		}
	}
	if l.attempt(alice...) {
		t.Error("a fourth guess at alice from one address was allowed")
	}
	// The tight limit is on the pair: the same address may still log in as
	// someone else, and alice from elsewhere, so one client behind a shared
	// proxy address cannot lock everyone out.
	if !l.attempt(loginKeys("10.0.0.1", "bob")...) || !l.attempt(loginKeys("10.0.0.2", "alice")...) {
		t.Error("one pair's failures locked out other pairs")
	}
	now = now.Add(10 * time.Second)
	if !l.attempt(alice...) {
		t.Error("no attempt came back after the interval")
	}
	l.succeeded(alice...)
	for range 3 {
		if !l.attempt(alice...) {
			t.Fatal("a successful login did not give a fresh start")
		}
	}
}

// TestLoginLimiterConcurrent: guesses sent all at once are charged before
// any password is checked, so no more than the burst get through.
func TestLoginLimiterConcurrent(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(10*time.Second, 5, func() time.Time { return now })
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for range 60 {
		wg.Go(func() {
			if l.attempt(loginKeys("10.0.0.1", "alice")...) {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Errorf("%d of 60 concurrent guesses were allowed, want 5", n)
	}
}

func TestCanSee(t *testing.T) {
	private := store.Incident{Private: true, CreatedBy: "local:alice", Commander: "slack:U1"}
	for _, tt := range []struct {
		name string
		id   Identity
		in   store.Incident
		want bool
	}{
		{"public", Identity{Platform: "api", Name: "ci"}, store.Incident{CreatedBy: "local:alice"}, true},
		{"opener", Identity{Platform: "local", Name: "alice"}, private, true},
		{"commander", Identity{Platform: "slack", Name: "U1"}, private, true},
		{"lead", Identity{Platform: "local", Name: "bob", Role: privateRole}, private, true},
		{"every role", Identity{Platform: "api", Name: "root", Role: AllRoles}, private, true},
		{"stranger", Identity{Platform: "local", Name: "mallory", Role: "analyst"}, private, false},
		{"same name elsewhere", Identity{Platform: "api", Name: "alice"}, private, false},
		{"no commander", Identity{}, store.Incident{Private: true, CreatedBy: "local:alice"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := canSee(tt.id, tt.in); got != tt.want {
				t.Errorf("canSee = %v, want %v", got, tt.want)
			}
		})
	}
}
