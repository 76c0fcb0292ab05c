package fakediscord

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// routes are the REST endpoints the fake serves, after /api/v{N}.
var routes = []route{
	{"GET", "/users/@me", true, func(s *Server, q request) (any, *apiErr) { return userOut(BotUserID), nil }},
	{"GET", "/users/@me/guilds", true, func(s *Server, q request) (any, *apiErr) {
		return []map[string]any{{"id": GuildID, "name": "Warroom Test"}}, nil
	}},
	{"GET", "/gateway", false, (*Server).gateway},
	{"GET", "/gateway/bot", true, (*Server).gateway},
	{"PUT", "/applications/{app}/commands", true, (*Server).overwriteCommands},
	{"PUT", "/applications/{app}/guilds/{guild}/commands", true, (*Server).overwriteCommands},
	{"GET", "/guilds/{guild}/channels", true, (*Server).listChannels},
	{"POST", "/guilds/{guild}/channels", true, (*Server).createChannel},
	{"GET", "/guilds/{guild}/roles", true, (*Server).listRoles},
	{"GET", "/guilds/{guild}/members/{user}", true, (*Server).getMember},
	{"GET", "/channels/{channel}", true, (*Server).getChannel},
	{"PATCH", "/channels/{channel}", true, (*Server).editChannel},
	{"DELETE", "/channels/{channel}", true, (*Server).deleteChannel},
	{"PUT", "/channels/{channel}/permissions/{target}", true, (*Server).setPermission},
	{"GET", "/channels/{channel}/messages", true, (*Server).listMessages},
	{"POST", "/channels/{channel}/messages", true, (*Server).createMessage},
	{"PATCH", "/channels/{channel}/messages/{message}", true, (*Server).editMessage},
	{"PUT", "/channels/{channel}/pins/{message}", true, (*Server).pin},
	{"POST", "/interactions/{id}/{token}/callback", false, (*Server).callback},
	{"PATCH", "/webhooks/{app}/{token}/messages/@original", false, (*Server).editOriginal},
	{"POST", "/webhooks/{app}/{token}", false, (*Server).followup},
}

func (s *Server) gateway(q request) (any, *apiErr) {
	url := "ws://" + q.r.Host + "/gateway"
	return map[string]any{"url": url, "shards": 1,
		"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}, nil
}

func (s *Server) guildOK(q request) *apiErr {
	if q.r.PathValue("guild") != GuildID {
		return notFound(10004, "Guild")
	}
	return nil
}

func (s *Server) overwriteCommands(q request) (any, *apiErr) {
	if q.r.PathValue("app") != AppID {
		return nil, &apiErr{http.StatusForbidden, 50001, "Missing Access"}
	}
	var cmds []*discordgo.ApplicationCommand
	if err := q.decode(&cmds); err != nil {
		return nil, err
	}
	scope := q.r.PathValue("guild")
	if scope != "" {
		if err := s.guildOK(q); err != nil {
			return nil, err
		}
	}
	if err := checkCommands(cmds); err != nil {
		return nil, invalid(err.Error())
	}
	for _, c := range cmds {
		c.ID, c.ApplicationID, c.GuildID = s.nextIDLocked(), AppID, scope
	}
	s.commands[scope] = cmds
	return cmds, nil
}

func (s *Server) listChannels(q request) (any, *apiErr) {
	if err := s.guildOK(q); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, id := range s.order {
		if c, ok := s.channels[id]; ok {
			out = append(out, c.out())
		}
	}
	return out, nil
}

func (s *Server) createChannel(q request) (any, *apiErr) {
	if err := s.guildOK(q); err != nil {
		return nil, err
	}
	var in struct {
		Name       string                           `json:"name"`
		Type       discordgo.ChannelType            `json:"type"`
		Topic      string                           `json:"topic"`
		ParentID   string                           `json:"parent_id"`
		Overwrites []*discordgo.PermissionOverwrite `json:"permission_overwrites"`
	}
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	if !channelName(in.Name) {
		return nil, invalid("name")
	}
	if err := s.needLocked(nil, discordgo.PermissionManageChannels); err != nil {
		return nil, err
	}
	if err := s.overwritesOKLocked(nil, in.Overwrites); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.Topic) > 1024 {
		return nil, invalid("topic")
	}
	if in.ParentID != "" {
		if p, ok := s.channels[in.ParentID]; !ok || p.Type != discordgo.ChannelTypeGuildCategory {
			return nil, invalid("parent_id")
		}
	}
	c := s.createChannelLocked(in.Name, in.Type, in.Topic, in.ParentID, in.Overwrites)
	return c.out(), nil
}

