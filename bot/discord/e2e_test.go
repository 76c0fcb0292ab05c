package discord_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/discord"
	"github.com/warroom-bot/warroom/bot/discord/fakediscord"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/store"
)

const general = "1100000000000000001" // a channel outside incidents

// TestCommandsAreRegisteredOnce: every start overwrites the command set in
// one bulk call, for the configured guild or, without guild_id, globally.
func TestCommandsAreRegisteredOnce(t *testing.T) {
	const (
		guildRoute  = "PUT /applications/{app}/guilds/{guild}/commands"
		globalRoute = "PUT /applications/{app}/commands"
	)
	tests := []struct {
		name              string
		opts              []option
		scope, other      string // where the commands must be, and must not
		route, otherRoute string
	}{
		{"guild_id set", nil, fakediscord.GuildID, "", guildRoute, globalRoute},
		{"guild_id unset", []option{withoutGuildID()}, "", fakediscord.GuildID, globalRoute, guildRoute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts...)
			h.restart() // a second start overwrites, it does not add
			var names []string
			for _, c := range h.fake.Commands(tc.scope) {
				names = append(names, c.Name)
			}
			if want := []string{"incident", "contain", "enrich", "playbook"}; !slices.Equal(names, want) {
				t.Fatalf("commands in scope %q = %v, want %v", tc.scope, names, want)
			}
			if n := len(h.fake.Commands(tc.other)); n != 0 {
				t.Errorf("%d commands registered in scope %q as well", n, tc.other)
			}
			if n := len(h.fake.Calls(tc.route)); n != 2 {
				t.Errorf("bulk overwrites (%s) = %d, want one per start", tc.route, n)
			}
			if n := len(h.fake.Calls(tc.otherRoute)); n != 0 {
				t.Errorf("%s called %d times", tc.otherRoute, n)
			}
			// The bot works in its guild either way.
			h.incident(analyst, general, "new", s("title", "Scoped"))
			if _, ok := h.fake.ChannelByName("inc-1-scoped"); !ok {
				t.Error("no incident channel")
			}
		})
	}
}

// TestCommandOptionNames checks the commands as Discord received them:
// option names, types, which are required, and choices, which scripts and
// people rely on.
func TestCommandOptionNames(t *testing.T) {
	h := newHarness(t)
	// name:type, with ! for required and * for an option with choices.
	want := map[string][]string{
		"incident new":      {"title:string!", "severity:string*", "private:boolean"},
		"incident list":     {"all:boolean"},
		"incident show":     {"incident:string"},
		"incident status":   {"status:string!*", "incident:string"},
		"incident severity": {"severity:string!*", "incident:string"},
		"incident assign":   {"user:user!", "incident:string"},
		"incident note":     {"text:string!", "incident:string"},
		"incident close":    {"summary:string", "incident:string"},
		"incident reopen":   {"incident:string"},
		"incident timeline": {"incident:string"},
		"incident report":   {"incident:string", "post:boolean"},
		"incident digest":   {"post:boolean"},
		"contain":           {"target:string!", "reason:string"},
		"enrich":            {"ioc:string!"},
		"playbook list":     {},
		"playbook run":      {"name:string!", "args:string"},
	}
	kinds := map[discordgo.ApplicationCommandOptionType]string{
		discordgo.ApplicationCommandOptionString: "string", discordgo.ApplicationCommandOptionBoolean: "boolean",
		discordgo.ApplicationCommandOptionUser: "user",
	}
	describe := func(opts []*discordgo.ApplicationCommandOption) []string {
		out := []string{}
		for _, o := range opts {
			d := o.Name + ":" + kinds[o.Type]
			if o.Required {
				d += "!"
			}
			if len(o.Choices) > 0 {
				d += "*"
			}
			out = append(out, d)
		}
		return out
	}
	got := map[string][]string{}
	for _, c := range h.fake.Commands(fakediscord.GuildID) {
		if len(c.Options) > 0 && c.Options[0].Type == discordgo.ApplicationCommandOptionSubCommand {
			for _, sc := range c.Options {
				got[c.Name+" "+sc.Name] = describe(sc.Options)
			}
			continue
		}
		got[c.Name] = describe(c.Options)
	}
	for path, opts := range want {
		if g, ok := got[path]; !ok || !slices.Equal(g, opts) {
			t.Errorf("/%s options = %v, want %v", path, g, opts)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected command /%s", path)
		}
	}
	var choices []string
	for _, c := range h.fake.Commands(fakediscord.GuildID) {
		for _, sc := range c.Options {
			for _, o := range sc.Options {
				if len(o.Choices) > 0 {
					var vs []string
					for _, ch := range o.Choices {
						vs = append(vs, ch.Name)
					}
					choices = append(choices, sc.Name+"."+o.Name+"="+strings.Join(vs, ","))
				}
			}
		}
	}
	wantChoices := []string{
		"new.severity=critical,high,medium,low,info",
		"status.status=open,investigating,contained,resolved",
		"severity.severity=critical,high,medium,low,info",
	}
	if !slices.Equal(choices, wantChoices) {
		t.Errorf("choices = %v, want %v", choices, wantChoices)
	}
}

