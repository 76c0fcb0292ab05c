package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/store"
)

func TestIncidentNewOpensChannel(t *testing.T) {
	h := newHarness(t)
	r := h.command("UANALYST", "CGENERAL", "/incident", "new Phishing wave at finance --sev high")
	if r.status != http.StatusOK || r.ResponseType != "ephemeral" || !strings.Contains(r.Text, "INC-1") {
		t.Fatalf("ack = %d %q %q", r.status, r.ResponseType, r.Text)
	}
	h.deliver()

	ch, ok := h.fake.ChannelByName("inc-1-phishing-wave-at-finance")
	if !ok {
		t.Fatalf("channel not created; channels: %+v", h.fake.Channels())
	}
	for _, u := range []string{"UANALYST", "URESP1", "URESP2"} {
		if !slices.Contains(ch.Members, u) {
			t.Errorf("%s not invited; members %v", u, ch.Members)
		}
	}
	if slices.Contains(ch.Members, "42") {
		t.Errorf("a Discord-only responder was invited on Slack: %v", ch.Members)
	}
	for _, want := range []string{"HIGH", "open", "INC-1"} {
		if !strings.Contains(ch.Topic, want) {
			t.Errorf("topic %q lacks %q", ch.Topic, want)
		}
	}
	summary := h.summary(1)
	for _, want := range []string{"Phishing wave at finance", `"action_id":"incident.take"`, `"action_id":"incident.close"`, "Take command"} {
		if !strings.Contains(string(summary.Blocks), want) {
			t.Errorf("summary lacks %s: %s", want, summary.Blocks)
		}
	}
	if pins := h.fake.Pins(ch.ID); !slices.Contains(pins, summary.TS) {
		t.Errorf("summary %s not pinned; pins %v", summary.TS, pins)
	}
	if got := h.responses(r.responseURL); !strings.Contains(got, "<#"+ch.ID+">") {
		t.Errorf("ephemeral answer lacks the channel link: %s", got)
	}
	if got, want := h.kinds(1), []string{"incident.opened", "room.created"}; !slices.Equal(got, want) {
		t.Errorf("case log = %v, want %v", got, want)
	}
	if e := h.entries(1)[0]; e.Actor != "slack:UANALYST" {
		t.Errorf("opened by %q", e.Actor)
	}
	if rows := h.outbox(store.OutboxPending); len(rows) != 0 {
		t.Errorf("outbox still has %d pending rows", len(rows))
	}
}

func TestUnverifiedRequestsChangeNothing(t *testing.T) {
	form := url.Values{"command": {"/incident"}, "text": {"new Forged"}, "user_id": {"UEVIL"}, "channel_id": {"C1"}}
	body := []byte(form.Encode())
	tests := []struct {
		name   string
		ts     time.Time
		secret string
	}{
		{"forged signature", time.Now(), "not-the-secret"},
		{"six minutes old", time.Now().Add(-6 * time.Minute), signingSecret},
		{"from the future", time.Now().Add(6 * time.Minute), signingSecret},
		{"unsigned", time.Now(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			before := h.fake.CallCount("")
			for _, path := range []string{"/slack/commands", "/slack/interactions", "/slack/events"} {
				res := h.post(path, "application/x-www-form-urlencoded", body, tc.ts, tc.secret)
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", path, res.StatusCode)
				}
			}
			h.deliver()
			if n := h.fake.CallCount("") - before; n != 0 {
				t.Errorf("%d calls reached Slack", n)
			}
			if ins, _ := h.db.Incidents(context.Background(), store.IncidentFilter{}); len(ins) != 0 {
				t.Errorf("incidents written: %+v", ins)
			}
			if rows := h.outbox(store.OutboxPending); len(rows) != 0 {
				t.Errorf("outbox rows written: %d", len(rows))
			}
		})
	}
}

func TestReplayedRequestIsRefused(t *testing.T) {
	h := newHarness(t)
	form := url.Values{"command": {"/incident"}, "text": {"new Once only"}, "user_id": {"U1"}, "channel_id": {"C1"}, "response_url": {h.fake.NewResponseURL()}}
	body := []byte(form.Encode())
	ts := time.Now()
	if res := h.post("/slack/commands", "application/x-www-form-urlencoded", body, ts, signingSecret); res.StatusCode != http.StatusOK {
		t.Fatalf("first: %d", res.StatusCode)
	}
	if res := h.post("/slack/commands", "application/x-www-form-urlencoded", body, ts, signingSecret); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replay: %d, want 401", res.StatusCode)
	}
	if ins, _ := h.db.Incidents(context.Background(), store.IncidentFilter{}); len(ins) != 1 {
		t.Fatalf("incidents = %d, want 1", len(ins))
	}
}

