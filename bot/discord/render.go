package discord

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

// Discord's documented limits for the parts of a message we fill.
const (
	maxContent      = 2000
	maxTitle        = 256
	maxDescription  = 4096
	maxFields       = 25
	maxFieldName    = 256
	maxFieldValue   = 1024
	maxFooter       = 2048
	maxEmbedTotal   = 6000
	maxButtonLabel  = 80
	maxCustomID     = 100
	maxButtonsInRow = 5
	maxRows         = 5
	maxTopic        = 1024
	maxNonce        = 25
)

// ErrCustomIDTooLong is returned by Render for a button whose action id and
// value do not fit Discord's 100-character custom_id. Cutting it would hand
// the router a different value than the one rendered, so the message is
// refused instead.
var ErrCustomIDTooLong = errors.New("button custom_id longer than 100 characters")

// customID separators. An action id never contains '|' (they are dotted
// names such as "approval.approve"); the value may contain anything.
const (
	idSep         = "|"
	confirmPrefix = "?"
)

// CustomID encodes a button's action id and value as a Discord custom_id,
// "incident.close|7". A button that asks for confirmation gets a "?" prefix:
// Discord has no confirmation dialogs, so its click is answered with a
// private "are you sure?" message carrying the real button.
func CustomID(b bot.Button) (string, error) {
	if b.ID == "" || strings.Contains(b.ID, idSep) || strings.HasPrefix(b.ID, confirmPrefix) {
		return "", fmt.Errorf("button action id %q cannot be encoded", b.ID)
	}
	id := b.ID + idSep + b.Value
	if b.Confirm != "" {
		id = confirmPrefix + id
	}
	if utf8.RuneCountInString(id) > maxCustomID {
		return "", fmt.Errorf("%w: %q", ErrCustomIDTooLong, b.ID)
	}
	return id, nil
}

// ParseCustomID decodes a custom_id made by CustomID. confirm reports the
// "?" prefix of a button that asks before it acts.
func ParseCustomID(id string) (action, value string, confirm bool, err error) {
	if utf8.RuneCountInString(id) > maxCustomID {
		return "", "", false, ErrCustomIDTooLong
	}
	id, confirm = strings.CutPrefix(id, confirmPrefix)
	action, value, ok := strings.Cut(id, idSep)
	if !ok || action == "" {
		return "", "", false, fmt.Errorf("custom_id %q is not a warroom button", id)
	}
	return action, value, confirm, nil
}

