package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// setup starts a fake and a real slack-go client pointed at it.
func setup(t *testing.T) (*Server, *slack.Client) {
	t.Helper()
	srv := NewT(t)
	return srv, slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
}

// testCtx bounds every wait in a test, so a broken fake fails fast instead of
// hanging the suite.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// slackCode extracts the Slack error code from a slack-go error.
func slackCode(err error) string {
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return e.Err
	}
	return ""
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if got := slackCode(err); got != code {
		t.Fatalf("error = %v (code %q), want Slack error %q", err, got, code)
	}
}

func mustCreate(t *testing.T, api *slack.Client, name string, private bool) *slack.Channel {
	t.Helper()
	ch, err := api.CreateConversationContext(testCtx(t), slack.CreateConversationParams{ChannelName: name, IsPrivate: private})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return ch
}

func mustPost(t *testing.T, api *slack.Client, channel string, opts ...slack.MsgOption) string {
	t.Helper()
	_, ts, err := api.PostMessageContext(testCtx(t), channel, opts...)
	if err != nil {
		t.Fatalf("post to %s: %v", channel, err)
	}
	return ts
}

func TestAPIURL(t *testing.T) {
	srv := NewT(t)
	if !strings.HasPrefix(srv.APIURL(), "http://127.0.0.1:") || !strings.HasSuffix(srv.APIURL(), "/api/") {
		t.Fatalf("APIURL = %q, want http://127.0.0.1:PORT/api/", srv.APIURL())
	}
}

func TestAuthTest(t *testing.T) {
	srv, api := setup(t)
	got, err := api.AuthTestContext(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := slack.AuthTestResponse{
		URL: "https://warroom-test.slack.com/", Team: DefaultTeamName, User: DefaultBotName,
		TeamID: srv.TeamID(), UserID: srv.BotUserID(), BotID: DefaultBotID,
	}
	got.Header = nil
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("auth.test = %+v, want %+v", *got, want)
	}
}

func TestTokens(t *testing.T) {
	srv := NewT(t, WithBotToken("xoxb-custom"))
	tests := []struct {
		name, token, code string
	}{
		{"configured bot token", "xoxb-custom", ""},
		{"default token no longer valid", DefaultBotToken, "invalid_auth"},
		{"wrong token", "xoxb-wrong", "invalid_auth"},
		{"missing token", "", "not_authed"},
		{"app token on bot method", srv.AppToken(), "not_allowed_token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := slack.New(tt.token, slack.OptionAPIURL(srv.APIURL()))
			_, err := api.AuthTestContext(testCtx(t))
			wantCode(t, err, tt.code)
		})
	}

	// JSON methods authenticate with a Bearer header instead of a form field.
	api := slack.New("xoxb-wrong", slack.OptionAPIURL(srv.APIURL()))
	_, err := api.OpenViewContext(testCtx(t), "trigger", slack.ModalViewRequest{Type: slack.VTModal})
	wantCode(t, err, "invalid_auth")
	if got := srv.Calls("views.open")[0].Token; got != "xoxb-wrong" {
		t.Fatalf("recorded bearer token %q", got)
	}
}

