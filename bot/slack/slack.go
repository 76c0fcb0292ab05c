// Package slack is warroom's Slack adapter: it implements bot.Platform with
// slack-go, serves Slack's slash-command, interaction and event endpoints
// (and Socket Mode, for teams without a public URL), and renders neutral
// messages as Block Kit. No Slack type leaves this package.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom-bot/warroom/bot"
)

// Config configures the adapter.
type Config struct {
	BotToken      string
	SigningSecret string
	AppToken      string // enables Socket Mode
	// APIURL points slack-go at another server (a proxy, a test fake); it
	// must end with "/api/".
	APIURL string
	// Handler answers commands and clicks.
	Handler bot.Handler
	Logger  *slog.Logger
	// AckTimeout is how long a command may run before Slack gets a
	// "working on it" acknowledgement instead of the answer (default 2.5s,
	// inside Slack's 3-second limit).
	AckTimeout time.Duration
	// HTTPClient is used for all calls to Slack (default: 30s timeout).
	HTTPClient *http.Client
}

// Adapter is the Slack platform.
type Adapter struct {
	cfg  Config
	api  *slack.Client
	http *http.Client
	log  *slog.Logger
	// replays holds the signatures seen in Slack's 5-minute window.
	replays bot.ReplayCache

	mu      sync.Mutex
	teamURL string // "https://acme.slack.com/", learnt from auth.test
	botUser string // the bot's own user id, learnt from auth.test
	authErr error  // outcome of the last auth.test
	groups  map[string]groupEntry

	// background holds replies still being worked on after an ack.
	background sync.WaitGroup
}

// New returns a Slack adapter. It makes no network call.
func New(cfg Config) *Adapter {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 2500 * time.Millisecond
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	opts := []slack.Option{slack.OptionHTTPClient(cfg.HTTPClient)}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	return &Adapter{
		cfg: cfg, api: slack.New(cfg.BotToken, opts...), http: cfg.HTTPClient,
		log: cfg.Logger.With("platform", "slack"), authErr: errors.New("not checked yet"),
		replays: bot.ReplayCache{Keep: 6 * time.Minute},
	}
}

// Name implements bot.Platform.
func (a *Adapter) Name() string { return "slack" }

// Check calls auth.test and remembers the outcome for readiness.
func (a *Adapter) Check(ctx context.Context) error {
	res, err := a.api.AuthTestContext(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.authErr = fmt.Errorf("slack auth.test: %w", err)
		return a.authErr
	}
	a.teamURL, a.botUser, a.authErr = res.URL, res.UserID, nil
	return nil
}

// Ready reports the outcome of the last Check.
func (a *Adapter) Ready() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.authErr
}

// Wait blocks until replies that were still being worked on after their
// acknowledgement have been sent.
func (a *Adapter) Wait() { a.background.Wait() }

// Limits implements bot.RateLimiter with Slack's published tiers, so the
// outbox paces itself instead of collecting 429s.
func (a *Adapter) Limits() map[bot.Op][]bot.Limit {
	tier2 := bot.Limit{PerMinute: 20, Burst: 5}
	tier3 := bot.Limit{PerMinute: 50, Burst: 10}
	return map[bot.Op][]bot.Limit{
		bot.OpCreateRoom: {tier2},
		bot.OpSetTopic:   {tier2},
		bot.OpArchive:    {tier2},
		bot.OpPin:        {tier2},
		bot.OpInvite:     {tier3},
		bot.OpUpdate:     {tier3},
		// chat.postMessage: about one per second per channel.
		bot.OpPost: {{PerMinute: 60, Burst: 3, PerRoom: true}},
	}
}

// classify turns a slack-go error into what the dispatcher acts on.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &bot.RetryAfterError{After: rl.RetryAfter, Err: err}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code >= 500 || sc.Code == http.StatusTooManyRequests || sc.Code == http.StatusRequestTimeout {
			return err
		}
		return bot.Permanent(err)
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "channel_not_found", "is_archived", "not_in_channel", "invalid_blocks", "invalid_arguments",
			"msg_too_long", "no_text", "message_not_found", "cant_update_message", "restricted_action",
			"invalid_name", "invalid_name_specials", "invalid_name_required", "invalid_name_maxlength",
			"user_not_found", "too_many_attachments", "invalid_metadata_format":
			return bot.Permanent(err)
		}
		return err // auth and server-side trouble: an operator may fix it, keep trying
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return err
}

