package web

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/local"
	"github.com/warroom-bot/warroom/store"
)

// errNotCommand is a command box entry that is not a slash command.
var errNotCommand = errors.New(`type a slash command, such as "/incident new Phishing wave --severity high"`)

// command runs a slash command as id, in incident if it is not zero.
func (s *Server) command(ctx context.Context, id Identity, incident int64, text string) (bot.Reply, error) {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > maxCommand {
		return bot.Reply{}, errors.New("the command is too long")
	}
	if !strings.HasPrefix(text, "/") || len(text) < 2 {
		return bot.Reply{}, errNotCommand
	}
	word, rest, _ := strings.Cut(text[1:], " ")
	word = strings.ToLower(word)
	rest = strings.TrimSpace(rest)
	req := bot.Request{Platform: id.Platform, User: id.Name, Command: word, Text: rest}
	if incident != 0 {
		room, ok, err := s.opts.Local.IncidentRoom(ctx, incident)
		if err != nil {
			return bot.Reply{}, err
		}
		if ok && id.Platform == local.Name {
			req.Channel = strconv.FormatInt(room.ID, 10)
		} else {
			// API tokens have no rooms of their own, and a brand-new
			// incident may not have its room yet: name the incident in the
			// command instead, which every command's grammar accepts.
			req.Text = s.nameIncident(word, rest, store.FormatRef(incident))
		}
	}
	reply := s.opts.Handler.Command(ctx, req)
	s.hub.Publish(local.Event{Kind: local.EventLog, IncidentID: incident})
	return reply, nil
}

// nameIncident puts ref into a command's text where its grammar takes an
// incident id, unless the text names one already.
func (s *Server) nameIncident(word, text, ref string) string {
	words := strings.Fields(text)
	named := func(i int) bool {
		if i >= len(words) {
			return false
		}
		_, ok := store.ParseRef(words[i])
		return ok
	}
	insert := func(i int) string {
		if named(i) || i > len(words) {
			return text
		}
		out := append(append(append([]string{}, words[:i]...), ref), words[i:]...)
		return strings.Join(out, " ")
	}
	switch word {
	case "incident":
		if len(words) == 0 {
			return text
		}
		switch strings.ToLower(words[0]) {
		case "help", "new", "open", "list", "ls", "digest":
			return text
		}
		return insert(1)
	case "playbook":
		if len(words) == 0 {
			return text
		}
		switch strings.ToLower(words[0]) {
		case "run":
			if len(words) < 2 {
				return text
			}
			return insert(2)
		case "status":
			return insert(1)
		}
		return text
	case "enrich":
		return text
	}
	if s.opts.Engine != nil {
		if _, ok := s.opts.Engine.Set().ByCommand(word); ok {
			return insert(0)
		}
	}
	return text
}

// click presses a button as id.
func (s *Server) click(ctx context.Context, id Identity, action, value string) bot.Reply {
	reply := s.opts.Handler.Click(ctx, bot.Click{Platform: id.Platform, User: id.Name, ActionID: action, Value: value})
	s.hub.Publish(local.Event{Kind: local.EventLog})
	return reply
}

// plainText renders a neutral message as plain text, for API answers.
func plainText(m bot.Message) string {
	var b strings.Builder
	line := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	line(m.Title)
	text := m.Text
	if m.Actor != "" {
		text = strings.TrimSpace(userName(m.Actor) + " " + text)
	}
	line(text)
	for _, f := range m.Fields {
		v := f.Value
		if f.User != "" {
			v = strings.TrimSpace(userName(f.User) + " " + v)
		}
		line(f.Label + ": " + v)
	}
	for _, l := range m.Links {
		target := l.URL
		if l.Room != nil {
			target = "#" + l.Room.Name
		}
		line(l.Text + " " + target)
	}
	line(m.Footer)
	return b.String()
}

// userName shows an actor id to people: "alice" for a local account, "U123
// (slack)" for a chat user, "warroom" for the system.
func userName(actor string) string {
	if actor == bot.System || actor == "" {
		return "warroom"
	}
	platform, user := bot.SplitActor(actor)
	switch platform {
	case "", local.Name:
		return user
	}
	return user + " (" + platform + ")"
}