func TestConversationsCreate(t *testing.T) {
	srv, api := setup(t)
	mustCreate(t, api, "inc-taken", false)
	archived := mustCreate(t, api, "inc-archived", false)
	if err := api.ArchiveConversationContext(testCtx(t), archived.ID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		channel string
		private bool
		code    string
	}{
		{"public", "inc-42-db-outage", false, ""},
		{"private", "sec-inc-43", true, ""},
		{"underscores and digits", "inc_44_2024", false, ""},
		{"exactly 80 chars", strings.Repeat("a", 80), false, ""},
		{"81 chars", strings.Repeat("a", 81), false, "invalid_name_maxlength"},
		{"uppercase", "Inc-45", false, "invalid_name_specials"},
		{"space", "inc 46", false, "invalid_name_specials"},
		{"period", "inc.47", false, "invalid_name_specials"},
		{"unicode", "inc-ü", false, "invalid_name_specials"},
		{"empty", "", false, "invalid_name_required"},
		{"punctuation only", "--_", false, "invalid_name_punctuation"},
		{"taken", "inc-taken", false, "name_taken"},
		{"taken by archived channel", "inc-archived", true, "name_taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := api.CreateConversationContext(testCtx(t), slack.CreateConversationParams{ChannelName: tt.channel, IsPrivate: tt.private})
			wantCode(t, err, tt.code)
			if tt.code != "" {
				return
			}
			if ch.Name != tt.channel || ch.IsPrivate != tt.private || !ch.IsMember || !ch.IsChannel || ch.Creator != srv.BotUserID() {
				t.Fatalf("response channel = %+v", ch)
			}
			got, ok := srv.ChannelByName("#" + tt.channel)
			if !ok || got.ID != ch.ID || got.Private != tt.private || !slices.Equal(got.Members, []string{srv.BotUserID()}) {
				t.Fatalf("state channel = %+v, %v", got, ok)
			}
			if got.Created.Unix() != ch.Created.Time().Unix() || time.Since(got.Created) > time.Minute {
				t.Fatalf("created = %v, api %v", got.Created, ch.Created.Time())
			}
		})
	}
}

func TestConversationsInfo(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-info", true)
	hidden := srv.AddChannel("secret", true, "U0OTHER01")

	tests := []struct {
		name, channel, code string
	}{
		{"own private channel", ch.ID, ""},
		{"unknown", "C404", "channel_not_found"},
		{"private channel without the bot", hidden.ID, "channel_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := api.GetConversationInfoContext(testCtx(t), &slack.GetConversationInfoInput{ChannelID: tt.channel, IncludeNumMembers: true})
			wantCode(t, err, tt.code)
			if tt.code == "" && (got.ID != ch.ID || got.Name != "inc-info" || !got.IsPrivate || got.NumMembers != 1) {
				t.Fatalf("info = %+v", got)
			}
		})
	}
}

func TestConversationsInvite(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-invite", false)
	archived := mustCreate(t, api, "inc-invite-archived", false)
	if err := api.ArchiveConversationContext(testCtx(t), archived.ID); err != nil {
		t.Fatal(err)
	}
	notMember := srv.AddChannel("general", false, "U0OTHER01")

	tests := []struct {
		name    string
		channel string
		users   []string
		code    string
		members []string // expected members afterwards
	}{
		{"two users", ch.ID, []string{"U0AAA", "U0BBB"}, "", []string{srv.BotUserID(), "U0AAA", "U0BBB"}},
		{"everyone already in", ch.ID, []string{"U0AAA", "U0BBB"}, "already_in_channel", []string{srv.BotUserID(), "U0AAA", "U0BBB"}},
		{"mix of old and new", ch.ID, []string{"U0AAA", "W0CCC"}, "", []string{srv.BotUserID(), "U0AAA", "U0BBB", "W0CCC"}},
		{"self", ch.ID, []string{srv.BotUserID()}, "cant_invite_self", nil},
		{"not a user id", ch.ID, []string{"bob"}, "user_not_found", nil},
		{"nobody", ch.ID, nil, "no_user", nil},
		{"archived", archived.ID, []string{"U0AAA"}, "is_archived", nil},
		{"bot not in channel", notMember.ID, []string{"U0AAA"}, "not_in_channel", nil},
		{"unknown channel", "C404", []string{"U0AAA"}, "channel_not_found", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.InviteUsersToConversationContext(testCtx(t), tt.channel, tt.users...)
			wantCode(t, err, tt.code)
			if tt.members != nil {
				got, _ := srv.Channel(tt.channel)
				if !slices.Equal(got.Members, tt.members) {
					t.Fatalf("members = %v, want %v", got.Members, tt.members)
				}
			}
		})
	}

	// Slack lists the per-user failures; slack-go decodes them.
	_, err := api.InviteUsersToConversationContext(testCtx(t), ch.ID, "U0AAA")
	e, _ := errors.AsType[slack.SlackErrorResponse](err)
	if len(e.Errors) != 1 || e.Errors[0].ConversationsInviteResponseError == nil ||
		e.Errors[0].ConversationsInviteResponseError.User != "U0AAA" {
		t.Fatalf("errors = %+v", e.Errors)
	}
}