func TestIncidentNewOpensChannel(t *testing.T) {
	h := newHarness(t)
	a := h.incident(analyst, general, "new", s("title", "Phishing wave at finance"), s("severity", "high"))
	if a.status != http.StatusOK || a.Type != discordgo.InteractionResponseChannelMessageWithSource || !a.ephemeral() || !strings.Contains(a.all(), "INC-1") {
		t.Fatalf("answer = %d %v ephemeral=%v %q", a.status, a.Type, a.ephemeral(), a.all())
	}
	ch, ok := h.fake.ChannelByName("inc-1-phishing-wave-at-finance")
	if !ok {
		t.Fatalf("channel not created; channels: %+v", h.fake.Channels())
	}
	if ch.ParentID != h.incCat {
		t.Errorf("channel under %q, want the incident category %q", ch.ParentID, h.incCat)
	}
	for _, want := range []string{"HIGH", "open", "INC-1"} {
		if !strings.Contains(ch.Topic, want) {
			t.Errorf("topic %q lacks %q", ch.Topic, want)
		}
	}
	if n := len(h.fake.Calls("PATCH /channels/{channel}")); n != 0 {
		t.Errorf("the topic was set again after creation (%d edits): Discord allows two in ten minutes", n)
	}
	summary := h.keyed(1, "summary")
	if len(summary.Embeds) != 1 || !strings.Contains(summary.Embeds[0].Title, "INC-1 · Phishing wave at finance") {
		t.Errorf("summary:\n%s", rendered(summary))
	}
	if ids := customIDs(summary.Components); !slices.Equal(ids, []string{"incident.take|1", "?incident.close|1"}) {
		t.Errorf("summary buttons = %v", ids)
	}
	if !slices.Contains(ch.Pins, summary.ID) {
		t.Errorf("summary %s not pinned; pins %v", summary.ID, ch.Pins)
	}
	if got := h.followups(a.token); !strings.Contains(got, "<#"+ch.ID+">") || !strings.HasPrefix(got, "(private) ") {
		t.Errorf("the private follow-up lacks the channel link: %s", got)
	}
	if got, want := h.kinds(1), []string{"incident.opened", "room.created"}; !slices.Equal(got, want) {
		t.Errorf("case log = %v, want %v", got, want)
	}
	if in := h.incidentRow(1); in.CreatedBy != "discord:"+analyst {
		t.Errorf("opened by %q", in.CreatedBy)
	}
	if rows := h.outbox(store.OutboxPending); len(rows) != 0 {
		t.Errorf("outbox still has %d pending rows", len(rows))
	}
}