func (s *Server) listRoles(q request) (any, *apiErr) {
	if err := s.guildOK(q); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for id, name := range s.roles {
		out = append(out, map[string]any{"id": id, "name": name, "permissions": "0"})
	}
	return out, nil
}

func (s *Server) getMember(q request) (any, *apiErr) {
	if err := s.guildOK(q); err != nil {
		return nil, err
	}
	id := q.r.PathValue("user")
	roles, ok := s.members[id]
	if !ok {
		return nil, notFound(10007, "Member")
	}
	return map[string]any{"user": userOut(id), "roles": append([]string{}, roles...), "joined_at": "2026-01-01T00:00:00Z"}, nil
}

func (s *Server) channel(q request) (*Channel, *apiErr) {
	c, ok := s.channels[q.r.PathValue("channel")]
	if !ok {
		return nil, notFound(10003, "Channel")
	}
	return c, nil
}

func (s *Server) getChannel(q request) (any, *apiErr) {
	c, err := s.channel(q)
	if err != nil {
		return nil, err
	}
	if err := s.needLocked(c, 0); err != nil {
		return nil, err
	}
	return c.out(), nil
}

func (s *Server) editChannel(q request) (any, *apiErr) {
	c, aerr := s.channel(q)
	if aerr != nil {
		return nil, aerr
	}
	var in map[string]json.RawMessage
	if err := q.decode(&in); err != nil {
		return nil, err
	}
	if err := s.needLocked(c, discordgo.PermissionManageChannels); err != nil {
		return nil, err
	}
	if v, ok := in["permission_overwrites"]; ok {
		var ow []*discordgo.PermissionOverwrite
		if json.Unmarshal(v, &ow) != nil {
			return nil, invalid("permission_overwrites")
		}
		if err := s.needLocked(c, discordgo.PermissionManageRoles); err != nil {
			return nil, err
		}
		if err := s.overwritesOKLocked(c, ow); err != nil {
			return nil, err
		}
	}
	if v, ok := in["topic"]; ok {
		var t string
		if json.Unmarshal(v, &t) != nil || utf8.RuneCountInString(t) > 1024 {
			return nil, invalid("topic")
		}
		c.Topic = t
	}
	if v, ok := in["parent_id"]; ok {
		var p string
		json.Unmarshal(v, &p)
		if pc, ok := s.channels[p]; p != "" && (!ok || pc.Type != discordgo.ChannelTypeGuildCategory) {
			return nil, invalid("parent_id")
		}
		c.ParentID = p
	}
	if v, ok := in["permission_overwrites"]; ok {
		var ow []*discordgo.PermissionOverwrite
		if json.Unmarshal(v, &ow) != nil {
			return nil, invalid("permission_overwrites")
		}
		c.Overwrites = ow
	}
	if v, ok := in["name"]; ok {
		var n string
		if json.Unmarshal(v, &n) != nil || !channelName(n) {
			return nil, invalid("name")
		}
		c.Name = n
	}
	return c.out(), nil
}

func (s *Server) deleteChannel(q request) (any, *apiErr) {
	c, err := s.channel(q)
	if err != nil {
		return nil, err
	}
	if err := s.needLocked(c, discordgo.PermissionManageChannels); err != nil {
		return nil, err
	}
	delete(s.channels, c.ID)
	return c.out(), nil
}

func (s *Server) setPermission(q request) (any, *apiErr) {
	c, aerr := s.channel(q)
	if aerr != nil {
		return nil, aerr
	}
	var o discordgo.PermissionOverwrite
	if err := q.decode(&o); err != nil {
		return nil, err
	}
	o.ID = q.r.PathValue("target")
	if err := s.needLocked(c, discordgo.PermissionManageRoles); err != nil {
		return nil, err
	}
	if err := s.overwritesOKLocked(c, []*discordgo.PermissionOverwrite{&o}); err != nil {
		return nil, err
	}
	c.Overwrites = slices.DeleteFunc(c.Overwrites, func(x *discordgo.PermissionOverwrite) bool { return x.ID == o.ID })
	c.Overwrites = append(c.Overwrites, &o)
	return nil, nil
}