func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// maxNameTries bounds the "-2", "-3"… suffixes tried for a taken name.
const maxNameTries = 20

// CreateRoom implements bot.Platform. A taken name gets a numeric suffix.
func (a *Adapter) CreateRoom(ctx context.Context, spec bot.RoomSpec) (bot.RoomRef, error) {
	name := spec.Name
	for i := 2; ; i++ {
		ch, err := a.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: spec.Private})
		if err == nil {
			return bot.RoomRef{Platform: "slack", ID: ch.ID, Name: ch.Name, URL: a.channelURL(ch.ID)}, nil
		}
		if slackErr(err) != "name_taken" || i > maxNameTries {
			return bot.RoomRef{}, fmt.Errorf("create channel %s: %w", name, classify(err))
		}
		suffix := "-" + strconv.Itoa(i)
		base := spec.Name
		if len(base)+len(suffix) > 80 {
			base = strings.TrimRight(base[:80-len(suffix)], "-")
		}
		name = base + suffix
	}
}

// maxFindPages bounds the channel listing FindRoom reads: it runs only when
// a creation may have been lost, and must not walk a huge workspace.
const maxFindPages = 10

// FindRoom implements bot.RoomFinder: a channel of that name that the bot
// created, archived or not.
func (a *Adapter) FindRoom(ctx context.Context, name string) (bot.RoomRef, bool, error) {
	a.mu.Lock()
	me := a.botUser
	a.mu.Unlock()
	if me == "" {
		return bot.RoomRef{}, false, nil
	}
	cursor := ""
	for range maxFindPages {
		chans, next, err := a.api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
			Cursor: cursor, Limit: 1000, Types: []string{"public_channel", "private_channel"},
		})
		if err != nil {
			return bot.RoomRef{}, false, classify(err)
		}
		for _, ch := range chans {
			if ch.Name == name && ch.Creator == me {
				return bot.RoomRef{Platform: "slack", ID: ch.ID, Name: ch.Name, URL: a.channelURL(ch.ID)}, true, nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return bot.RoomRef{}, false, nil
}

func (a *Adapter) channelURL(id string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.teamURL == "" {
		return ""
	}
	return strings.TrimRight(a.teamURL, "/") + "/archives/" + id
}

// Invite implements bot.Platform. User-group ids (S…) are expanded to their
// members; users already in the channel are fine.
func (a *Adapter) Invite(ctx context.Context, room bot.RoomRef, users []string) error {
	var ids []string
	for _, u := range users {
		if strings.HasPrefix(u, "S") {
			members, err := a.api.GetUserGroupMembersContext(ctx, u)
			if err != nil {
				return fmt.Errorf("expand user group %s: %w", u, classify(err))
			}
			ids = append(ids, members...)
			continue
		}
		ids = append(ids, u)
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := a.api.InviteUsersToConversationContext(ctx, room.ID, ids...)
	switch slackErr(err) {
	case "", "already_in_channel", "cant_invite_self":
		return nil
	case "user_not_found", "cant_invite", "user_is_restricted", "ura_max_channels":
		// One bad id must not keep the rest out: invite one by one.
		var failed []string
		for _, id := range ids {
			_, err := a.api.InviteUsersToConversationContext(ctx, room.ID, id)
			switch slackErr(err) {
			case "", "already_in_channel", "cant_invite_self":
			default:
				failed = append(failed, id)
				a.log.Warn("could not invite user", "channel", room.ID, "user", id, "err", err)
			}
		}
		if len(failed) == len(ids) {
			return bot.Permanent(fmt.Errorf("invite %v: nobody could be invited", failed))
		}
		return nil
	}
	return fmt.Errorf("invite to %s: %w", room.ID, classify(err))
}

// metadataType marks the messages warroom posts, for FindPosted.
const metadataType = "warroom_message"

// Post implements bot.Platform.
func (a *Adapter) Post(ctx context.Context, room bot.RoomRef, msg bot.Message) (bot.MessageRef, error) {
	blocks, text := Blocks(msg)
	opts := []slack.MsgOption{slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false)}
	if msg.Tag != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataType, EventPayload: map[string]any{"tag": msg.Tag}}))
	}
	ch, ts, err := a.api.PostMessageContext(ctx, room.ID, opts...)
	if err != nil {
		return bot.MessageRef{}, fmt.Errorf("post to %s: %w", room.ID, classify(err))
	}
	room.ID = ch
	return bot.MessageRef{Room: room, ID: ts}, nil
}