// Escape makes untrusted text inert in Discord markdown: formatting
// characters are backslash-escaped, so nothing can become a <@id> mention,
// a [masked](link), a spoiler or a code block, and @everyone and @here get a
// zero-width joiner so that they read the same but can never ping, whatever
// allowed_mentions says.
func Escape(s string) string {
	s = escaper.Replace(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		// Headings, subtext and lists are markdown only at a line start
		// (quotes start with '>', escaped everywhere).
		if t := strings.TrimLeft(line, " "); t != "" && strings.ContainsRune("#-", rune(t[0])) {
			line = line[:len(line)-len(t)] + `\` + t
		}
		b.WriteString(line)
	}
	return pingGuard.Replace(b.String())
}

// Replacers are built once: building one costs far more than using it.
var (
	escaper = strings.NewReplacer(
		`\`, `\\`, `*`, `\*`, `_`, `\_`, "~", `\~`, "`", "\\`", "|", `\|`,
		"[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`,
	)
	pingGuard = strings.NewReplacer("@everyone", "@\u200beveryone", "@here", "@\u200bhere")
)

// plain neutralises text shown where Discord parses no markdown (embed
// footers, button labels, topics of other clients): only the pings are
// guarded.
func plain(s string) string { return pingGuard.Replace(s) }

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// snowflake accepts Discord ids only (decimal, up to 20 digits), so an id
// read from storage can never smuggle markup into a mention.
func snowflake(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// RoleSet tells which Discord ids are guild roles rather than users, so a
// "discord:123" from the roles config is mentioned as <@&123>.
type RoleSet map[string]bool

// user renders an actor id: a mention for Discord users and roles, the
// plain name for users of other platforms, "warroom" for the system.
func (rs RoleSet) user(actor string) string {
	if actor == bot.System {
		return "warroom"
	}
	platform, id := bot.SplitActor(actor)
	if platform == "discord" && snowflake(id) {
		if rs[id] {
			return "<@&" + id + ">"
		}
		return "<@" + id + ">"
	}
	if platform == "" {
		return Escape(id)
	}
	return Escape(id) + " (" + Escape(platform) + ")"
}

var severityColor = map[string]int{
	"critical": 0xD32F2F, "high": 0xF57C00, "medium": 0xFBC02D, "low": 0x1976D2, "info": 0x9E9E9E,
}

var severityEmoji = map[string]string{
	"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪",
}

// Rendered is a neutral message as Discord takes it.
type Rendered struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []discordgo.MessageComponent      `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
}

// Render renders a neutral message as Discord content, embeds and button
// components; see RoleSet.Render.
func Render(m bot.Message) (Rendered, error) { return RoleSet(nil).Render(m) }

// Render renders a neutral message. Everything but the pings goes into one
// embed, because embeds never notify anyone; the content holds only the
// mentions of m.Mentions, and allowed_mentions names exactly those users and
// roles, so nothing else in the message can ping. A message with a Tag
// carries it in the footer, where FindPosted looks for it after a crash.
func (rs RoleSet) Render(m bot.Message) (Rendered, error) {
	out := Rendered{
		Embeds:          []*discordgo.MessageEmbed{},
		Components:      []discordgo.MessageComponent{},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}
	var pings []string
	for _, mention := range m.Mentions {
		platform, id := bot.SplitActor(mention)
		if platform != "discord" || !snowflake(id) {
			continue // other platforms' users are named in their own rooms
		}
		pings = append(pings, rs.user(mention))
		if rs[id] {
			out.AllowedMentions.Roles = appendNew(out.AllowedMentions.Roles, id)
		} else {
			out.AllowedMentions.Users = appendNew(out.AllowedMentions.Users, id)
		}
	}
	out.Content = truncate(strings.Join(pings, " "), maxContent)

	e := &discordgo.MessageEmbed{Color: severityColor[m.Severity]}
	if m.Title != "" {
		title := m.Title
		if emoji, ok := severityEmoji[m.Severity]; ok {
			title = emoji + " " + title
		}
		e.Title = truncate(Escape(title), maxTitle)
	}
	var desc []string
	var line []string
	if m.Actor != "" {
		line = append(line, rs.user(m.Actor))
	}
	if m.Text != "" {
		line = append(line, Escape(m.Text))
	}
	if len(line) > 0 {
		desc = append(desc, strings.Join(line, " "))
	}
	if len(pings) > 0 && m.Actor != "" && m.Text != "" {
		// "<actor> handed command to <user>": the ping reads as part of the sentence.
		desc[len(desc)-1] += " " + strings.Join(pings, " ")
	}
	var links []string
	for _, l := range m.Links {
		if s := link(l); s != "" {
			links = append(links, s)
		}
	}
	if len(links) > 0 {
		desc = append(desc, strings.Join(links, " · "))
	}
	e.Description = truncate(strings.Join(desc, "\n"), maxDescription)
	for i, f := range m.Fields {
		if i == maxFields {
			break
		}
		value := Escape(f.Value)
		if f.User != "" {
			value = strings.TrimSpace(value + " " + rs.user(f.User))
		}
		if value == "" {
			value = "—" // Discord rejects empty field values
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
			Name:   truncate(Escape(f.Label), maxFieldName),
			Value:  truncate(value, maxFieldValue),
			Inline: utf8.RuneCountInString(value) <= 40,
		})
	}
	footer := plain(m.Footer)
	if m.Tag != "" {
		footer = strings.TrimPrefix(footer+" · "+tagMarker+m.Tag, " · ")
	}
	if footer != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: truncate(footer, maxFooter)}
	}
	fitEmbed(e)
	if e.Title != "" || e.Description != "" || len(e.Fields) > 0 || e.Footer != nil {
		out.Embeds = append(out.Embeds, e)
	}

	var row []discordgo.MessageComponent
	for _, b := range m.Buttons {
		id, err := CustomID(b)
		if err != nil {
			return Rendered{}, fmt.Errorf("render button %q: %w", b.Label, err)
		}
		style := discordgo.SecondaryButton
		switch b.Style {
		case bot.StylePrimary:
			style = discordgo.PrimaryButton
		case bot.StyleDanger:
			style = discordgo.DangerButton
		}
		row = append(row, discordgo.Button{Label: truncate(plain(b.Label), maxButtonLabel), Style: style, CustomID: id})
		if len(row) == maxButtonsInRow {
			out.Components = append(out.Components, discordgo.ActionsRow{Components: row})
			row = nil
		}
	}
	if len(row) > 0 {
		out.Components = append(out.Components, discordgo.ActionsRow{Components: row})
	}
	if len(out.Components) > maxRows {
		return Rendered{}, fmt.Errorf("render: %d buttons do not fit Discord's %d rows of %d", len(m.Buttons), maxRows, maxButtonsInRow)
	}
	if out.Content == "" && len(out.Embeds) == 0 && len(out.Components) == 0 {
		// Discord refuses empty messages; say something rather than fail.
		out.Content = "…"
	}
	return out, nil
}

// tagMarker precedes a message's outbox tag in its footer.
const tagMarker = "ref "

func appendNew(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// fitEmbed keeps an embed under Discord's 6000-character total by cutting
// the description, then dropping fields from the end.
func fitEmbed(e *discordgo.MessageEmbed) {
	size := func() int {
		n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
		for _, f := range e.Fields {
			n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
		}
		if e.Footer != nil {
			n += utf8.RuneCountInString(e.Footer.Text)
		}
		return n
	}
	if over := size() - maxEmbedTotal; over > 0 {
		keep := max(utf8.RuneCountInString(e.Description)-over, 1)
		if e.Description != "" {
			e.Description = truncate(e.Description, keep)
		}
	}
	for size() > maxEmbedTotal && len(e.Fields) > 0 {
		e.Fields = e.Fields[:len(e.Fields)-1]
	}
}

// link renders a link to a room or an http(s) URL as a masked link; anything
// else (a javascript: URL, markup in the URL) is shown as its label only.
func link(l bot.Link) string {
	label := Escape(l.Text)
	if l.Room != nil {
		if l.Room.Platform == "discord" && snowflake(l.Room.ID) {
			return "<#" + l.Room.ID + ">"
		}
		return label
	}
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(l.URL, "<>()[] \t\n") {
		return label
	}
	if label == "" {
		label = Escape(u.Host)
	}
	return "[" + label + "](" + l.URL + ")"
}

// TopicText renders an incident's topic line.
func (rs RoleSet) TopicText(t bot.Topic) string {
	commander := "none"
	if t.Commander != "" {
		commander = rs.user(t.Commander)
	}
	s := fmt.Sprintf("%s %s · %s · commander %s · %s", severityEmoji[t.Severity], strings.ToUpper(Escape(t.Severity)),
		Escape(t.Status), commander, Escape(t.Ref))
	return truncate(strings.TrimSpace(s), maxTopic)
}
