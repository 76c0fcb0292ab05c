package fakediscord

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestCheckCommands(t *testing.T) {
	str := func(name string, required bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: "d", Required: required}
	}
	sub := func(name string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: "d", Options: opts}
	}
	cmd := func(name string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommand {
		return &discordgo.ApplicationCommand{Name: name, Description: "d", Options: opts}
	}
	tests := []struct {
		name string
		cmds []*discordgo.ApplicationCommand
		want string // substring of the error; "" means accepted
	}{
		{"valid", []*discordgo.ApplicationCommand{cmd("incident", sub("new", str("title", true), str("severity", false)))}, ""},
		{"upper-case name", []*discordgo.ApplicationCommand{cmd("Incident")}, "lower-case"},
		{"long name", []*discordgo.ApplicationCommand{cmd(strings.Repeat("a", 33))}, "1-32"},
		{"no description", []*discordgo.ApplicationCommand{{Name: "x"}}, "description"},
		{"long description", []*discordgo.ApplicationCommand{{Name: "x", Description: strings.Repeat("d", 101)}}, "description"},
		{"duplicate command", []*discordgo.ApplicationCommand{cmd("x"), cmd("x")}, "twice"},
		{"required after optional", []*discordgo.ApplicationCommand{cmd("x", str("a", false), str("b", true))}, "after an optional"},
		{"required sub-command", []*discordgo.ApplicationCommand{cmd("x", &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: "s", Description: "d", Required: true})}, "cannot be required"},
		{"sub-commands and options", []*discordgo.ApplicationCommand{cmd("x", sub("s"), str("a", false))}, "mixed"},
		{"duplicate option", []*discordgo.ApplicationCommand{cmd("x", str("a", true), str("a", true))}, "twice"},
		{"untyped option", []*discordgo.ApplicationCommand{cmd("x", &discordgo.ApplicationCommandOption{Name: "a", Description: "d"})}, "no type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCommands(tc.cmds)
			if tc.want == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
}
