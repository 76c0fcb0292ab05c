package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRenderGolden(t *testing.T) {
	room := &bot.RoomRef{Platform: "discord", ID: "1100000000000000042", Name: "inc-7-ransomware"}
	roles := RoleSet{"300000000000000001": true}
	tests := map[string]bot.Message{
		"summary": {
			Title: "INC-7 · Ransomware on FS01", Severity: "critical",
			Fields: []bot.Field{
				{Label: "Severity", Value: "critical"}, {Label: "Status", Value: "investigating"},
				{Label: "Commander", User: "discord:200000000000000002"}, {Label: "Opened by", User: "slack:UALICE"},
			},
			Buttons: []bot.Button{
				{ID: bot.ActionTakeCommand, Label: "Take command", Value: "7", Style: bot.StylePrimary},
				{ID: bot.ActionClose, Label: "Close", Value: "7", Style: bot.StyleDanger, Confirm: "Close INC-7 and archive this channel?"},
			},
		},
		"approval": {
			Title: "⏸ Approval needed · contain", Text: "Isolate host-42? Reason: beaconing",
			Fields: []bot.Field{
				{Label: "Requested by", Value: "200000000000000001"}, {Label: "Who may approve", Value: "lead"},
				{Label: "Expires", Value: "2026-11-22 09:30 UTC"},
			},
			Mentions: []string{"discord:300000000000000001", "discord:200000000000000002", "slack:ULEAD"},
			Buttons: []bot.Button{
				{ID: "approval.approve", Label: "Approve", Value: "0123456789abcdef0123456789abcdef", Style: bot.StylePrimary, Confirm: "Approve: Isolate host-42?"},
				{ID: "approval.deny", Label: "Deny", Value: "0123456789abcdef0123456789abcdef", Style: bot.StyleDanger, Confirm: "Deny and stop contain?"},
			},
		},
		"enrichment": {
			Title:  "Indicators",
			Footer: "No threat-intel sources are connected yet: this says what each indicator is, not whether it is malicious.",
			Fields: []bot.Field{
				{Label: "203.0.113.7", Value: "ipv4, documentation address: never looked up outside"},
				{Label: "https://evil.example.com/x", Value: "url"},
				{Label: "44d88612fea8a8f36de82e1278abb02f", Value: "md5"},
			},
			Links: []bot.Link{{Text: "VirusTotal", URL: "https://www.virustotal.com/gui/file/44d88612fea8a8f36de82e1278abb02f"}, {Text: "room", Room: room}},
			Tag:   "outbox-12",
		},
		"untrusted": {
			Title: "@everyone pwned <@&300000000000000001>", Text: "<@123> [click](https://evil.example) **bold** `code` ||spoiler||\n# heading\n> quote",
			Fields: []bot.Field{{Label: "<b>", Value: "@here"}, {Label: "empty"}},
			Links:  []bot.Link{{Text: "evil](javascript:x)", URL: "javascript:alert(1)"}, {Text: "ok", URL: "https://example.com/a?b=1&c=2"}, {Text: "paren", URL: "https://example.com/a)(b"}},
			Footer: "@everyone",
		},
		"progress": {
			Title: "▶ contain · run 3", Footer: "started by 200000000000000001",
			Fields: []bot.Field{
				{Label: "✅ approve: Isolate host-42?", Value: "succeeded"},
				{Label: "⏳ isolate: http.request POST https://edr.example/contain", Value: "running"},
				{Label: "▫️ tell", Value: "pending"},
				{Label: "❌ notify_pager", Value: "failed: HTTP 503 from https://pager.example/v2/enqueue after 3 attempts, the last at 09:14:07 UTC"},
			},
			Tag: "outbox-31",
		},
		"announcement": {Actor: "discord:200000000000000001", Text: "handed command to", Mentions: []string{"discord:200000000000000002"}},
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := roles.Render(msg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep the golden files readable
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if string(want) != buf.String() {
				t.Errorf("Discord payload for %s changed:\n%s\nwant:\n%s", name, buf.Bytes(), want)
			}
		})
	}
}

func TestRenderRefusesLongCustomID(t *testing.T) {
	_, err := Render(bot.Message{Text: "x", Buttons: []bot.Button{{ID: "approval.approve", Label: "Approve", Value: strings.Repeat("a", 90)}}})
	if !errors.Is(err, ErrCustomIDTooLong) {
		t.Fatalf("err = %v, want ErrCustomIDTooLong", err)
	}
}

func TestCustomIDRoundTrip(t *testing.T) {
	tests := []bot.Button{
		{ID: "incident.close", Value: "7"},
		{ID: "incident.close", Value: "7", Confirm: "sure?"},
		{ID: "approval.approve", Value: "a|b|c"},
		{ID: "x", Value: ""},
	}
	for _, b := range tests {
		id, err := CustomID(b)
		if err != nil {
			t.Fatal(err)
		}
		action, value, confirm, err := ParseCustomID(id)
		if err != nil || action != b.ID || value != b.Value || confirm != (b.Confirm != "") {
			t.Errorf("%+v → %q → %q %q %v %v", b, id, action, value, confirm, err)
		}
	}
	for _, bad := range []bot.Button{{ID: "a|b"}, {ID: ""}, {ID: "?x"}} {
		if _, err := CustomID(bad); err == nil {
			t.Errorf("CustomID(%+v) accepted", bad)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"@everyone look", "@\u200beveryone look"},
		{"ping @here", "ping @\u200bhere"},
		{"<@123> <@&45> <#67>", `\<@123\> \<@&45\> \<#67\>`},
		{"[x](https://e.example)", `\[x\](https://e.example)`},
		{"*a* _b_ ~c~ `d` |e|", "\\*a\\* \\_b\\_ \\~c\\~ \\`d\\` \\|e\\|"},
		{"# h\n- l\n  -# s", "\\# h\n\\- l\n  \\-# s"},
		{`back\slash`, `back\\slash`},
		{"host-42 at 10:00", "host-42 at 10:00"},
	}
	for _, tc := range tests {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTopicText(t *testing.T) {
	got := RoleSet(nil).TopicText(bot.Topic{Ref: "INC-3", Severity: "high", Status: "contained", Commander: "discord:200000000000000002"})
	if want := "🟠 HIGH · contained · commander <@200000000000000002> · INC-3"; got != want {
		t.Fatalf("topic %q, want %q", got, want)
	}
}

func TestInvitePermissions(t *testing.T) {
	// Discord lets a bot allow or deny in an overwrite only what it holds,
	// so the invite must cover every bit the adapter writes into one.
	if used := int64(roomAccess | botAccess | writeAccess); InvitePermissions&used != used {
		t.Errorf("InvitePermissions %d lacks bits %d that channel overwrites use", InvitePermissions, used&^InvitePermissions)
	}
	if InvitePermissions&permissionPinMessages == 0 {
		t.Error("InvitePermissions lacks Pin Messages, which pinning the summary needs")
	}
	for name, bit := range map[string]int64{
		"Administrator": discordgo.PermissionAdministrator, "Manage Messages": discordgo.PermissionManageMessages,
		"Mention Everyone": discordgo.PermissionMentionEveryone,
	} {
		if InvitePermissions&bit != 0 {
			t.Errorf("InvitePermissions asks for %s", name)
		}
	}
	// The README shows the invite URL and the number: they must be these.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{InviteURL("APPLICATION_ID"), "**" + strconv.FormatInt(InvitePermissions, 10) + "**"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not show %s; update its Connect Discord section", want)
		}
	}
}
