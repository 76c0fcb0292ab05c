package fakeslack

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"
)

// Slack's documented message limits.
const (
	maxText   = 40000
	maxBlocks = 50
)

// content is the message body of chat.postMessage, chat.update and
// chat.postEphemeral. The has* flags distinguish "not sent" from "sent
// empty", which matters for chat.update.
type content struct {
	text                              string
	blocks, attachments, metadata     json.RawMessage
	hasText, hasBlocks, hasAttachment bool
	hasMetadata                       bool
}

func (c content) empty() bool {
	return c.text == "" && len(c.blocks) == 0 && len(c.attachments) == 0
}

// parseContent validates the message fields the way Slack does and returns
// Slack's error codes for bad input, so the adapter's block builders are
// tested against real constraints (e.g. the 50-block limit).
func parseContent(r *apiRequest) (content, *apiError) {
	c := content{text: r.get("text"), hasText: r.has("text")}
	if utf8.RuneCountInString(c.text) > maxText {
		return c, errCode("msg_too_long")
	}
	if r.has("blocks") {
		c.hasBlocks = true
		var blocks []json.RawMessage
		if err := json.Unmarshal([]byte(r.get("blocks")), &blocks); err != nil {
			return c, errCode("invalid_blocks_format")
		}
		if len(blocks) > maxBlocks {
			return c, errCode("invalid_blocks")
		}
		for _, b := range blocks {
			var typed struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(b, &typed) != nil || typed.Type == "" {
				return c, errCode("invalid_blocks")
			}
		}
		if len(blocks) > 0 {
			c.blocks = compact(r.get("blocks"))
		}
	}
	if r.has("attachments") {
		c.hasAttachment = true
		var atts []json.RawMessage
		if err := json.Unmarshal([]byte(r.get("attachments")), &atts); err != nil {
			return c, errCode("invalid_attachments")
		}
		if len(atts) > 0 {
			c.attachments = compact(r.get("attachments"))
		}
	}
	if r.has("metadata") && r.get("metadata") != "" {
		c.hasMetadata = true
		var md struct {
			EventType    string          `json:"event_type"`
			EventPayload json.RawMessage `json:"event_payload"`
		}
		if err := json.Unmarshal([]byte(r.get("metadata")), &md); err != nil || md.EventType == "" {
			return c, errCode("invalid_metadata_format")
		}
		if p := bytes.TrimSpace(md.EventPayload); len(p) > 0 && p[0] != '{' && !bytes.Equal(p, []byte("null")) {
			return c, errCode("invalid_metadata_format")
		}
		c.metadata = compact(r.get("metadata"))
	}
	return c, nil
}

func compact(s string) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return json.RawMessage(s)
	}
	return b.Bytes()
}

// postTargetLocked resolves the channel argument of chat.postMessage and
// chat.postEphemeral, which (unlike conversations.*) also accept a channel
// name, and applies Slack's posting rules.
func (s *Server) postTargetLocked(ref string) (*channel, *apiError) {
	c, ok := s.st.channels[ref]
	if !ok {
		c = s.st.channelByName(ref)
	}
	if c == nil || (c.Private && !c.HasMember(DefaultBotUser)) {
		return nil, errCode("channel_not_found")
	}
	if c.Archived {
		return nil, errCode("is_archived")
	}
	if !c.HasMember(DefaultBotUser) {
		return nil, errCode("not_in_channel")
	}
	return c, nil
}

func (s *Server) chatPostMessage(r *apiRequest) (reply, *apiError) {
	c, aerr := s.postTargetLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	body, aerr := parseContent(r)
	if aerr != nil {
		return nil, aerr
	}
	if body.empty() {
		return nil, errCode("no_text")
	}
	m := &message{Message: Message{
		Channel:     c.ID,
		TS:          s.nextTSLocked(),
		User:        DefaultBotUser,
		BotID:       DefaultBotID,
		Text:        body.text,
		Blocks:      body.blocks,
		Attachments: body.attachments,
		Metadata:    body.metadata,
	}}
	if thread := r.get("thread_ts"); thread != "" {
		m.ThreadTS = thread
		m.ReplyBroadcast = r.bool("reply_broadcast")
		if parent, _ := c.message(thread); parent != nil {
			parent.ThreadTS = parent.TS
			parent.ReplyCount++
		}
	}
	c.messages = append(c.messages, m)
	return reply{"channel": c.ID, "ts": m.TS, "message": s.messageJSON(m, true)}, nil
}