func TestConversationsSetTopicArchiveJoin(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-topic", false)
	ctx := testCtx(t)

	got, err := api.SetTopicOfConversationContext(ctx, ch.ID, "SEV1: db down | IC: @alice")
	if err != nil || got.Topic.Value != "SEV1: db down | IC: @alice" || got.Topic.Creator != srv.BotUserID() {
		t.Fatalf("setTopic = %+v, %v", got, err)
	}
	if c, _ := srv.Channel(ch.ID); c.Topic != "SEV1: db down | IC: @alice" {
		t.Fatalf("state topic = %q", c.Topic)
	}
	_, err = api.SetTopicOfConversationContext(ctx, ch.ID, strings.Repeat("x", 251))
	wantCode(t, err, "too_long")

	wantCode(t, api.ArchiveConversationContext(ctx, ch.ID), "")
	wantCode(t, api.ArchiveConversationContext(ctx, ch.ID), "already_archived")
	wantCode(t, api.ArchiveConversationContext(ctx, "C404"), "channel_not_found")
	if c, _ := srv.Channel(ch.ID); !c.Archived {
		t.Fatal("channel not archived in state")
	}
	_, err = api.SetTopicOfConversationContext(ctx, ch.ID, "late")
	wantCode(t, err, "is_archived")
	_, _, err = api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("late", false))
	wantCode(t, err, "is_archived")

	general := srv.AddChannel("general", false, "U0OTHER01")
	joined, warning, _, err := api.JoinConversationContext(ctx, general.ID)
	if err != nil || joined.ID != general.ID || warning != "" {
		t.Fatalf("join = %+v, %q, %v", joined, warning, err)
	}
	_, warning, warnings, err := api.JoinConversationContext(ctx, general.ID)
	if err != nil || warning != "already_in_channel" || !slices.Equal(warnings, []string{"already_in_channel"}) {
		t.Fatalf("second join: warning %q %v, err %v", warning, warnings, err)
	}
	if c, _ := srv.Channel(general.ID); !slices.Equal(c.Members, []string{"U0OTHER01", srv.BotUserID()}) {
		t.Fatalf("members after join = %v", c.Members)
	}
	private := mustCreate(t, api, "inc-private", true)
	_, _, _, err = api.JoinConversationContext(ctx, private.ID)
	wantCode(t, err, "method_not_supported_for_channel_type")
	_, _, _, err = api.JoinConversationContext(ctx, ch.ID)
	wantCode(t, err, "is_archived")
}

