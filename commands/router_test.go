package commands

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// TestAssignWebAccount: in the web room an account has a name and no id,
// so "@alice" names it there; a chat platform must send a real mention.
func TestAssignWebAccount(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{})
	r := NewRouter(svc, Permissions{}, slog.New(slog.DiscardHandler))
	in, err := svc.Open(ctx, "local:bob", bot.NewIncident{Title: "Phishing wave"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		platform, user string
		want           string // commander afterwards
		reply          string
	}{
		{"slack", "U1", "", "Mention the new commander"},
		{"local", "bob", "local:alice", "has a new commander"},
	} {
		reply := r.Command(ctx, bot.Request{Platform: tc.platform, User: tc.user, Command: "incident", Text: "assign " + in.Ref() + " @alice"})
		if !strings.Contains(reply.Message.Text, tc.reply) {
			t.Errorf("%s: reply %q, want %q", tc.platform, reply.Message.Text, tc.reply)
		}
		got, err := svc.Get(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Commander != tc.want {
			t.Errorf("%s: commander %q, want %q", tc.platform, got.Commander, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct{ kind, body, want string }{
		{"run.started", `{"playbook":"contain","run":1}`, "playbook contain started"},
		{"run.failed", `{"playbook":"contain","error":"EDR: HTTP 503"}`, "playbook contain failed: EDR: HTTP 503"},
		{"run.succeeded", `{"playbook":"contain","error":""}`, "playbook contain succeeded"},
		{"step.succeeded", `{"step":"isolate","status":"succeeded"}`, "step isolate succeeded"},
		{"step.succeeded", `{"step":"ticket","status":"succeeded","link":"https://example.atlassian.net/browse/SEC-24"}`, "step ticket succeeded: https://example.atlassian.net/browse/SEC-24"},
		{"approval.requested", `{"message":"Isolate host-42?"}`, "approval asked: Isolate host-42?"},
		{"approval.refused", `{"reason":"Not allowed: four-eyes."}`, "Not allowed: four-eyes."},
		{"approval.timed_out", `{"step":"approve"}`, "approval of step approve timed out"},
		{"alert.repeated", `{"title":"Disk full","count":12}`, "repeated: Disk full (12 in all)"},
		{"alert.repeated", `{"title":"Disk full","count":12,"repeats":7}`, "repeated 7 times: Disk full (12 in all)"},
		{"enrichment.result", `{"source":"virustotal","value":"45.155.205.233","verdict":"malicious"}`, "virustotal: 45.155.205.233 malicious"},
		{"enrichment.result", `{"source":"abuseipdb","value":"45.155.205.233","verdict":"unknown","error":"timeout"}`, "abuseipdb: 45.155.205.233 error: timeout"},
		{"command.refused", `{"command":"/contain","needs_role":"lead"}`, "/contain needs role lead"},
		{"something.new", `{"a":1}`, `{"a":1}`},
	} {
		if got := Describe(store.Entry{Kind: tc.kind, Body: []byte(tc.body)}); got != tc.want {
			t.Errorf("Describe(%s %s) = %q, want %q", tc.kind, tc.body, got, tc.want)
		}
	}
}

// TestPrivateIncidentsStayPrivate: named from another channel, a private
// incident answers only its opener, its commander and leads; to anyone
// else it does not exist, and /incident list leaves it out.
func TestPrivateIncidentsStayPrivate(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{})
	r := NewRouter(svc, Permissions{Roles: map[string][]string{"lead": {"slack:ULEAD"}}}, slog.New(slog.DiscardHandler))
	secret, err := svc.Open(ctx, "slack:UOWNER", bot.NewIncident{Title: "Insider case", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Open(ctx, "slack:UOWNER", bot.NewIncident{Title: "Phishing wave"}); err != nil {
		t.Fatal(err)
	}
	ask := func(user, text string) string {
		return r.Command(ctx, bot.Request{Platform: "slack", User: user, Channel: "CGENERAL", Command: "incident", Text: text}).Message.Text
	}
	for _, tc := range []struct {
		user string
		sees bool
	}{{"UOWNER", true}, {"ULEAD", true}, {"UOTHER", false}} {
		reply := ask(tc.user, "timeline "+secret.Ref())
		if hidden := strings.Contains(reply, "INC-1 does not exist"); hidden == tc.sees {
			t.Errorf("%s: timeline of the private incident answered %q", tc.user, reply)
		}
		list := r.Command(ctx, bot.Request{Platform: "slack", User: tc.user, Channel: "CGENERAL", Command: "incident", Text: "list"})
		var all strings.Builder
		for _, f := range list.Message.Fields {
			all.WriteString(f.Label + " " + f.Value + "\n")
		}
		all.WriteString(list.Message.Text)
		if got := strings.Contains(all.String(), "Insider case"); got != tc.sees {
			t.Errorf("%s: /incident list shows the private incident = %v, want %v:\n%s", tc.user, got, tc.sees, all.String())
		}
		if !strings.Contains(all.String(), "Phishing wave") {
			t.Errorf("%s: /incident list lost the public incident:\n%s", tc.user, all.String())
		}
	}
}

// TestTimelineWithholdsRedAnswers: /incident timeline is a chat message,
// so an enrichment answer marked TLP:RED is named but not shown; an
// amber one may be, as the reply goes to one person only.
func TestTimelineWithholdsRedAnswers(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{})
	r := NewRouter(svc, Permissions{}, slog.New(slog.DiscardHandler))
	in, err := svc.Open(ctx, "slack:U1", bot.NewIncident{Title: "Beacon to 45.155.205.233"})
	if err != nil {
		t.Fatal(err)
	}
	err = svc.Record(ctx, func(*store.Tx) ([]bot.Event, error) {
		answer := func(source, verdict, tlp string) bot.Event {
			return bot.Event{IncidentID: in.ID, Actor: bot.System, Kind: "enrichment.result",
				Body: map[string]any{"type": "ipv4", "value": "45.155.205.233", "source": source, "verdict": verdict, "tlp": tlp}}
		}
		return []bot.Event{answer("misp", "malicious", "red"), answer("partner", "suspicious", "amber"), answer("virustotal", "clean", "")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reply := r.Command(ctx, bot.Request{Platform: "slack", User: "U1", Channel: "CGENERAL", Command: "incident", Text: "timeline " + in.Ref()})
	var all strings.Builder
	for _, f := range reply.Message.Fields {
		all.WriteString(f.Label + ": " + f.Value + "\n")
	}
	text := all.String()
	if strings.Contains(text, "misp: 45.155.205.233 malicious") || !strings.Contains(text, "withheld by TLP:RED") {
		t.Errorf("the TLP:RED answer is shown, or not named as withheld:\n%s", text)
	}
	for _, want := range []string{"partner: 45.155.205.233 suspicious", "virustotal: 45.155.205.233 clean"} {
		if !strings.Contains(text, want) {
			t.Errorf("timeline lacks %q:\n%s", want, text)
		}
	}
}
