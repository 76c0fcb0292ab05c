package slack

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/warroom-bot/warroom/bot"
)

// Slack's documented limits for the parts of a message we fill.
const (
	maxHeader      = 150
	maxSectionText = 3000
	maxButtonText  = 75
	maxValue       = 2000
	maxTopic       = 250
	maxFallback    = 3000
)

// Escape makes untrusted text inert in Slack markup: with &, < and > encoded
// nothing can become a <!channel> ping, a <@U…> mention or a <url|label> link.
func Escape(s string) string { return escaper.Replace(s) }

// Replacers are built once: building one costs far more than using it.
var (
	escaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	pipeGuard = strings.NewReplacer("|", "¦")
)

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// user renders an actor id: a mention for Slack users, the plain name for
// users of other platforms, "warroom" for the system.
func user(actor string) string {
	if actor == bot.System {
		return "warroom"
	}
	platform, id := bot.SplitActor(actor)
	if platform == "slack" && validID(id) {
		if strings.HasPrefix(id, "S") {
			return "<!subteam^" + id + ">" // a user group
		}
		return "<@" + id + ">"
	}
	return Escape(id) + " (" + Escape(platform) + ")"
}

// validID accepts Slack ids (U…, W…, C…, S…) only, so an actor id read
// from storage can never smuggle markup into a mention.
func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

var severityEmoji = map[string]string{
	"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪",
}

// Blocks renders a neutral message as Block Kit, with the plain-text
// fallback Slack shows in notifications.
func Blocks(m bot.Message) ([]slack.Block, string) {
	var blocks []slack.Block
	if m.Title != "" {
		title := m.Title
		if e, ok := severityEmoji[m.Severity]; ok {
			title = e + " " + title
		}
		// plain_text is never parsed for markup, so the title needs no escaping.
		blocks = append(blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(title, maxHeader), true, false)))
	}
	var body []string
	if m.Actor != "" {
		body = append(body, user(m.Actor))
	}
	if m.Text != "" {
		body = append(body, Escape(m.Text))
	}
	for _, mention := range m.Mentions {
		body = append(body, user(mention))
	}
	if len(body) > 0 {
		blocks = append(blocks, section(strings.Join(body, " ")))
	}
	var lines []string
	for _, f := range m.Fields {
		lines = append(lines, field(f))
	}
	for _, l := range m.Links {
		if s := link(l); s != "" {
			lines = append(lines, s)
		}
	}
	blocks = append(blocks, sections(lines)...)
	if len(m.Buttons) > 0 {
		var elems []slack.BlockElement
		for _, b := range m.Buttons {
			btn := slack.NewButtonBlockElement(b.ID, truncate(b.Value, maxValue),
				slack.NewTextBlockObject(slack.PlainTextType, truncate(b.Label, maxButtonText), true, false))
			switch b.Style {
			case bot.StylePrimary:
				btn.Style = slack.StylePrimary
			case bot.StyleDanger:
				btn.Style = slack.StyleDanger
			}
			if b.Confirm != "" {
				btn.Confirm = slack.NewConfirmationBlockObject(
					slack.NewTextBlockObject(slack.PlainTextType, "Are you sure?", false, false),
					slack.NewTextBlockObject(slack.PlainTextType, truncate(b.Confirm, 300), false, false),
					slack.NewTextBlockObject(slack.PlainTextType, truncate(b.Label, 30), false, false),
					slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
			}
			elems = append(elems, btn)
		}
		blocks = append(blocks, slack.NewActionBlock("", elems...))
	}
	if m.Footer != "" {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, truncate(Escape(m.Footer), maxSectionText), false, false)))
	}
	return blocks, fallback(m)
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(text, maxSectionText), false, false), nil, nil)
}

// sections packs lines into as few sections as Slack's text limit allows.
func sections(lines []string) []slack.Block {
	var out []slack.Block
	var cur strings.Builder
	for _, l := range lines {
		if cur.Len() > 0 && cur.Len()+1+len(l) > maxSectionText {
			out = append(out, section(cur.String()))
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	if cur.Len() > 0 {
		out = append(out, section(cur.String()))
	}
	return out
}

func field(f bot.Field) string {
	s := "*" + Escape(f.Label) + ":*"
	switch {
	case strings.Contains(f.Value, "\n"):
		// A value of several lines (one per enrichment source) reads as a
		// list under its label.
		s += "\n" + Escape(f.Value)
	case f.Value != "":
		s += " " + Escape(f.Value)
	}
	if f.User != "" {
		s += " " + user(f.User)
	}
	return s
}

// link renders a link to a room or an http(s) URL; anything else (a
// javascript: URL, markup in the URL) is dropped rather than shown.
func link(l bot.Link) string {
	label := pipeGuard.Replace(Escape(l.Text))
	if l.Room != nil {
		if l.Room.Platform == "slack" && validChannel(l.Room.ID) {
			return "<#" + l.Room.ID + ">"
		}
		return label
	}
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || strings.ContainsAny(l.URL, "<>| ") {
		return label
	}
	return "<" + Escape(l.URL) + "|" + label + ">"
}

func validChannel(id string) bool { return validID(id) }

func fallback(m bot.Message) string {
	s := m.Title
	if s == "" {
		s = m.Text
	}
	if s == "" && len(m.Fields) > 0 {
		s = m.Fields[0].Label
	}
	return truncate(Escape(s), maxFallback)
}

// TopicText renders an incident's topic line.
func TopicText(t bot.Topic) string {
	commander := "none"
	if t.Commander != "" {
		commander = user(t.Commander)
	}
	s := fmt.Sprintf("%s %s · %s · commander %s · %s", severityEmoji[t.Severity], strings.ToUpper(Escape(t.Severity)),
		Escape(t.Status), commander, Escape(t.Ref))
	return truncate(strings.TrimSpace(s), maxTopic)
}