func TestChatPostMessage(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-post", false)
	private := srv.AddChannel("sec-hidden", true, "U0OTHER01")
	outside := srv.AddChannel("random", false, "U0OTHER01")
	archived := mustCreate(t, api, "inc-post-archived", false)
	if err := api.ArchiveConversationContext(testCtx(t), archived.ID); err != nil {
		t.Fatal(err)
	}

	header := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "SEV1", false, false))
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*db* down", false, false), nil, nil)
	meta := slack.SlackMetadata{EventType: "incident_declared", EventPayload: map[string]any{"id": "INC-42"}}
	tooMany := make([]slack.Block, 51)
	for i := range tooMany {
		tooMany[i] = slack.NewDividerBlock()
	}

	tests := []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		code    string
	}{
		{"text", ch.ID, []slack.MsgOption{slack.MsgOptionText("hello", false)}, ""},
		{"blocks and metadata", ch.ID, []slack.MsgOption{slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(header, section), slack.MsgOptionMetadata(meta)}, ""},
		{"by name", "#inc-post", []slack.MsgOption{slack.MsgOptionText("by name", false)}, ""},
		{"no content", ch.ID, nil, "no_text"},
		{"empty blocks only", ch.ID, []slack.MsgOption{slack.MsgOptionBlocks()}, "no_text"},
		{"51 blocks", ch.ID, []slack.MsgOption{slack.MsgOptionBlocks(tooMany...)}, "invalid_blocks"},
		{"unknown channel", "C404", []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"private without bot", private.ID, []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"public without bot", outside.ID, []slack.MsgOption{slack.MsgOptionText("x", false)}, "not_in_channel"},
		{"archived", archived.ID, []slack.MsgOption{slack.MsgOptionText("x", false)}, "is_archived"},
	}
	tsPattern := regexp.MustCompile(`^\d{10}\.\d{6}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotCh, ts, msg, err := api.PostMessageWithResponseContext(testCtx(t), tt.channel, tt.opts...)
			wantCode(t, err, tt.code)
			if tt.code != "" {
				return
			}
			if gotCh != ch.ID || !tsPattern.MatchString(ts) || msg.Timestamp != ts || msg.BotID != DefaultBotID {
				t.Fatalf("post = %q %q %+v", gotCh, ts, msg)
			}
			stored, ok := srv.Message(ch.ID, ts)
			if !ok || stored.User != srv.BotUserID() {
				t.Fatalf("stored = %+v, %v", stored, ok)
			}
		})
	}

	msgs := srv.Messages(ch.ID)
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i-1].TS >= msgs[i].TS {
			t.Fatalf("timestamps not increasing: %q then %q", msgs[i-1].TS, msgs[i].TS)
		}
	}
	rich := msgs[1]
	blocks, err := rich.SlackBlocks()
	if err != nil || len(blocks.BlockSet) != 2 || blocks.BlockSet[0].BlockType() != slack.MBTHeader {
		t.Fatalf("blocks = %+v, %v (raw %s)", blocks, err, rich.Blocks)
	}
	md, err := rich.SlackMetadata()
	if err != nil || md.EventType != "incident_declared" || md.EventPayload["id"] != "INC-42" {
		t.Fatalf("metadata = %+v, %v", md, err)
	}
}

func TestChatThreads(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-thread", false)
	parent := mustPost(t, api, ch.ID, slack.MsgOptionText("incident declared", false))
	reply := mustPost(t, api, ch.ID, slack.MsgOptionText("timeline entry", false), slack.MsgOptionTS(parent))
	broadcast := mustPost(t, api, ch.ID, slack.MsgOptionText("resolved", false), slack.MsgOptionTS(parent), slack.MsgOptionBroadcast())

	p, _ := srv.Message(ch.ID, parent)
	r, _ := srv.Message(ch.ID, reply)
	if p.ReplyCount != 2 || p.IsReply() || !r.IsReply() || r.ThreadTS != parent {
		t.Fatalf("parent %+v reply %+v", p, r)
	}

	hist, err := api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: ch.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range hist.Messages {
		got = append(got, m.Timestamp)
	}
	// History hides plain replies but shows broadcast ones.
	if want := []string{broadcast, parent}; !slices.Equal(got, want) {
		t.Fatalf("history = %v, want %v", got, want)
	}

	msgs, _, _, err := api.GetConversationRepliesContext(testCtx(t), &slack.GetConversationRepliesParameters{ChannelID: ch.ID, Timestamp: parent})
	if err != nil || len(msgs) != 3 || msgs[0].Timestamp != parent || msgs[0].ReplyCount != 2 {
		t.Fatalf("replies = %+v, %v", msgs, err)
	}
	_, _, _, err = api.GetConversationRepliesContext(testCtx(t), &slack.GetConversationRepliesParameters{ChannelID: ch.ID, Timestamp: "1.000001"})
	wantCode(t, err, "thread_not_found")
}

func TestChatUpdateAndDelete(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-update", false)
	ts := mustPost(t, api, ch.ID, slack.MsgOptionText("status: investigating", false))
	userTS := srv.AddMessage(ch.ID, "U0ALICE", "me too")
	resolved := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*resolved*", false, false), nil, nil)

	tests := []struct {
		name     string
		channel  string
		ts       string
		opts     []slack.MsgOption
		code     string
		wantText string
		edits    int
	}{
		{"text", ch.ID, ts, []slack.MsgOption{slack.MsgOptionText("status: mitigated", false)}, "", "status: mitigated", 1},
		{"blocks keep text", ch.ID, ts, []slack.MsgOption{slack.MsgOptionBlocks(resolved)}, "", "status: mitigated", 2},
		{"nothing to change", ch.ID, ts, nil, "no_text", "", 0},
		{"unknown ts", ch.ID, "1700000099.000100", []slack.MsgOption{slack.MsgOptionText("x", false)}, "message_not_found", "", 0},
		{"someone else's message", ch.ID, userTS, []slack.MsgOption{slack.MsgOptionText("x", false)}, "cant_update_message", "", 0},
		{"unknown channel", "C404", ts, []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, gotTS, text, err := api.UpdateMessageContext(testCtx(t), tt.channel, tt.ts, tt.opts...)
			wantCode(t, err, tt.code)
			if tt.code != "" {
				return
			}
			m, _ := srv.Message(ch.ID, ts)
			if gotTS != ts || text != tt.wantText || m.Text != tt.wantText || m.Edits != tt.edits {
				t.Fatalf("update returned %q %q; state %+v", gotTS, text, m)
			}
		})
	}
	m, _ := srv.Message(ch.ID, ts)
	if !strings.Contains(string(m.Blocks), "*resolved*") {
		t.Fatalf("blocks not replaced: %s", m.Blocks)
	}

	_, _, err := api.DeleteMessageContext(testCtx(t), ch.ID, userTS)
	wantCode(t, err, "cant_delete_message")
	_, _, err = api.DeleteMessageContext(testCtx(t), ch.ID, ts)
	wantCode(t, err, "")
	if _, ok := srv.Message(ch.ID, ts); ok {
		t.Fatal("message still present after chat.delete")
	}
}

func TestConversationsHistory(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-history", false)
	meta := slack.SlackMetadata{EventType: "incident_update", EventPayload: map[string]any{"seq": 1}}
	var posted []string
	for i := range 5 {
		posted = append(posted, mustPost(t, api, ch.ID, slack.MsgOptionText(fmt.Sprint("update ", i), false), slack.MsgOptionMetadata(meta)))
	}
	human := srv.AddMessage(ch.ID, "U0ALICE", "what's the ETA?")
	newestFirst := slices.Clone(posted)
	slices.Reverse(newestFirst)
	newestFirst = append([]string{human}, newestFirst...)

	// Page through with a small limit and check order and cursors.
	var got []string
	cursor := ""
	for range 10 {
		resp, err := api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: ch.ID, Limit: 4, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.Messages {
			got = append(got, m.Timestamp)
			if m.Timestamp != human && m.Metadata.EventType != "incident_update" {
				t.Fatalf("bot message %s missing metadata: %+v", m.Timestamp, m.Metadata)
			}
		}
		if resp.HasMore != (resp.ResponseMetaData.NextCursor != "") {
			t.Fatalf("has_more %v with cursor %q", resp.HasMore, resp.ResponseMetaData.NextCursor)
		}
		cursor = resp.ResponseMetaData.NextCursor
		if cursor == "" {
			break
		}
	}
	if !slices.Equal(got, newestFirst) {
		t.Fatalf("history = %v, want %v", got, newestFirst)
	}

	resp, err := api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{
		ChannelID: ch.ID, Oldest: posted[1], Latest: posted[3], Inclusive: true,
	})
	if err != nil || len(resp.Messages) != 3 || resp.Messages[0].Timestamp != posted[3] {
		t.Fatalf("bounded history = %+v, %v", resp, err)
	}

	outside := srv.AddChannel("random", false, "U0OTHER01")
	_, err = api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: outside.ID})
	wantCode(t, err, "not_in_channel")
	_, err = api.GetConversationHistoryContext(testCtx(t), &slack.GetConversationHistoryParameters{ChannelID: ch.ID, Cursor: "garbage!"})
	wantCode(t, err, "invalid_cursor")
}

func TestConversationsListAndMembers(t *testing.T) {
	srv, api := setup(t)
	pub := mustCreate(t, api, "inc-list", false)
	priv := mustCreate(t, api, "inc-list-private", true)
	srv.AddChannel("hidden", true, "U0OTHER01")

	chans, _, err := api.GetConversationsContext(testCtx(t), &slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range chans {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{pub.ID, priv.ID}) {
		t.Fatalf("list = %v, want %v", ids, []string{pub.ID, priv.ID})
	}

	if _, err := api.InviteUsersToConversationContext(testCtx(t), pub.ID, "U0AAA"); err != nil {
		t.Fatal(err)
	}
	members, _, err := api.GetUsersInConversationContext(testCtx(t), &slack.GetUsersInConversationParameters{ChannelID: pub.ID})
	if err != nil || !slices.Equal(members, []string{srv.BotUserID(), "U0AAA"}) {
		t.Fatalf("members = %v, %v", members, err)
	}
}

func TestChatPostEphemeral(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-eph", false)
	if _, err := api.InviteUsersToConversationContext(testCtx(t), ch.ID, "U0ALICE"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, code string
	}{
		{"member", "U0ALICE", ""},
		{"not a member", "U0BOB", "user_not_in_channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := api.PostEphemeralContext(testCtx(t), ch.ID, tt.user, slack.MsgOptionText("only you can see this", false))
			wantCode(t, err, tt.code)
			if tt.code == "" && ts == "" {
				t.Fatal("no message_ts")
			}
		})
	}
	eph := srv.Ephemerals()
	if len(eph) != 1 || eph[0].User != "U0ALICE" || eph[0].Channel != ch.ID || eph[0].Text != "only you can see this" {
		t.Fatalf("ephemerals = %+v", eph)
	}
	if len(srv.Messages(ch.ID)) != 0 {
		t.Fatal("ephemeral leaked into channel history")
	}
}

func TestPins(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-pins", false)
	ts := mustPost(t, api, ch.ID, slack.MsgOptionText("incident summary", false))

	tests := []struct {
		name, channel, ts, code string
	}{
		{"pin", ch.ID, ts, ""},
		{"again", ch.ID, ts, "already_pinned"},
		{"unknown message", ch.ID, "1700000099.000100", "message_not_found"},
		{"no timestamp", ch.ID, "", "no_item_specified"},
		{"unknown channel", "C404", ts, "channel_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := api.AddPinContext(testCtx(t), tt.channel, slack.ItemRef{Timestamp: tt.ts})
			wantCode(t, err, tt.code)
		})
	}
	if got := srv.Pins(ch.ID); !slices.Equal(got, []string{ts}) {
		t.Fatalf("pins = %v", got)
	}
	items, _, err := api.ListPinsContext(testCtx(t), ch.ID)
	if err != nil || len(items) != 1 || items[0].Message == nil || items[0].Message.Timestamp != ts {
		t.Fatalf("pins.list = %+v, %v", items, err)
	}
	wantCode(t, api.RemovePinContext(testCtx(t), ch.ID, slack.ItemRef{Timestamp: ts}), "")
	wantCode(t, api.RemovePinContext(testCtx(t), ch.ID, slack.ItemRef{Timestamp: ts}), "no_pin")
}

func TestUsersAndGroups(t *testing.T) {
	srv, api := setup(t)
	srv.AddUser(slack.User{ID: "U0ALICE", Name: "alice", RealName: "Alice Oncall"})
	srv.SetUserGroup("S0ONCALL", "U0ALICE", "U0BOB")

	members, err := api.GetUserGroupMembersContext(testCtx(t), "S0ONCALL")
	if err != nil || !slices.Equal(members, []string{"U0ALICE", "U0BOB"}) {
		t.Fatalf("usergroup = %v, %v", members, err)
	}
	_, err = api.GetUserGroupMembersContext(testCtx(t), "S0NOPE")
	wantCode(t, err, "no_such_subteam")

	tests := []struct {
		name, user, code, wantName string
	}{
		{"registered", "U0ALICE", "", "alice"},
		{"bot", srv.BotUserID(), "", DefaultBotName},
		{"unknown", "U0NOBODY", "user_not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := api.GetUserInfoContext(testCtx(t), tt.user)
			wantCode(t, err, tt.code)
			if tt.code == "" && (u.Name != tt.wantName || u.TeamID != srv.TeamID()) {
				t.Fatalf("user = %+v", u)
			}
		})
	}
}

func TestViewsOpen(t *testing.T) {
	srv, api := setup(t)
	trigger := srv.NewTriggerID()
	modal := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Declare incident", false, false),
		CallbackID:      "declare",
		PrivateMetadata: "C123",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("sev", slack.NewTextBlockObject(slack.PlainTextType, "Severity", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "sev_input")),
		}},
	}
	resp, err := api.OpenViewContext(testCtx(t), trigger, modal)
	if err != nil || resp.ID == "" || resp.CallbackID != "declare" || resp.RootViewID != resp.ID || len(resp.Blocks.BlockSet) != 1 {
		t.Fatalf("views.open = %+v, %v", resp, err)
	}
	views := srv.Views()
	if len(views) != 1 || views[0].TriggerID != trigger || views[0].CallbackID != "declare" || views[0].PrivateMetadata != "C123" {
		t.Fatalf("views = %+v", views)
	}
	if m, err := views[0].Modal(); err != nil || m.Title.Text != "Declare incident" {
		t.Fatalf("modal = %+v, %v", m, err)
	}
	if call := srv.Calls("views.open")[0]; call.JSON["trigger_id"] != trigger || call.Form.Get("trigger_id") != trigger {
		t.Fatalf("call log = %+v", call)
	}

	_, err = api.OpenViewContext(testCtx(t), trigger, modal)
	wantCode(t, err, "exchanged_trigger_id")
	_, err = api.OpenViewContext(testCtx(t), srv.NewTriggerID(), slack.ModalViewRequest{Type: slack.VTHomeTab})
	wantCode(t, err, "invalid_arguments")
}

func TestUnknownMethod(t *testing.T) {
	srv, api := setup(t)
	_, err := api.GetTeamInfoContext(testCtx(t))
	wantCode(t, err, "unknown_method")
	if srv.CallCount("team.info") != 1 {
		t.Fatal("unknown method not recorded")
	}
}

func TestCallLogAndWaitFor(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-log", false)

	// Post from other goroutines and wait for the state, not for time.
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			_, _, _ = api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(fmt.Sprint("msg ", i), false))
		})
	}
	err := srv.WaitFor(ctx, func(s *State) bool { return len(s.Messages(ch.ID)) == 5 })
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	calls := srv.Calls("chat.postMessage")
	if len(calls) != 5 || srv.CallCount("chat.postMessage") != 5 || srv.CallCount("") != 6 {
		t.Fatalf("calls = %d, counts %d/%d", len(calls), srv.CallCount("chat.postMessage"), srv.CallCount(""))
	}
	c := calls[0]
	if c.Form.Get("channel") != ch.ID || c.Token != srv.BotToken() || c.Form.Has("token") || c.Fault != nil || c.Error != "" || c.Time.IsZero() {
		t.Fatalf("call = %+v", c)
	}

	_, _, err = api.PostMessageContext(testCtx(t), "C404", slack.MsgOptionText("x", false))
	wantCode(t, err, "channel_not_found")
	if last := srv.Calls("chat.postMessage")[5]; last.Error != "channel_not_found" {
		t.Fatalf("failed call = %+v", last)
	}

	// A condition that never holds ends with the context.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := srv.WaitFor(ctx, func(*State) bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor = %v", err)
	}

	// Accessors return copies: mutating them does not change the fake.
	got, _ := srv.Channel(ch.ID)
	got.Members[0] = "U0MUTATED"
	if again, _ := srv.Channel(ch.ID); again.Members[0] != srv.BotUserID() {
		t.Fatal("Channel returned shared state")
	}
	raw, _ := json.Marshal(srv.Channels())
	if !strings.Contains(string(raw), ch.ID) {
		t.Fatalf("Channels() = %s", raw)
	}
}
