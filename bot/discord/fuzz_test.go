package discord

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

// FuzzInteraction feeds arbitrary payloads through everything that turns a
// (verified) interaction into a request or a click: it must never panic,
// and what it produces must keep the grammar's shape.
func FuzzInteraction(f *testing.F) {
	seeds := []string{
		`{"type":1}`,
		`{"type":2,"token":"t","channel_id":"5","member":{"user":{"id":"200000000000000001"},"roles":["1"]},"data":{"name":"incident","options":[{"name":"status","type":1,"options":[{"name":"status","type":3,"value":"contained"},{"name":"incident","type":3,"value":"INC-4"}]}]}}`,
		`{"type":2,"user":{"id":"1"},"data":{"name":"incident","options":[{"name":"new","type":1,"options":[{"name":"title","type":3,"value":"--sev low x"},{"name":"private","type":5,"value":true}]}]}}`,
		`{"type":2,"member":{"user":{"id":"1"}},"data":{"name":"incident","options":[{"name":"assign","type":1,"options":[{"name":"user","type":6,"value":"200000000000000002"}]}]}}`,
		`{"type":2,"member":{"user":{"id":"1"}},"data":{"name":"contain","options":[{"name":"target","type":3,"value":"host-42"},{"name":"reason","type":3,"value":"why"}]}}`,
		`{"type":2,"member":{"user":{"id":"1"}},"data":{"name":"playbook","options":[{"name":"run","type":1,"options":[{"name":"name","type":3,"value":"contain"},{"name":"args","type":3,"value":"target=x"}]}]}}`,
		`{"type":3,"member":{"user":{"id":"1"}},"channel_id":"9","message":{"id":"8"},"data":{"custom_id":"?incident.close|7","component_type":2}}`,
		`{"type":3,"member":{"user":{"id":"1"}},"data":{"custom_id":"|","component_type":2}}`,
		`{"type":2,"data":{"name":"incident","options":[{"name":"show","type":1,"options":[{"name":"incident","type":4,"value":1e309}]}]}}`,
		`{"type":2,"data":null}`,
		`[]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	known := map[string]bool{"incident": true, "contain": true, "enrich": true, "playbook": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeInteraction(body)
		if err != nil {
			return
		}
		switch in.Type {
		case discordgo.InteractionApplicationCommand:
			req, err := RequestOf(in)
			if err != nil {
				return
			}
			if !known[req.Command] || req.Platform != "discord" || !snowflake(req.User) {
				t.Fatalf("request %+v from %s", req, body)
			}
			if req.Command == "incident" {
				sub, _, _ := strings.Cut(req.Text, " ")
				if strings.HasPrefix(sub, "-") || sub == "" {
					t.Fatalf("incident text %q has no subcommand", req.Text)
				}
			}
		case discordgo.InteractionMessageComponent:
			click, _, err := ClickOf(in)
			if err != nil {
				return
			}
			if click.ActionID == "" || strings.Contains(click.ActionID, idSep) || utf8.RuneCountInString(click.ActionID+click.Value) > maxCustomID {
				t.Fatalf("click %+v from %s", click, body)
			}
		}
	})
}

// FuzzCustomID checks that every custom_id CustomID makes parses back.
func FuzzCustomID(f *testing.F) {
	f.Add("incident.close", "7", true)
	f.Add("approval.approve", "abc|def", false)
	f.Fuzz(func(t *testing.T, action, value string, confirm bool) {
		b := bot.Button{ID: action, Value: value}
		if confirm {
			b.Confirm = "sure?"
		}
		id, err := CustomID(b)
		if err != nil {
			return
		}
		a, v, c, err := ParseCustomID(id)
		if err != nil || a != action || v != value || c != confirm {
			t.Fatalf("%q %q %v → %q → %q %q %v %v", action, value, confirm, id, a, v, c, err)
		}
	})
}