func TestURLVerification(t *testing.T) {
	h := newHarness(t)
	res := h.post("/slack/events", "application/json", []byte(`{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`), time.Now(), signingSecret)
	if got := readAll(t, res.Body); res.StatusCode != 200 || !strings.Contains(got, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
		t.Fatalf("url_verification: %d %s", res.StatusCode, got)
	}
}

func TestIncidentSubcommands(t *testing.T) {
	h := newHarness(t)
	h.incident("UANALYST", "CGENERAL", "new Beaconing from host-42 --sev medium")
	h.incident("UANALYST", "CGENERAL", "new Second incident")
	room := h.room(1).ID
	tests := []struct {
		name    string
		channel string
		text    string
		reply   string                         // substring of the ephemeral answer
		changed bool                           // whether a case-log entry is added
		check   func(t *testing.T, h *harness) // the user-visible effect
	}{
		{"status", room, "status investigating", "INC-1 is now investigating", true, func(t *testing.T, h *harness) {
			if !strings.Contains(h.room(1).Topic, "investigating") {
				t.Errorf("topic %q", h.room(1).Topic)
			}
			if !strings.Contains(string(h.summary(1).Blocks), "investigating") {
				t.Errorf("summary not updated: %s", h.summary(1).Blocks)
			}
		}},
		{"severity", room, "severity critical", "critical", true, func(t *testing.T, h *harness) {
			if !strings.Contains(h.room(1).Topic, "CRITICAL") {
				t.Errorf("topic %q", h.room(1).Topic)
			}
		}},
		{"assign", room, "assign <@ULEAD|lead>", "new commander", true, func(t *testing.T, h *harness) {
			if in := h.incidentRow(1); in.Commander != "slack:ULEAD" {
				t.Errorf("commander %q", in.Commander)
			}
			if !strings.Contains(h.room(1).Topic, "<@ULEAD>") {
				t.Errorf("topic %q", h.room(1).Topic)
			}
		}},
		{"note", room, "note beacon every 60s to 203.0.113.7", "Noted in INC-1", true, func(t *testing.T, h *harness) {
			msgs := h.fake.Messages(room)
			if last := msgs[len(msgs)-1]; !strings.Contains(string(last.Blocks), "beacon every 60s to 203.0.113.7") {
				t.Errorf("note not posted: %s", last.Blocks)
			}
		}},
		{"other incident by id", room, "note INC-2 related to INC-1", "Noted in INC-2", true, func(t *testing.T, h *harness) {
			if k := h.kinds(2); k[len(k)-1] != "note.added" {
				t.Errorf("INC-2 log %v", k)
			}
		}},
		{"show", room, "show", "Beaconing from host-42", false, nil},
		{"timeline", room, "timeline", "status.changed", false, nil},
		{"list anywhere", "CGENERAL", "list", "INC-2", false, nil},
		{"status outside a channel", "CGENERAL", "status contained", "not an incident channel", false, nil},
		{"missing argument", room, "status", "Usage: /incident status", false, nil},
		{"bad status", room, "status done", "unknown status", false, nil},
		{"bad severity", room, "severity urgent", "unknown severity", false, nil},
		{"assign nobody", room, "assign", "Usage: /incident assign", false, nil},
		{"unknown subcommand", room, "explode", "Usage:", false, nil},
		{"same status again", room, "status investigating", "already investigating", false, nil},
		{"no such incident", room, "note INC-99 hello", "INC-99 does not exist", false, nil},
		{"reopen an open one", room, "reopen", "not closed", false, nil},
		{"close", room, "close false positive after all", "INC-1 is closed", true, func(t *testing.T, h *harness) {
			ch := h.room(1)
			if !ch.Archived {
				t.Error("channel not archived")
			}
			msgs := h.fake.Messages(ch.ID)
			if last := msgs[len(msgs)-1]; !strings.Contains(string(last.Blocks), "false positive after all") {
				t.Errorf("final summary not posted before archiving: %s", last.Blocks)
			}
			if strings.Contains(string(h.summary(1).Blocks), "incident.take") {
				t.Error("closed summary still has buttons")
			}
		}},
		{"note on a closed incident", "CGENERAL", "note INC-1 late", "is closed", false, nil},
		{"list hides closed", "CGENERAL", "list", "INC-2", false, func(t *testing.T, h *harness) {}},
		{"reopen", "CGENERAL", "reopen INC-1", "reopened", true, func(t *testing.T, h *harness) {
			ch := h.room(1)
			if ch.Archived || ch.ID == room || ch.Name != "inc-1-beaconing-from-host-42-2" {
				t.Errorf("reopened room = %+v", ch)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.entries(1)) + len(h.entries(2))
			r := h.incident("UANALYST", tc.channel, tc.text)
			if r.status != http.StatusOK || r.ResponseType != "ephemeral" {
				t.Fatalf("ack %d %q", r.status, r.ResponseType)
			}
			if !strings.Contains(r.all(), tc.reply) {
				t.Errorf("reply %q lacks %q", r.all(), tc.reply)
			}
			after := len(h.entries(1)) + len(h.entries(2))
			if changed := after > before; changed != tc.changed {
				t.Errorf("case log grew from %d to %d; want change=%v", before, after, tc.changed)
			}
			if tc.check != nil {
				tc.check(t, h)
			}
		})
	}
	if rows := h.outbox(store.OutboxDead); len(rows) != 0 {
		t.Errorf("dead outbox rows: %+v", rows)
	}
}

