package discord

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

func choices(values ...string) []*discordgo.ApplicationCommandOptionChoice {
	out := make([]*discordgo.ApplicationCommandOptionChoice, len(values))
	for i, v := range values {
		out[i] = &discordgo.ApplicationCommandOptionChoice{Name: v, Value: v}
	}
	return out
}

func str(name, desc string, required bool, max int) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: desc, Required: required, MaxLength: max}
}

func sub(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
}

func incidentOpt() *discordgo.ApplicationCommandOption {
	return str("incident", "Incident id, e.g. INC-12 (default: this channel's incident)", false, 24)
}

var (
	severities = []string{"critical", "high", "medium", "low", "info"}
	statuses   = []string{"open", "investigating", "contained", "resolved"}
)

// Commands returns warroom's application commands as registered with
// Discord. Option names are part of the outside contract: scripts and
// tests use them. Each command becomes the same text the Slack command
// would carry, so one grammar (package commands) serves both.
func Commands() []*discordgo.ApplicationCommand {
	guildOnly := &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	sev := func(required bool) *discordgo.ApplicationCommandOption {
		o := str("severity", "Severity", required, 0)
		o.Choices = choices(severities...)
		return o
	}
	status := str("status", "New status", true, 0)
	status.Choices = choices(statuses...)
	return []*discordgo.ApplicationCommand{
		{
			Name: "incident", Description: "Open, change and look at incidents", Contexts: guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				sub("new", "Open an incident with its own channel",
					str("title", "What is happening", true, 200), sev(false),
					&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "private", Description: "Only responders and leads see the channel"}),
				sub("list", "List open incidents",
					&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "all", Description: "Include closed incidents"}),
				sub("show", "Show an incident", incidentOpt()),
				sub("status", "Set the status", status, incidentOpt()),
				sub("severity", "Set the severity", sev(true), incidentOpt()),
				sub("assign", "Hand command to someone",
					&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "The new commander", Required: true},
					incidentOpt()),
				sub("note", "Add a note to the case log", str("text", "The note", true, 3000), incidentOpt()),
				sub("close", "Close the incident and archive its channel", str("summary", "What happened, in a line", false, 3000), incidentOpt()),
				sub("reopen", "Reopen a closed incident in a new channel", incidentOpt()),
				sub("timeline", "Show the latest case-log entries", incidentOpt()),
				sub("report", "The post-incident report", incidentOpt(), postOpt()),
				sub("digest", "The digest of open incidents now", postOpt()),
			},
		},
		{
			Name: "contain", Description: "Run the containment playbook on a host", Contexts: guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				str("target", "Host name or EDR device id", true, 200),
				str("reason", "Why", false, 1000),
			},
		},
		{
			Name: "enrich", Description: "Say what indicators are (IPs, domains, URLs, hashes…)", Contexts: guildOnly,
			Options: []*discordgo.ApplicationCommandOption{str("ioc", "One or more indicators, space-separated", true, 2000)},
		},
		{
			Name: "playbook", Description: "List and run playbooks", Contexts: guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				sub("list", "List the loaded playbooks"),
				sub("run", "Run a playbook on this channel's incident",
					str("name", "Playbook name", true, 100), str("args", "key=value arguments", false, 1000)),
			},
		},
	}
}

// postOpt asks for a reply in the channel for everyone.
func postOpt() *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "post", Description: "Post it in the channel for everyone"}
}

// errBadOption is a typed option that cannot be turned into command text
// (Discord checks types, not everything the grammar needs).
var errBadOption = errors.New("bad option")

func optionErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadOption, fmt.Sprintf(format, args...))
}

// DecodeInteraction parses an interaction payload as Discord sends it.
func DecodeInteraction(body []byte) (*discordgo.Interaction, error) {
	var in discordgo.Interaction
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decode interaction: %w", err)
	}
	return &in, nil
}

// invoker returns the user behind an interaction: a guild member, or the
// user of a DM.
func invoker(in *discordgo.Interaction) string {
	if in.Member != nil && in.Member.User != nil {
		return in.Member.User.ID
	}
	if in.User != nil {
		return in.User.ID
	}
	return ""
}