func (s *Server) chatUpdate(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	m, _ := c.message(r.get("ts"))
	if m == nil {
		return nil, errCode("message_not_found")
	}
	if m.BotID != DefaultBotID {
		return nil, errCode("cant_update_message")
	}
	if c.Archived {
		return nil, errCode("is_archived")
	}
	body, aerr := parseContent(r)
	if aerr != nil {
		return nil, aerr
	}
	if !body.hasText && !body.hasBlocks && !body.hasAttachment {
		return nil, errCode("no_text")
	}
	// Only the fields that were sent are replaced, so an update that sends
	// new blocks keeps the old fallback text unless text is sent too.
	if body.hasText {
		m.Text = body.text
	}
	if body.hasBlocks {
		m.Blocks = body.blocks
	}
	if body.hasAttachment {
		m.Attachments = body.attachments
	}
	if body.hasMetadata {
		m.Metadata = body.metadata
	}
	m.Edits++
	m.editedTS = s.nextTSLocked()
	return reply{"channel": c.ID, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m, true)}, nil
}

func (s *Server) chatDelete(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	m, _ := c.message(r.get("ts"))
	if m == nil {
		return nil, errCode("message_not_found")
	}
	if m.BotID != DefaultBotID {
		return nil, errCode("cant_delete_message")
	}
	s.deleteMessageLocked(c, m.TS)
	return reply{"channel": c.ID, "ts": m.TS}, nil
}

func (s *Server) deleteMessageLocked(c *channel, ts string) {
	m, i := c.message(ts)
	if m == nil {
		return
	}
	c.messages = slices.Delete(c.messages, i, i+1)
	if m.IsReply() {
		if parent, _ := c.message(m.ThreadTS); parent != nil && parent.ReplyCount > 0 {
			parent.ReplyCount--
		}
	}
	c.pins = slices.DeleteFunc(c.pins, func(p pin) bool { return p.TS == ts })
}

func (s *Server) chatPostEphemeral(r *apiRequest) (reply, *apiError) {
	c, aerr := s.postTargetLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	user := r.get("user")
	if user == "" {
		return nil, errCode("user_not_found")
	}
	if !c.HasMember(user) {
		return nil, errCode("user_not_in_channel")
	}
	body, aerr := parseContent(r)
	if aerr != nil {
		return nil, aerr
	}
	if body.empty() {
		return nil, errCode("no_text")
	}
	e := Ephemeral{
		Channel:   c.ID,
		User:      user,
		MessageTS: s.nextTSLocked(),
		ThreadTS:  r.get("thread_ts"),
		Text:      body.text,
		Blocks:    body.blocks,
	}
	s.st.ephemerals = append(s.st.ephemerals, e)
	return reply{"message_ts": e.MessageTS}, nil
}

func (s *Server) pinsAdd(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	ts := r.get("timestamp")
	if ts == "" {
		return nil, errCode("no_item_specified")
	}
	if m, _ := c.message(ts); m == nil {
		return nil, errCode("message_not_found")
	}
	if slices.ContainsFunc(c.pins, func(p pin) bool { return p.TS == ts }) {
		return nil, errCode("already_pinned")
	}
	c.pins = append(c.pins, pin{TS: ts, By: DefaultBotUser, Created: time.Now()})
	return reply{}, nil
}

func (s *Server) pinsRemove(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	ts := r.get("timestamp")
	if ts == "" {
		return nil, errCode("no_item_specified")
	}
	n := len(c.pins)
	c.pins = slices.DeleteFunc(c.pins, func(p pin) bool { return p.TS == ts })
	if len(c.pins) == n {
		return nil, errCode("no_pin")
	}
	return reply{}, nil
}

func (s *Server) pinsList(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	items := make([]reply, 0, len(c.pins))
	// Slack lists the most recently pinned item first.
	for i := len(c.pins) - 1; i >= 0; i-- {
		p := c.pins[i]
		m, _ := c.message(p.TS)
		if m == nil {
			continue
		}
		items = append(items, reply{
			"type": "message", "channel": c.ID, "created": p.Created.Unix(), "created_by": p.By,
			"message": s.messageJSON(m, true),
		})
	}
	return reply{"items": items}, nil
}
