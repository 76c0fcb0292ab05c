package fakediscord

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// commandName is Discord's pattern for chat command and option names.
var commandName = regexp.MustCompile(`^[-_'\p{L}\p{N}]{1,32}$`)

// checkCommands applies the rules Discord enforces when commands are
// overwritten in bulk: at most 100 chat commands with unique names, each
// name 1–32 lower-case characters, each description 1–100 characters, at
// most 25 options and 25 choices per level, required options before
// optional ones, sub-commands never required and never mixed with plain
// options, string lengths within 0–6000, and at most 4000 characters of
// names, descriptions and choices per command.
func checkCommands(cmds []*discordgo.ApplicationCommand) error {
	if len(cmds) > 100 {
		return fmt.Errorf("%d commands, at most 100", len(cmds))
	}
	seen := map[string]bool{}
	for i, c := range cmds {
		if c == nil {
			return fmt.Errorf("%d: null command", i)
		}
		if c.Type != 0 && c.Type != discordgo.ChatApplicationCommand {
			continue // user and message commands have looser rules the adapter does not use
		}
		if seen[c.Name] {
			return fmt.Errorf("%d.name: %q is used twice", i, c.Name)
		}
		seen[c.Name] = true
		if err := checkNamed(c.Name, c.Description); err != nil {
			return fmt.Errorf("%d: %w", i, err)
		}
		size := utf8.RuneCountInString(c.Name) + utf8.RuneCountInString(c.Description)
		n, err := checkOptions(c.Options, 0)
		if err != nil {
			return fmt.Errorf("%d.options%w", i, err)
		}
		if size+n > 4000 {
			return fmt.Errorf("%d: %d characters, at most 4000", i, size+n)
		}
	}
	return nil
}

func checkNamed(name, desc string) error {
	if !commandName.MatchString(name) || strings.ToLower(name) != name {
		return fmt.Errorf("name %q is not 1-32 lower-case letters, digits, - or _", name)
	}
	if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
		return fmt.Errorf("description of %q has %d characters, want 1-100", name, n)
	}
	return nil
}

// checkOptions checks one level of options (depth 0: a command's) and
// returns the characters it counts towards the 4000.
func checkOptions(opts []*discordgo.ApplicationCommandOption, depth int) (int, error) {
	if len(opts) > 25 {
		return 0, fmt.Errorf(": %d options, at most 25", len(opts))
	}
	size, optional, subs, plain := 0, false, 0, 0
	seen := map[string]bool{}
	for i, o := range opts {
		if o == nil {
			return 0, fmt.Errorf(".%d: null option", i)
		}
		if err := checkNamed(o.Name, o.Description); err != nil {
			return 0, fmt.Errorf(".%d: %w", i, err)
		}
		if seen[o.Name] {
			return 0, fmt.Errorf(".%d.name: %q is used twice", i, o.Name)
		}
		seen[o.Name] = true
		size += utf8.RuneCountInString(o.Name) + utf8.RuneCountInString(o.Description)
		switch o.Type {
		case discordgo.ApplicationCommandOptionSubCommand, discordgo.ApplicationCommandOptionSubCommandGroup:
			subs++
			if o.Required {
				return 0, fmt.Errorf(".%d: sub-command %q cannot be required", i, o.Name)
			}
			if depth >= 2 || (depth == 1 && o.Type == discordgo.ApplicationCommandOptionSubCommandGroup) {
				return 0, fmt.Errorf(".%d: %q nests too deep", i, o.Name)
			}
			n, err := checkOptions(o.Options, depth+1)
			if err != nil {
				return 0, fmt.Errorf(".%d.options%w", i, err)
			}
			size += n
			continue
		case 0:
			return 0, fmt.Errorf(".%d: option %q has no type", i, o.Name)
		}
		plain++
		if o.Required && optional {
			return 0, fmt.Errorf(".%d: required option %q after an optional one", i, o.Name)
		}
		optional = optional || !o.Required
		if len(o.Options) > 0 {
			return 0, fmt.Errorf(".%d: option %q of type %d cannot have options", i, o.Name, o.Type)
		}
		if len(o.Choices) > 25 {
			return 0, fmt.Errorf(".%d: %d choices, at most 25", i, len(o.Choices))
		}
		for j, ch := range o.Choices {
			if n := utf8.RuneCountInString(ch.Name); n < 1 || n > 100 {
				return 0, fmt.Errorf(".%d.choices.%d: name has %d characters, want 1-100", i, j, n)
			}
			if v, ok := ch.Value.(string); ok && utf8.RuneCountInString(v) > 100 {
				return 0, fmt.Errorf(".%d.choices.%d: value longer than 100", i, j)
			}
			size += utf8.RuneCountInString(ch.Name) + utf8.RuneCountInString(fmt.Sprint(ch.Value))
		}
		if o.Type == discordgo.ApplicationCommandOptionString {
			if o.MaxLength < 0 || o.MaxLength > 6000 || (o.MinLength != nil && (*o.MinLength < 0 || *o.MinLength > 6000)) {
				return 0, fmt.Errorf(".%d: %q has lengths outside 0-6000", i, o.Name)
			}
		}
	}
	if subs > 0 && plain > 0 {
		return 0, fmt.Errorf(": sub-commands mixed with options")
	}
	return size, nil
}