// RequestOf turns an application-command interaction into the request the
// handler parses, with the typed options written out in the text grammar:
// /incident status status:contained becomes Command "incident", Text
// "status contained". Options that would change the meaning of the text
// (an incident id with spaces, a one-word argument with several) are
// refused with errBadOption rather than passed on.
func RequestOf(in *discordgo.Interaction) (bot.Request, error) {
	data, ok := in.Data.(discordgo.ApplicationCommandInteractionData)
	if in.Type != discordgo.InteractionApplicationCommand || !ok {
		return bot.Request{}, errors.New("not an application command")
	}
	user := invoker(in)
	if !snowflake(user) {
		return bot.Request{}, errors.New("interaction without a user")
	}
	req := bot.Request{Platform: "discord", User: user, Channel: in.ChannelID, Command: data.Name, ReplyTo: in.Token}
	opts := options(data.Options)
	var words []string
	add := func(ws ...string) {
		for _, w := range ws {
			if w != "" {
				words = append(words, w)
			}
		}
	}
	oneWord := func(name string) (string, error) {
		v := opts[name]
		if strings.IndexFunc(v, unicode.IsSpace) >= 0 {
			return "", optionErr("%s must be one word", name)
		}
		return v, nil
	}
	switch data.Name {
	case "incident", "playbook":
		if len(data.Options) != 1 || data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
			return bot.Request{}, optionErr("/%s needs a subcommand", data.Name)
		}
		subName := data.Options[0].Name
		opts = options(data.Options[0].Options)
		add(subName)
		if data.Name == "playbook" {
			switch subName {
			case "list":
			case "run":
				name, err := oneWord("name")
				if err != nil || name == "" {
					return bot.Request{}, optionErr("name one playbook")
				}
				add(name, opts["args"])
			default:
				return bot.Request{}, optionErr("unknown subcommand %q", subName)
			}
			break
		}
		ref, err := incidentRef(opts["incident"])
		if err != nil {
			return bot.Request{}, err
		}
		switch subName {
		case "new":
			add(title(opts["title"]))
			if v, err := oneWord("severity"); err != nil {
				return bot.Request{}, err
			} else if v != "" {
				add("--sev", v)
			}
			if opts["private"] == "true" {
				add("--private")
			}
		case "list":
			if opts["all"] == "true" {
				add("--all")
			}
		case "show", "timeline", "reopen":
			add(ref)
		case "report", "digest":
			add(ref)
			if opts["post"] == "true" {
				add("--post")
			}
		case "status", "severity":
			v, err := oneWord(subName)
			if err != nil {
				return bot.Request{}, err
			}
			add(ref, v)
		case "assign":
			u := opts["user"]
			if !snowflake(u) {
				return bot.Request{}, optionErr("user must be a Discord user")
			}
			add(ref, "<@"+u+">")
		case "note":
			add(ref, opts["text"])
		case "close":
			add(ref, opts["summary"])
		default:
			return bot.Request{}, optionErr("unknown subcommand %q", subName)
		}
	case "contain":
		target, err := oneWord("target")
		if err != nil {
			return bot.Request{}, err
		}
		add(target, opts["reason"])
	case "enrich":
		add(opts["ioc"])
	default:
		return bot.Request{}, optionErr("unknown command /%s", data.Name)
	}
	req.Text = strings.Join(words, " ")
	return req, nil
}

// options flattens typed option values to strings: booleans as
// "true"/"false", numbers in decimal, users and others by id.
func options(list []*discordgo.ApplicationCommandInteractionDataOption) map[string]string {
	out := map[string]string{}
	for _, o := range list {
		if o == nil {
			continue
		}
		switch v := o.Value.(type) {
		case string:
			out[o.Name] = strings.TrimSpace(v)
		case bool:
			out[o.Name] = strconv.FormatBool(v)
		case float64:
			out[o.Name] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return out
}

// incidentRef normalises the incident option: "INC-12", "inc-12", "#12"
// and "12" all become "INC-12"; empty stays empty (the channel's incident).
func incidentRef(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	n := strings.TrimPrefix(strings.ToUpper(s), "INC-")
	n = strings.TrimPrefix(n, "#")
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 || n != strconv.FormatInt(id, 10) {
		return "", optionErr("incident must look like INC-12, not %q", s)
	}
	return "INC-" + n, nil
}

// title keeps a typed title literal: in the text grammar a word starting
// with "--" is an option (--sev, --private), which a title field must not
// be able to set, so such a word gets an en dash instead.
func title(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if strings.HasPrefix(w, "-") {
			words[i] = "–" + strings.TrimLeft(w, "-")
		}
	}
	return strings.Join(words, " ")
}

// ClickOf turns a button interaction into the click the handler answers.
// confirm reports a button that asks "are you sure?" first (see CustomID).
func ClickOf(in *discordgo.Interaction) (click bot.Click, confirm bool, err error) {
	data, ok := in.Data.(discordgo.MessageComponentInteractionData)
	if in.Type != discordgo.InteractionMessageComponent || !ok {
		return bot.Click{}, false, errors.New("not a component interaction")
	}
	user := invoker(in)
	if !snowflake(user) {
		return bot.Click{}, false, errors.New("interaction without a user")
	}
	action, value, confirm, err := ParseCustomID(data.CustomID)
	if err != nil {
		return bot.Click{}, false, err
	}
	click = bot.Click{
		Platform: "discord", User: user, Channel: in.ChannelID, ActionID: action, Value: value,
		Message: bot.MessageRef{Room: bot.RoomRef{Platform: "discord", ID: in.ChannelID}}, ReplyTo: in.Token,
	}
	if in.Message != nil {
		click.Message.ID = in.Message.ID
	}
	return click, confirm, nil
}