// FindPosted implements bot.Finder by looking through the channel's recent
// history for a message carrying the tag in its metadata.
func (a *Adapter) FindPosted(ctx context.Context, room bot.RoomRef, tag string) (bot.MessageRef, bool, error) {
	res, err := a.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
		ChannelID: room.ID, Limit: 100, IncludeAllMetadata: true,
	})
	if err != nil {
		return bot.MessageRef{}, false, classify(err)
	}
	for _, m := range res.Messages {
		if m.Metadata.EventType == metadataType && m.Metadata.EventPayload["tag"] == tag {
			return bot.MessageRef{Room: room, ID: m.Timestamp}, true, nil
		}
	}
	return bot.MessageRef{}, false, nil
}

// Update implements bot.Platform.
func (a *Adapter) Update(ctx context.Context, ref bot.MessageRef, msg bot.Message) error {
	blocks, text := Blocks(msg)
	_, _, _, err := a.api.UpdateMessageContext(ctx, ref.Room.ID, ref.ID, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
	if err != nil {
		return fmt.Errorf("update %s/%s: %w", ref.Room.ID, ref.ID, classify(err))
	}
	return nil
}

// SetTopic implements bot.Platform.
func (a *Adapter) SetTopic(ctx context.Context, room bot.RoomRef, topic bot.Topic) error {
	if _, err := a.api.SetTopicOfConversationContext(ctx, room.ID, TopicText(topic)); err != nil {
		return fmt.Errorf("set topic of %s: %w", room.ID, classify(err))
	}
	return nil
}

// Archive implements bot.Platform.
func (a *Adapter) Archive(ctx context.Context, room bot.RoomRef) error {
	err := a.api.ArchiveConversationContext(ctx, room.ID)
	if err != nil && slackErr(err) != "already_archived" {
		return fmt.Errorf("archive %s: %w", room.ID, classify(err))
	}
	return nil
}

// Pin implements bot.Pinner.
func (a *Adapter) Pin(ctx context.Context, ref bot.MessageRef) error {
	err := a.api.AddPinContext(ctx, ref.Room.ID, slack.NewRefToMessage(ref.Room.ID, ref.ID))
	if err != nil && slackErr(err) != "already_pinned" {
		return fmt.Errorf("pin %s/%s: %w", ref.Room.ID, ref.ID, classify(err))
	}
	return nil
}

// Respond implements bot.Responder through the request's response_url.
func (a *Adapter) Respond(ctx context.Context, to string, msg bot.Message) error {
	if to == "" {
		return bot.Permanent(errors.New("no response_url to answer"))
	}
	blocks, text := Blocks(msg)
	err := slack.PostWebhookCustomHTTPContext(ctx, to, a.http, &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: &slack.Blocks{BlockSet: blocks},
	})
	if err != nil {
		err = withoutURL(err)
		var sc slack.StatusCodeError
		if errors.As(err, &sc) && sc.Code == http.StatusNotFound {
			return bot.Permanent(fmt.Errorf("response_url expired: %w", err))
		}
		return fmt.Errorf("respond: %w", classify(err))
	}
	return nil
}

// withoutURL drops the URL from a transport error: a response_url is a
// credential for half an hour and must not reach logs or the outbox.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// groupTTL is how long a user group's member list is trusted: role checks
// run on every click, and usergroups.users.list is rate limited.
const groupTTL = 5 * time.Minute

type groupEntry struct {
	members []string
	at      time.Time
}

// GroupMembers lists the members of a Slack user group (S…), cached for a
// few minutes. Ids that are not user groups have no members.
func (a *Adapter) GroupMembers(ctx context.Context, group string) ([]string, error) {
	if !strings.HasPrefix(group, "S") || !validID(group) {
		return nil, nil
	}
	a.mu.Lock()
	e, ok := a.groups[group]
	a.mu.Unlock()
	if ok && time.Since(e.at) < groupTTL {
		return e.members, nil
	}
	members, err := a.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("members of user group %s: %w", group, err)
	}
	a.mu.Lock()
	if a.groups == nil {
		a.groups = map[string]groupEntry{}
	}
	a.groups[group] = groupEntry{members: members, at: time.Now()}
	a.mu.Unlock()
	return members, nil
}