func TestListNewestFirst(t *testing.T) {
	h := newHarness(t)
	for _, title := range []string{"first", "second", "third"} {
		h.incident("U1", "CGENERAL", "new "+title)
	}
	r := h.incident("U1", "CGENERAL", "list")
	i3, i2, i1 := strings.Index(r.all(), "INC-3"), strings.Index(r.all(), "INC-2"), strings.Index(r.all(), "INC-1")
	if !(i3 >= 0 && i3 < i2 && i2 < i1) {
		t.Fatalf("list not newest first: %s", r.all())
	}
}

func TestButtons(t *testing.T) {
	h := newHarness(t, withPerms(commands.Permissions{
		Roles:    map[string][]string{"lead": {"ULEAD"}},
		Commands: map[string]string{"incident close": "lead"},
	}))
	h.incident("UANALYST", "CGENERAL", "new Suspicious login")
	ch, summary := h.room(1), h.summary(1)

	h.click("UANALYST", ch.ID, summary.TS, bot.ActionTakeCommand, "1")
	if in := h.incidentRow(1); in.Commander != "slack:UANALYST" {
		t.Fatalf("take command: commander %q", in.Commander)
	}
	if !strings.Contains(rendered(t, h.summary(1)), "*Commander:* <@UANALYST>") {
		t.Errorf("summary does not show the commander: %s", h.summary(1).Blocks)
	}

	rurl := h.click("UANALYST", ch.ID, summary.TS, bot.ActionClose, "1")
	if got := h.responses(rurl); !strings.Contains(got, "needs role lead") {
		t.Errorf("non-lead close answer: %q", got)
	}
	if in := h.incidentRow(1); in.Status == "closed" {
		t.Fatal("a non-lead closed the incident")
	}
	if k := h.kinds(1); k[len(k)-1] != "command.refused" {
		t.Errorf("the refusal is not in the case log: %v", k)
	}

	h.click("ULEAD", ch.ID, summary.TS, bot.ActionClose, "1")
	if in := h.incidentRow(1); in.Status != "closed" {
		t.Fatalf("lead close: status %q", in.Status)
	}
	if !h.room(1).Archived {
		t.Error("channel not archived after close")
	}
}