func (s *Server) listMessages(q request) (any, *apiErr) {
	c, err := s.channel(q)
	if err != nil {
		return nil, err
	}
	if err := s.needLocked(c, discordgo.PermissionReadMessageHistory); err != nil {
		return nil, err
	}
	limit := 50
	if n, e := strconv.Atoi(q.r.URL.Query().Get("limit")); e == nil && n > 0 && n <= 100 {
		limit = n
	}
	msgs := s.messages[c.ID]
	out := []map[string]any{}
	for i := len(msgs) - 1; i >= 0 && len(out) < limit; i-- { // newest first, as Discord lists
		m := msgs[i].out()
		delete(m, "nonce") // Discord does not return nonces in history
		out = append(out, m)
	}
	return out, nil
}

// messageBody is what create and edit accept.
type messageBody struct {
	Content         *string                           `json:"content"`
	Embeds          *[]*discordgo.MessageEmbed        `json:"embeds"`
	Components      json.RawMessage                   `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Nonce           string                            `json:"nonce"`
	EnforceNonce    bool                              `json:"enforce_nonce"`
	Flags           int                               `json:"flags"`
}

// validate applies Discord's message limits.
func (b *messageBody) validate(create bool) *apiErr {
	if b.Content != nil && utf8.RuneCountInString(*b.Content) > 2000 {
		return invalid("content")
	}
	if b.Embeds != nil {
		if len(*b.Embeds) > 10 {
			return invalid("embeds")
		}
		for _, e := range *b.Embeds {
			n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
			if utf8.RuneCountInString(e.Title) > 256 || utf8.RuneCountInString(e.Description) > 4096 || len(e.Fields) > 25 {
				return invalid("embeds")
			}
			for _, f := range e.Fields {
				if f.Name == "" || f.Value == "" || utf8.RuneCountInString(f.Name) > 256 || utf8.RuneCountInString(f.Value) > 1024 {
					return invalid("embeds.fields")
				}
				n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
			}
			if e.Footer != nil {
				if utf8.RuneCountInString(e.Footer.Text) > 2048 {
					return invalid("embeds.footer")
				}
				n += utf8.RuneCountInString(e.Footer.Text)
			}
			if n > 6000 {
				return invalid("embeds")
			}
		}
	}
	if len(b.Components) > 0 {
		var rows []struct {
			Type       int `json:"type"`
			Components []struct {
				Type     int    `json:"type"`
				Label    string `json:"label"`
				Style    int    `json:"style"`
				CustomID string `json:"custom_id"`
			} `json:"components"`
		}
		if json.Unmarshal(b.Components, &rows) != nil || len(rows) > 5 {
			return invalid("components")
		}
		for _, r := range rows {
			if r.Type != 1 || len(r.Components) == 0 || len(r.Components) > 5 {
				return invalid("components")
			}
			for _, c := range r.Components {
				if c.Type != 2 || utf8.RuneCountInString(c.Label) > 80 || c.CustomID == "" || utf8.RuneCountInString(c.CustomID) > 100 {
					return invalid("components.custom_id")
				}
			}
		}
	}
	if len(b.Nonce) > 25 {
		return invalid("nonce")
	}
	if create {
		empty := (b.Content == nil || *b.Content == "") && (b.Embeds == nil || len(*b.Embeds) == 0)
		if empty && (len(b.Components) == 0 || string(b.Components) == "[]") {
			return &apiErr{http.StatusBadRequest, 50006, "Cannot send an empty message"}
		}
	}
	return nil
}

func (s *Server) createMessage(q request) (any, *apiErr) {
	c, aerr := s.channel(q)
	if aerr != nil {
		return nil, aerr
	}
	var b messageBody
	if err := q.decode(&b); err != nil {
		return nil, err
	}
	if err := b.validate(true); err != nil {
		return nil, err
	}
	if err := s.needLocked(c, discordgo.PermissionSendMessages); err != nil {
		return nil, err
	}
	if b.EnforceNonce && b.Nonce != "" {
		for _, m := range s.messages[c.ID] {
			if m.Nonce == b.Nonce && m.AuthorID == BotUserID && !m.nonceGone && time.Since(m.created) < nonceWindow {
				return m.out(), nil
			}
		}
	}
	m := &Message{ID: s.nextIDLocked(), ChannelID: c.ID, AuthorID: BotUserID, Nonce: b.Nonce, AllowedMentions: b.AllowedMentions, created: time.Now()}
	m.apply(b)
	s.messages[c.ID] = append(s.messages[c.ID], m)
	return m.out(), nil
}

func (m *Message) apply(b messageBody) {
	if b.Content != nil {
		m.Content = *b.Content
	}
	if b.Embeds != nil {
		m.Embeds = *b.Embeds
	}
	if b.Components != nil {
		m.Components = append(json.RawMessage(nil), b.Components...)
	}
	if b.AllowedMentions != nil {
		m.AllowedMentions = b.AllowedMentions
	}
}

func (s *Server) editMessage(q request) (any, *apiErr) {
	c, aerr := s.channel(q)
	if aerr != nil {
		return nil, aerr
	}
	var b messageBody
	if err := q.decode(&b); err != nil {
		return nil, err
	}
	if err := b.validate(false); err != nil {
		return nil, err
	}
	if err := s.needLocked(c, 0); err != nil {
		return nil, err
	}
	for _, m := range s.messages[c.ID] {
		if m.ID == q.r.PathValue("message") {
			if m.AuthorID != BotUserID {
				return nil, &apiErr{http.StatusForbidden, 50005, "Cannot edit a message authored by another user"}
			}
			m.apply(b)
			m.Edits++
			return m.out(), nil
		}
	}
	return nil, notFound(10008, "Message")
}

func (s *Server) pin(q request) (any, *apiErr) {
	c, aerr := s.channel(q)
	if aerr != nil {
		return nil, aerr
	}
	if err := s.needLocked(c, PermissionPinMessages); err != nil {
		return nil, err
	}
	id := q.r.PathValue("message")
	for _, m := range s.messages[c.ID] {
		if m.ID == id {
			if !slices.Contains(c.Pins, id) {
				c.Pins = append(c.Pins, id)
			}
			return nil, nil
		}
	}
	return nil, notFound(10008, "Message")
}

func (s *Server) callback(q request) (any, *apiErr) {
	id := q.r.PathValue("id")
	if s.acked[id] {
		return nil, &apiErr{http.StatusBadRequest, 40060, "Interaction has already been acknowledged."}
	}
	var resp discordgo.InteractionResponse
	if err := q.decode(&resp); err != nil {
		return nil, err
	}
	if resp.Type == 0 {
		return nil, invalid("type")
	}
	s.acked[id] = true
	s.answers = append(s.answers, Answer{Kind: "callback", ID: id, Token: q.r.PathValue("token"), Body: q.body})
	return nil, nil
}

func (s *Server) editOriginal(q request) (any, *apiErr) {
	var b messageBody
	if err := q.decode(&b); err != nil {
		return nil, err
	}
	if err := b.validate(false); err != nil {
		return nil, err
	}
	s.answers = append(s.answers, Answer{Kind: "edit", Token: q.r.PathValue("token"), Body: q.body})
	return map[string]any{"id": s.nextIDLocked(), "content": b.Content}, nil
}

func (s *Server) followup(q request) (any, *apiErr) {
	if q.r.PathValue("app") != AppID {
		return nil, notFound(10015, "Webhook")
	}
	if q.r.PathValue("token") == ExpiredToken {
		return nil, &apiErr{http.StatusUnauthorized, 50027, "Invalid Webhook Token"}
	}
	var b messageBody
	if err := q.decode(&b); err != nil {
		return nil, err
	}
	if err := b.validate(true); err != nil {
		return nil, err
	}
	s.answers = append(s.answers, Answer{Kind: "followup", Token: q.r.PathValue("token"), Body: q.body})
	return map[string]any{"id": s.nextIDLocked(), "content": b.Content}, nil
}

// ExpiredToken is an interaction token the fake treats as expired.
const ExpiredToken = "expired-token"
