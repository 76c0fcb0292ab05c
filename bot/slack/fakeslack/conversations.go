package fakeslack

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Slack's documented limits, enforced so tests fail the way production would.
const (
	maxChannelName = 80
	maxTopic       = 250
	maxInvite      = 1000
	defaultLimit   = 100
	maxHistory     = 999
)

// validateChannelName applies Slack's channel naming rules and returns the
// error code Slack uses, or "" if the name is acceptable. Slack also allows
// some non-Latin letters; the fake rejects them, which is stricter but keeps
// warroom's generated names portable.
func validateChannelName(name string) string {
	switch {
	case name == "":
		return "invalid_name_required"
	case utf8.RuneCountInString(name) > maxChannelName:
		return "invalid_name_maxlength"
	}
	punctOnly := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			punctOnly = false
		case r == '-' || r == '_':
		default:
			return "invalid_name_specials"
		}
	}
	if punctOnly {
		return "invalid_name_punctuation"
	}
	return ""
}

// looksLikeUserID accepts the shapes of Slack user IDs (U… or W…, upper-case
// alphanumerics), so tests can invite users without registering each one.
func looksLikeUserID(id string) bool {
	if len(id) < 2 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, r := range id[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// nextTSLocked returns a message timestamp in Slack's "seconds.micros"
// format. Timestamps are synthetic (starting at 1700000000.000100 and
// stepping by 100µs) so they are unique, strictly increasing, fixed width
// and therefore also ordered as strings, and identical across test runs.
func (s *Server) nextTSLocked() string {
	micro := s.st.nextSeq() * 100
	return fmt.Sprintf("%d.%06d", 1700000000+micro/1e6, micro%1e6)
}

func (s *Server) newIDLocked(prefix string) string {
	return fmt.Sprintf("%s%07X", prefix, s.st.nextSeq())
}

func (s *Server) createChannelLocked(name string, private bool, creator string) *channel {
	c := &channel{Channel: Channel{
		ID:      s.newIDLocked("C"),
		Name:    name,
		Private: private,
		Creator: creator,
		Created: time.Now().Truncate(time.Second),
	}}
	s.st.channels[c.ID] = c
	s.st.channelOrder = append(s.st.channelOrder, c.ID)
	return c
}

// visibleChannelLocked finds a conversation by ID the way the bot token sees
// it: private channels the bot is not in do not exist.
func (s *Server) visibleChannelLocked(id string) (*channel, *apiError) {
	c, ok := s.st.channels[id]
	if !ok || (c.Private && !c.HasMember(DefaultBotUser)) {
		return nil, errCode("channel_not_found")
	}
	return c, nil
}

// memberChannelLocked is visibleChannelLocked plus the membership Slack
// requires for reading and writing a channel.
func (s *Server) memberChannelLocked(id string) (*channel, *apiError) {
	c, aerr := s.visibleChannelLocked(id)
	if aerr != nil {
		return nil, aerr
	}
	if !c.HasMember(DefaultBotUser) {
		return nil, errCode("not_in_channel")
	}
	return c, nil
}

func (s *Server) channelJSON(c *channel) reply {
	return reply{
		"id":                    c.ID,
		"name":                  c.Name,
		"name_normalized":       c.Name,
		"is_channel":            true,
		"is_group":              false,
		"is_im":                 false,
		"is_mpim":               false,
		"is_private":            c.Private,
		"created":               c.Created.Unix(),
		"creator":               c.Creator,
		"is_archived":           c.Archived,
		"is_general":            false,
		"unlinked":              0,
		"is_shared":             false,
		"is_org_shared":         false,
		"is_ext_shared":         false,
		"is_pending_ext_shared": false,
		"is_member":             c.HasMember(DefaultBotUser),
		"context_team_id":       DefaultTeamID,
		"previous_names":        []string{},
		"topic":                 reply{"value": c.Topic, "creator": c.topicBy, "last_set": unixOrZero(c.topicSet)},
		"purpose":               reply{"value": c.Purpose, "creator": "", "last_set": 0},
	}
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Server) conversationsCreate(r *apiRequest) (reply, *apiError) {
	name := r.get("name")
	if code := validateChannelName(name); code != "" {
		return nil, errCode(code)
	}
	// Archived channels keep their names, exactly as in Slack, which is why
	// warroom must not reuse incident channel names.
	if s.st.channelByName(name) != nil {
		return nil, errCode("name_taken")
	}
	c := s.createChannelLocked(name, r.bool("is_private"), DefaultBotUser)
	c.Members = []string{DefaultBotUser}
	return reply{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsInfo(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	ch := s.channelJSON(c)
	if r.bool("include_num_members") {
		ch["num_members"] = len(c.Members)
	}
	return reply{"channel": ch}, nil
}

func (s *Server) conversationsInvite(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	if c.Archived {
		return nil, errCode("is_archived")
	}
	if !c.HasMember(DefaultBotUser) {
		return nil, errCode("not_in_channel")
	}
	var users []string
	for u := range strings.SplitSeq(r.get("users"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	users = dedupe(users)
	switch {
	case len(users) == 0:
		return nil, errCode("no_user")
	case len(users) > maxInvite:
		return nil, errCode("too_many_users")
	}
	var fresh, already []string
	for _, u := range users {
		_, known := s.st.users[u]
		switch {
		case u == DefaultBotUser:
			return nil, errCode("cant_invite_self")
		case !known && !looksLikeUserID(u):
			return nil, &apiError{code: "user_not_found", extra: map[string]any{
				"errors": []reply{{"user": u, "ok": false, "error": "user_not_found"}},
			}}
		case c.HasMember(u):
			already = append(already, u)
		default:
			fresh = append(fresh, u)
		}
	}
	// Slack only fails the whole call when nobody new could be added; a mix
	// of new and existing members succeeds and adds the new ones.
	if len(fresh) == 0 {
		errs := make([]reply, 0, len(already))
		for _, u := range already {
			errs = append(errs, reply{"user": u, "ok": false, "error": "already_in_channel"})
		}
		return nil, &apiError{code: "already_in_channel", extra: map[string]any{"errors": errs}}
	}
	c.Members = append(c.Members, fresh...)
	return reply{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsSetTopic(r *apiRequest) (reply, *apiError) {
	c, aerr := s.memberChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	if c.Archived {
		return nil, errCode("is_archived")
	}
	topic := r.get("topic")
	if utf8.RuneCountInString(topic) > maxTopic {
		return nil, errCode("too_long")
	}
	c.Topic = topic
	c.topicBy = DefaultBotUser
	c.topicSet = time.Now()
	return reply{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsArchive(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	if c.Archived {
		return nil, errCode("already_archived")
	}
	if !c.HasMember(DefaultBotUser) {
		return nil, errCode("not_in_channel")
	}
	c.Archived = true
	return reply{}, nil
}

func (s *Server) conversationsJoin(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	if c.Private {
		return nil, errCode("method_not_supported_for_channel_type")
	}
	if c.Archived {
		return nil, errCode("is_archived")
	}
	if c.HasMember(DefaultBotUser) {
		// Joining twice is not an error in Slack, only a warning.
		return reply{
			"channel":           s.channelJSON(c),
			"warning":           "already_in_channel",
			"response_metadata": reply{"warnings": []string{"already_in_channel"}},
		}, nil
	}
	c.Members = append(c.Members, DefaultBotUser)
	return reply{"channel": s.channelJSON(c)}, nil
}

func (s *Server) conversationsMembers(r *apiRequest) (reply, *apiError) {
	c, aerr := s.visibleChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	return reply{
		"members":           slices.Clone(c.Members),
		"response_metadata": reply{"next_cursor": ""},
	}, nil
}

func (s *Server) conversationsList(r *apiRequest) (reply, *apiError) {
	types := r.get("types")
	if types == "" {
		types = "public_channel"
	}
	wantPublic := strings.Contains(types, "public_channel")
	wantPrivate := strings.Contains(types, "private_channel")
	excludeArchived := r.bool("exclude_archived")

	var visible []*channel
	for _, id := range s.st.channelOrder {
		c := s.st.channels[id]
		switch {
		case excludeArchived && c.Archived:
		case !c.Private && wantPublic:
			visible = append(visible, c)
		case c.Private && wantPrivate && c.HasMember(DefaultBotUser):
			visible = append(visible, c)
		}
	}
	start, aerr := decodeCursor(r.get("cursor"), "offset:")
	if aerr != nil {
		return nil, aerr
	}
	n, _ := strconv.Atoi(start)
	limit := limitParam(r, 1000)
	page, next := paginate(visible, n, limit)
	chans := make([]reply, 0, len(page))
	for _, c := range page {
		ch := s.channelJSON(c)
		ch["num_members"] = len(c.Members)
		chans = append(chans, ch)
	}
	cursor := ""
	if next >= 0 {
		cursor = encodeCursor("offset:", strconv.Itoa(next))
	}
	return reply{"channels": chans, "response_metadata": reply{"next_cursor": cursor}}, nil
}

func paginate[T any](items []T, offset, limit int) ([]T, int) {
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+limit, len(items))
	next := -1
	if end < len(items) {
		next = end
	}
	return items[offset:end], next
}

func limitParam(r *apiRequest, max int) int {
	n, err := strconv.Atoi(r.get("limit"))
	if err != nil || n <= 0 {
		return defaultLimit
	}
	return min(n, max)
}

func (s *Server) conversationsHistory(r *apiRequest) (reply, *apiError) {
	c, aerr := s.memberChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	latest, oldest := r.get("latest"), r.get("oldest")
	inclusive := r.bool("inclusive")
	before, aerr := decodeCursor(r.get("cursor"), "next_ts:")
	if aerr != nil {
		return nil, aerr
	}
	allMeta := r.bool("include_all_metadata")
	limit := limitParam(r, maxHistory)

	// Walk newest first; thread replies only appear in history when they
	// were broadcast to the channel, as in Slack.
	var out []reply
	hasMore := false
	nextTS := ""
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		if m.IsReply() && !m.ReplyBroadcast {
			continue
		}
		if before != "" && cmpTS(m.TS, before) >= 0 {
			continue
		}
		if latest != "" && (cmpTS(m.TS, latest) > 0 || (!inclusive && cmpTS(m.TS, latest) == 0)) {
			continue
		}
		if oldest != "" && (cmpTS(m.TS, oldest) < 0 || (!inclusive && cmpTS(m.TS, oldest) == 0)) {
			continue
		}
		if len(out) == limit {
			hasMore = true
			break
		}
		out = append(out, s.messageJSON(m, allMeta))
		nextTS = m.TS
	}
	resp := reply{"messages": nonNil(out), "has_more": hasMore, "pin_count": len(c.pins)}
	if hasMore {
		resp["response_metadata"] = reply{"next_cursor": encodeCursor("next_ts:", nextTS)}
	}
	return resp, nil
}

func (s *Server) conversationsReplies(r *apiRequest) (reply, *apiError) {
	c, aerr := s.memberChannelLocked(r.get("channel"))
	if aerr != nil {
		return nil, aerr
	}
	ts := r.get("ts")
	parent, _ := c.message(ts)
	if parent == nil {
		return nil, errCode("thread_not_found")
	}
	root := parent.TS
	if parent.IsReply() {
		root = parent.ThreadTS
	}
	allMeta := r.bool("include_all_metadata")
	var out []reply
	for _, m := range c.messages {
		if m.TS == root || m.ThreadTS == root {
			out = append(out, s.messageJSON(m, allMeta))
		}
	}
	return reply{"messages": nonNil(out), "has_more": false, "response_metadata": reply{"next_cursor": ""}}, nil
}

func nonNil(r []reply) []reply {
	if r == nil {
		return []reply{}
	}
	return r
}

// messageJSON renders a message the way conversations.history does. Slack
// returns metadata for the calling app's own messages, and for everyone's
// when include_all_metadata is set.
func (s *Server) messageJSON(m *message, allMeta bool) reply {
	out := reply{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS, "team": DefaultTeamID}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
		out["app_id"] = DefaultAppID
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if len(m.Attachments) > 0 {
		out["attachments"] = m.Attachments
	}
	if len(m.Metadata) > 0 && (allMeta || m.BotID == DefaultBotID) {
		out["metadata"] = m.Metadata
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.ReplyCount > 0 {
		out["reply_count"] = m.ReplyCount
	}
	if m.IsReply() {
		out["parent_user_id"] = ""
		if m.ReplyBroadcast {
			out["subtype"] = "thread_broadcast"
		}
	}
	if m.Edits > 0 {
		out["edited"] = reply{"user": m.User, "ts": m.editedTS}
	}
	return out
}

// cmpTS compares Slack timestamps numerically, so that caller-supplied
// bounds like "1700000000" compare correctly against "1700000000.000100".
func cmpTS(a, b string) int {
	as, af := splitTS(a)
	bs, bf := splitTS(b)
	switch {
	case as != bs:
		return cmpInt(as, bs)
	default:
		return cmpInt(af, bf)
	}
}

func splitTS(ts string) (int64, int64) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000")[:6]
	f, _ := strconv.ParseInt(frac, 10, 64)
	return s, f
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Cursors are opaque to clients; the fake uses base64 of a tagged value, the
// same construction Slack's own cursors visibly use.
func encodeCursor(tag, v string) string {
	return base64.StdEncoding.EncodeToString([]byte(tag + v))
}

func decodeCursor(cursor, tag string) (string, *apiError) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(b), tag) {
		return "", errCode("invalid_cursor")
	}
	return strings.TrimPrefix(string(b), tag), nil
}