func TestTitleIsShownLiterally(t *testing.T) {
	h := newHarness(t)
	evil := "<!channel> <@U123> <https://evil.example|click>"
	h.incident("U1", "CGENERAL", "new "+evil+" --sev low")
	ch := h.room(1)
	if ch.Name != "inc-1-channel-u123-https-evil-example-click" {
		t.Errorf("channel name %q", ch.Name)
	}
	for _, m := range h.fake.Messages(ch.ID) {
		for _, tx := range texts(t, m) {
			if tx.kind == "plain_text" {
				continue // Slack never parses plain_text
			}
			for _, bad := range []string{"<!channel>", "<@U123>", "<https://evil.example|click>"} {
				if strings.Contains(tx.text, bad) {
					t.Errorf("%s text carries live markup %s: %q", tx.kind, bad, tx.text)
				}
			}
		}
	}
	summary := h.summary(1)
	var header string
	for _, tx := range texts(t, summary) {
		if tx.kind == "plain_text" && strings.Contains(tx.text, "INC-1 ·") {
			header = tx.text
		}
	}
	if !strings.Contains(header, evil) {
		t.Errorf("header %q does not show the title literally", header)
	}
	if want := "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt;"; !strings.Contains(summary.Text, want) {
		t.Errorf("fallback text %q lacks %q", summary.Text, want)
	}
	if strings.Contains(ch.Topic, "<!channel>") || !strings.Contains(h.room(1).Topic, "LOW") {
		t.Errorf("topic %q", ch.Topic)
	}
}

type textObj struct{ kind, text string }

// rendered joins every text of a message, decoded, as a person would read it.
func rendered(t *testing.T, m fakeslack.Message) string {
	var b strings.Builder
	for _, tx := range texts(t, m) {
		b.WriteString(tx.text + "\n")
	}
	return b.String()
}

// texts collects every text object of a message: the top-level text as
// mrkdwn and each {type, text} object inside its blocks.
func texts(t *testing.T, m fakeslack.Message) []textObj {
	t.Helper()
	out := []textObj{{"mrkdwn", m.Text}}
	var blocks any
	if len(m.Blocks) > 0 {
		if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
			t.Fatalf("blocks: %v", err)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			kind, _ := v["type"].(string)
			if text, ok := v["text"].(string); ok && (kind == "mrkdwn" || kind == "plain_text") {
				out = append(out, textObj{kind, text})
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(blocks)
	return out
}

func TestTakenNameGetsSuffix(t *testing.T) {
	h := newHarness(t)
	// Someone already made the channel the first incident would get.
	h.fake.AddChannel("inc-1-outage", false)
	h.incident("U1", "CGENERAL", "new Outage")
	if ch := h.room(1); ch.Name != "inc-1-outage-2" {
		t.Fatalf("room name %q, want inc-1-outage-2", ch.Name)
	}
}

func TestEnrichRecognisesIndicators(t *testing.T) {
	h := newHarness(t)
	r := h.command("U1", "CGENERAL", "/enrich", "203.0.113[.]7 hxxps://evil.example[.]com/x 10.0.0.5 banana")
	got := r.all()
	for _, want := range []string{"203.0.113.7", "documentation address", "https://evil.example.com/x", "url", "10.0.0.5", "private address", "banana", "not an indicator", "No threat-intel sources"} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	if r := h.command("U1", "CGENERAL", "/enrich", ""); !strings.Contains(r.all(), "Usage: /enrich") {
		t.Errorf("no usage: %s", r.all())
	}
}

func TestIncidentDigestCommand(t *testing.T) {
	h := newHarness(t)
	h.incident("U1", "CGENERAL", "new Ransomware on FS01 --sev critical")
	h.incident("U1", "CGENERAL", "new Phishing --sev low")
	r := h.command("U1", "CGENERAL", "/incident", "digest")
	if r.ResponseType != "ephemeral" || !strings.Contains(r.all(), "2 open") || !strings.Contains(r.all(), "2 opened") ||
		!strings.Contains(r.all(), h.room(1).ID) {
		t.Fatalf("digest: %s %s", r.ResponseType, r.all())
	}
	if i, j := strings.Index(r.all(), "Ransomware"), strings.Index(r.all(), "Phishing"); i < 0 || j < i {
		t.Errorf("the critical incident is not first:\n%s", r.all())
	}
	if r := h.command("U1", "CGENERAL", "/incident", "digest --post"); r.ResponseType != "in_channel" {
		t.Errorf("--post answered %q", r.ResponseType)
	}
	if r := h.command("U1", "CGENERAL", "/incident", "digest now"); !strings.Contains(r.all(), "Usage: /incident digest") {
		t.Errorf("bad argument: %s", r.all())
	}
}