func TestIncidentSubcommands(t *testing.T) {
	h := newHarness(t)
	h.incident(analyst, general, "new", s("title", "Beaconing from host-42"), s("severity", "medium"))
	h.incident(analyst, general, "new", s("title", "Second incident"))
	room := h.room(1).ID
	tests := []struct {
		name    string
		channel string
		sub     string
		opts    []opt
		reply   string
		check   func(t *testing.T, h *harness)
	}{
		{"status", room, "status", []opt{s("status", "investigating")}, "INC-1 is now investigating", func(t *testing.T, h *harness) {
			if !strings.Contains(h.room(1).Topic, "investigating") {
				t.Errorf("topic %q", h.room(1).Topic)
			}
			if !strings.Contains(rendered(h.keyed(1, "summary")), "investigating") {
				t.Errorf("summary not updated: %s", rendered(h.keyed(1, "summary")))
			}
		}},
		{"severity", room, "severity", []opt{s("severity", "critical")}, "critical", func(t *testing.T, h *harness) {
			if !strings.Contains(h.room(1).Topic, "CRITICAL") {
				t.Errorf("topic %q", h.room(1).Topic)
			}
		}},
		{"assign a user", room, "assign", []opt{u("user", lead)}, "new commander", func(t *testing.T, h *harness) {
			if in := h.incidentRow(1); in.Commander != "discord:"+lead {
				t.Errorf("commander %q", in.Commander)
			}
			msgs := h.fake.Messages(room)
			last := msgs[len(msgs)-1]
			if !strings.Contains(last.Content, "<@"+lead+">") || !slices.Equal(last.AllowedMentions.Users, []string{lead}) {
				t.Errorf("the new commander is not pinged: %q %+v", last.Content, last.AllowedMentions)
			}
		}},
		{"note", room, "note", []opt{s("text", "beacon every 60s to 203.0.113.7")}, "Noted in INC-1", func(t *testing.T, h *harness) {
			msgs := h.fake.Messages(room)
			if last := msgs[len(msgs)-1]; !strings.Contains(rendered(last), "beacon every 60s to 203.0.113.7") {
				t.Errorf("note not posted: %s", rendered(last))
			}
		}},
		{"note on another incident", room, "note", []opt{s("text", "related to INC-1"), s("incident", "inc-2")}, "Noted in INC-2", func(t *testing.T, h *harness) {
			if k := h.kinds(2); k[len(k)-1] != "note.added" {
				t.Errorf("INC-2 log %v", k)
			}
		}},
		{"show", room, "show", nil, "Beaconing from host-42", nil},
		{"show by id elsewhere", general, "show", []opt{s("incident", "2")}, "Second incident", nil},
		{"timeline", room, "timeline", nil, "status.changed", nil},
		{"report", room, "report", nil, "Incident report · INC-1", nil},
		{"list", general, "list", nil, "INC-2", nil},
		{"status outside a channel", general, "status", []opt{s("status", "contained")}, "not an incident channel", nil},
		{"bad incident option", room, "show", []opt{s("incident", "INC-1 status")}, "must look like INC-12", nil},
		{"title that looks like options", general, "new", []opt{s("title", "--private -s low")}, "INC-3", func(t *testing.T, h *harness) {
			if in := h.incidentRow(3); in.Private || in.Severity != "medium" || in.Title != "–private –s low" {
				t.Errorf("title set options: %+v", in)
			}
		}},
		{"close", room, "close", []opt{s("summary", "false positive after all")}, "INC-1 is closed", func(t *testing.T, h *harness) {
			ch := h.room(1)
			if ch.ParentID != h.archCat {
				t.Errorf("closed channel under %q, want the archive category", ch.ParentID)
			}
			locked := false
			for _, o := range ch.Overwrites {
				locked = locked || (o.ID == fakediscord.GuildID && o.Deny&discordgo.PermissionSendMessages != 0)
			}
			if !locked {
				t.Errorf("closed channel is writable: %+v", ch.Overwrites)
			}
			msgs := h.fake.Messages(ch.ID)
			if last := msgs[len(msgs)-1]; !strings.Contains(rendered(last), "false positive after all") {
				t.Errorf("final summary not posted before archiving: %s", rendered(last))
			}
			if ids := customIDs(h.keyed(1, "summary").Components); len(ids) != 0 {
				t.Errorf("closed summary still has buttons %v", ids)
			}
		}},
		{"reopen", general, "reopen", []opt{s("incident", "INC-1")}, "reopened", func(t *testing.T, h *harness) {
			ch := h.room(1)
			if ch.ID == room || ch.Name != "inc-1-beaconing-from-host-42-2" || ch.ParentID != h.incCat {
				t.Errorf("reopened room = %+v", ch)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := h.incident(analyst, tc.channel, tc.sub, tc.opts...)
			if a.status != http.StatusOK || !a.ephemeral() {
				t.Fatalf("answer %d ephemeral=%v", a.status, a.ephemeral())
			}
			if !strings.Contains(a.all(), tc.reply) {
				t.Errorf("reply %q lacks %q", a.all(), tc.reply)
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

func TestCloseDeletesWhenConfigured(t *testing.T) {
	h := newHarness(t, withOnClose(discord.OnCloseDelete))
	h.incident(analyst, general, "new", s("title", "Outage"))
	id := h.room(1).ID
	h.incident(analyst, id, "close", s("summary", "power restored"))
	if _, ok := h.fake.Channel(id); ok {
		t.Fatal("channel still exists after close with on_close delete")
	}
	// The fake keeps a deleted channel's messages: the final summary was
	// posted before the channel went.
	msgs := h.fake.Messages(id)
	if len(msgs) == 0 || !strings.Contains(rendered(msgs[len(msgs)-1]), "power restored") {
		t.Errorf("no final summary before the delete")
	}
	if rows := h.outbox(store.OutboxDead); len(rows) != 0 {
		t.Errorf("dead rows: %+v", rows)
	}
}

func TestPrivateIncidentAdmitsRespondersAndLeadsOnly(t *testing.T) {
	h := newHarness(t)
	h.incident(analyst, general, "new", s("title", "Insider"), b("private", true))
	ch := h.room(1)
	got := map[string]*discordgo.PermissionOverwrite{}
	for _, o := range ch.Overwrites {
		got[o.ID] = o
	}
	if o := got[fakediscord.GuildID]; o == nil || o.Deny&discordgo.PermissionViewChannel == 0 {
		t.Errorf("@everyone can see the private channel: %+v", o)
	}
	for id, kind := range map[string]discordgo.PermissionOverwriteType{
		fakediscord.BotUserID: discordgo.PermissionOverwriteTypeMember, analyst: discordgo.PermissionOverwriteTypeMember,
		resp1: discordgo.PermissionOverwriteTypeMember, h.leadRole: discordgo.PermissionOverwriteTypeRole,
	} {
		if o := got[id]; o == nil || o.Type != kind || o.Allow&discordgo.PermissionViewChannel == 0 {
			t.Errorf("%s not admitted as %v: %+v", id, kind, o)
		}
	}
	if got[random] != nil {
		t.Errorf("an outsider was admitted")
	}
	if summary := h.keyed(1, "summary"); !slices.Contains(h.room(1).Pins, summary.ID) {
		t.Errorf("summary not pinned in the private channel")
	}
	if rows := append(h.outbox(store.OutboxPending), h.outbox(store.OutboxDead)...); len(rows) != 0 {
		t.Fatalf("undelivered calls (Discord refused them?): %+v", rows)
	}

	// Closing archives it read-only and keeps it private.
	h.incident(analyst, ch.ID, "close", s("summary", "contained"))
	closed := h.room(1)
	if closed.ParentID != h.archCat {
		t.Errorf("closed channel under %q, want the archive category", closed.ParentID)
	}
	for _, o := range closed.Overwrites {
		if o.Allow&discordgo.PermissionSendMessages != 0 || o.Deny&discordgo.PermissionSendMessages == 0 {
			t.Errorf("overwrite %s still lets someone write: %+v", o.ID, o)
		}
		if o.ID == fakediscord.GuildID && o.Deny&discordgo.PermissionViewChannel == 0 {
			t.Errorf("the archived channel is visible to everyone: %+v", o)
		}
	}
	if rows := append(h.outbox(store.OutboxPending), h.outbox(store.OutboxDead)...); len(rows) != 0 {
		t.Fatalf("undelivered calls after close: %+v", rows)
	}
}

func TestPing(t *testing.T) {
	h := newHarness(t)
	body := []byte(`{"id":"1","application_id":"` + fakediscord.AppID + `","type":1,"token":"t","version":1}`)
	res := h.post(body, h.key, time.Now())
	var got map[string]any
	json.NewDecoder(res.Body).Decode(&got)
	if res.StatusCode != http.StatusOK || len(got) != 1 || got["type"] != float64(1) {
		t.Fatalf("PING answered %d %v, want {\"type\":1}", res.StatusCode, got)
	}
}

func TestUnverifiedRequestsChangeNothing(t *testing.T) {
	_, otherKey, _ := ed25519.GenerateKey(nil)
	tests := []struct {
		name   string
		forged func(h *harness) ed25519.PrivateKey
		ts     time.Time
		replay bool
	}{
		{"forged signature", func(*harness) ed25519.PrivateKey { return otherKey }, time.Now(), false},
		{"unsigned", func(*harness) ed25519.PrivateKey { return nil }, time.Now(), false},
		{"six minutes old", func(h *harness) ed25519.PrivateKey { return h.key }, time.Now().Add(-6 * time.Minute), false},
		{"from the future", func(h *harness) ed25519.PrivateKey { return h.key }, time.Now().Add(6 * time.Minute), false},
		{"replayed", func(h *harness) ed25519.PrivateKey { return h.key }, time.Now(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			before := len(h.fake.Calls(""))
			body, _ := h.interaction(discordgo.InteractionApplicationCommand, analyst, general, map[string]any{
				"id": "1", "name": "incident", "type": 1, "options": []any{sub("new", s("title", "Forged")).json()}}, nil)
			if tc.replay {
				// The genuine request is served once; the same bytes again are not.
				if res := h.post(body, h.key, tc.ts); res.StatusCode != http.StatusOK {
					t.Fatalf("genuine request: %d", res.StatusCode)
				}
				h.dc.Wait()
				// Ed25519 signatures are deterministic: signing the same
				// bytes at the same second sends the captured request again.
				res := h.post(body, h.key, tc.ts)
				if res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("replay: %d, want 401", res.StatusCode)
				}
				if ins, _ := h.db.Incidents(context.Background(), store.IncidentFilter{}); len(ins) != 1 {
					t.Fatalf("incidents after replay = %d, want 1", len(ins))
				}
				return
			}
			if res := h.post(body, tc.forged(h), tc.ts); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", res.StatusCode)
			}
			h.dc.Wait()
			h.deliver()
			if n := len(h.fake.Calls("")) - before; n != 0 {
				t.Errorf("%d calls reached Discord", n)
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

func TestEveryoneInAlertTitleNeverPings(t *testing.T) {
	h := newHarness(t)
	title := "@everyone @here <@&" + h.leadRole + "> <@" + lead + "> disk full"
	if _, err := h.svc.Ingest(context.Background(), []bot.Alert{{Source: "generic", Fingerprint: "f1", Title: title, Severity: "high"}}); err != nil {
		t.Fatal(err)
	}
	h.deliver()
	// A status change edits the summary; show answers with the title.
	h.incident(analyst, h.room(1).ID, "status", s("status", "investigating"))
	shown := h.incident(analyst, h.room(1).ID, "show")
	if am := shown.Data.AllowedMentions; am == nil || am.Parse == nil || len(am.Parse)+len(am.Roles)+len(am.Users) != 0 {
		t.Errorf("the answer to show allows mentions %+v", am)
	}
	posts := h.fake.Calls("POST /channels/{channel}/messages")
	edits := h.fake.Calls("PATCH /channels/{channel}/messages/{message}")
	if len(posts) == 0 || len(edits) == 0 {
		t.Fatalf("%d posts and %d edits, want some of each", len(posts), len(edits))
	}
	for _, c := range append(posts, edits...) {
		var body struct {
			Content         string                            `json:"content"`
			AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatal(err)
		}
		am := body.AllowedMentions
		if am == nil || am.Parse == nil || len(am.Parse) != 0 || len(am.Roles) != 0 || len(am.Users) != 0 {
			t.Errorf("allowed_mentions = %+v in %s, want parse [] and nobody", am, c.Body)
		}
		if strings.Contains(string(c.Body), "@everyone") || strings.Contains(string(c.Body), "@here") || strings.Contains(body.Content, "<@") {
			t.Errorf("live ping in %s", c.Body)
		}
	}
	if topic := h.room(1).Topic; strings.Contains(topic, "@everyone") {
		t.Errorf("topic %q", topic)
	}
	summary := rendered(h.keyed(1, "summary"))
	if !strings.Contains(summary, `\<@&`+h.leadRole+`\>`) || !strings.Contains(summary, "@\u200beveryone") {
		t.Errorf("the title is not shown inert:\n%s", summary)
	}
}

func TestButtonsNeedTheRole(t *testing.T) {
	// The lead role is given by its Discord role id, as roles: entries may be.
	h := newHarness(t, func(h *harness) {
		h.perms = commands.Permissions{
			Roles:    map[string][]string{"lead": {"discord:" + h.leadRole}},
			Commands: map[string]string{"incident close": "lead"},
		}
	})
	h.incident(analyst, general, "new", s("title", "Suspicious login"))
	summary := h.keyed(1, "summary")

	h.click(analyst, summary, "incident.take|1")
	if in := h.incidentRow(1); in.Commander != "discord:"+analyst {
		t.Fatalf("take command: commander %q", in.Commander)
	}
	if !strings.Contains(rendered(h.keyed(1, "summary")), "<@"+analyst+">") {
		t.Errorf("summary does not show the commander:\n%s", rendered(h.keyed(1, "summary")))
	}

	// Close asks first: Discord has no confirmation dialog.
	a := h.click(analyst, summary, "?incident.close|1")
	if !a.ephemeral() || !strings.Contains(a.all(), "Are you sure?") || !slices.Equal(customIDs(a.Data.Components), []string{"incident.close|1"}) {
		t.Fatalf("confirmation = %+v", a)
	}
	if in := h.incidentRow(1); in.Status == "closed" {
		t.Fatal("closed without confirmation")
	}

	a = h.click(analyst, summary, "incident.close|1")
	if !a.ephemeral() || !strings.Contains(a.all(), "needs role lead") {
		t.Errorf("non-lead close answer: %q", a.all())
	}
	if in := h.incidentRow(1); in.Status == "closed" {
		t.Fatal("a non-lead closed the incident")
	}
	if k := h.kinds(1); k[len(k)-1] != "command.refused" {
		t.Errorf("the refusal is not in the case log: %v", k)
	}

	h.click(lead, summary, "incident.close|1")
	if in := h.incidentRow(1); in.Status != "closed" {
		t.Fatalf("lead close: status %q", in.Status)
	}
	if h.room(1).ParentID != h.archCat {
		t.Error("channel not archived after close")
	}
}

func TestRateLimitedPostIsDeliveredOnce(t *testing.T) {
	h := newHarness(t)
	h.fake.Fail("POST /channels/{channel}/messages", fakediscord.RateLimited(0.25))
	h.incident(analyst, general, "new", s("title", "Outage"))
	ch, _ := h.fake.ChannelByName("inc-1-outage")
	if n := len(h.fake.Messages(ch.ID)); n != 0 {
		t.Fatalf("posted %d messages despite the 429", n)
	}
	pending := h.outbox(store.OutboxPending)
	if len(pending) == 0 || pending[0].Op != string(bot.OpPost) || !pending[0].NextAt.Equal(h.clock.Now().Add(250*time.Millisecond)) {
		t.Fatalf("post not rescheduled after retry_after: %+v", pending)
	}
	h.clock.Advance(250 * time.Millisecond)
	h.deliver()
	if n := len(h.fake.Messages(ch.ID)); n != 1 {
		t.Fatalf("messages after the wait = %d, want 1", n)
	}
	if n := len(h.fake.Calls("POST /channels/{channel}/messages")); n != 2 {
		t.Errorf("message posts = %d, want 2 (one 429, one delivery)", n)
	}
	if n := len(h.room(1).Pins); n != 1 {
		t.Errorf("pins = %d: the pin must follow the delayed post", n)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	h := newHarness(t)
	h.fake.FailTimes("POST /channels/{channel}/messages", 2, fakediscord.HTTPStatus(502))
	h.fake.Fail("POST /guilds/{guild}/channels", fakediscord.HTTPStatus(500))
	h.incident(analyst, general, "new", s("title", "Outage"))
	for i := 0; i < 6 && len(h.outbox(store.OutboxPending)) > 0; i++ {
		h.clock.Advance(10 * time.Minute)
		h.deliver()
	}
	ch, ok := h.fake.ChannelByName("inc-1-outage")
	if !ok || len(h.fake.Messages(ch.ID)) != 1 {
		t.Fatalf("after the outage: channel %v, messages %d", ok, len(h.fake.Messages(ch.ID)))
	}
	if n := len(h.fake.Channels()); n != 3 { // two categories and the room
		t.Errorf("channels = %d", n)
	}
}

func TestPostCutOffByCrashIsNotRepeated(t *testing.T) {
	h := newHarness(t)
	h.fake.Fail("POST /channels/{channel}/messages", fakediscord.RateLimited(1))
	h.incident(analyst, general, "new", s("title", "Outage"))
	row := h.outbox(store.OutboxPending)[0]
	ctx := context.Background()
	if err := h.db.Write(ctx, func(tx *store.Tx) error { _, err := tx.StartAttempt(ctx, row.ID); return err }); err != nil {
		t.Fatal(err)
	}
	// Discord accepted the post; the process died before recording it. The
	// restart comes after Discord's nonce window, so only the footer tag
	// can tell.
	tag := "outbox-" + strconv.FormatInt(row.ID, 10)
	if _, err := h.dc.Post(ctx, bot.RoomRef{Platform: "discord", ID: h.room(1).ID}, bot.Message{Text: "summary", Tag: tag}); err != nil {
		t.Fatal(err)
	}
	h.fake.ExpireNonces()
	h.restart()
	h.clock.Advance(time.Second)
	h.deliver()
	if n := len(h.fake.Messages(h.room(1).ID)); n != 1 {
		t.Fatalf("messages = %d, want 1: the post was repeated", n)
	}
	if n := len(h.room(1).Pins); n != 1 {
		t.Fatalf("pins = %d: the found post must still be pinned", n)
	}
}

func TestNonceDeduplicatesARetriedPost(t *testing.T) {
	h := newHarness(t)
	h.incident(analyst, general, "new", s("title", "Outage"))
	room := bot.RoomRef{Platform: "discord", ID: h.room(1).ID}
	ctx := context.Background()
	first, err := h.dc.Post(ctx, room, bot.Message{Text: "hello", Tag: "outbox-999"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.dc.Post(ctx, room, bot.Message{Text: "hello", Tag: "outbox-999"})
	if err != nil || again.ID != first.ID {
		t.Fatalf("second post = %v %v, want the first message %s back", again, err, first.ID)
	}
}

func TestLostCreateAnswerAdoptsTheChannel(t *testing.T) {
	h := newHarness(t)
	h.fake.Fail("POST /guilds/{guild}/channels", fakediscord.HTTPStatus(502))
	h.incident(analyst, general, "new", s("title", "Outage"))
	// Meanwhile the channel exists under the incident category, as when
	// Discord made it but the answer was lost.
	made := h.fake.AddChannel("inc-1-outage", h.incCat)
	h.clock.Advance(time.Minute)
	h.deliver()
	if ch := h.room(1); ch.ID != made {
		t.Fatalf("room %s (%s), want the adopted %s", ch.ID, ch.Name, made)
	}
	if n := len(h.fake.Channels()); n != 3 {
		t.Fatalf("channels = %d: a twin was created", n)
	}
}

func TestRespondWithExpiredTokenIsGivenUp(t *testing.T) {
	h := newHarness(t)
	err := h.dc.Respond(context.Background(), fakediscord.ExpiredToken, bot.Message{Text: "late"})
	if err == nil || !bot.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
	if strings.Contains(err.Error(), fakediscord.ExpiredToken) {
		t.Errorf("the token leaked into the error: %v", err)
	}
}

func TestEnrichAndPlaybookText(t *testing.T) {
	h := newHarness(t)
	a := h.command(analyst, general, "enrich", s("ioc", "203.0.113[.]7 banana"))
	if got := a.all(); !strings.Contains(got, "203.0.113.7") || !strings.Contains(got, "not an indicator") {
		t.Errorf("enrich answer:\n%s", got)
	}
	a = h.command(analyst, general, "contain", s("target", "host 42"))
	if !strings.Contains(a.all(), "one word") {
		t.Errorf("a two-word target was passed on: %s", a.all())
	}
}
