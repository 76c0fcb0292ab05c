package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

// permissionPinMessages is Discord's Pin Messages permission (1 << 51).
// Since February 2026 pinning needs it; Manage Messages no longer does.
// discordgo v0.29 predates it.
const permissionPinMessages int64 = 1 << 51

// Permission sets of incident channels. Discord lets a bot allow or deny in
// an overwrite only what it holds itself, and only an administrator may put
// Manage Roles into an overwrite of a new channel, so every bit here is in
// InvitePermissions and none is Manage Roles.
const (
	// roomAccess is what an admitted member or role gets in a private room.
	roomAccess = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionReadMessageHistory | discordgo.PermissionEmbedLinks
	// botAccess lets the bot keep working in a private room it locked down:
	// edit and move it, and pin its summary. It keeps Manage Roles (to admit
	// people) from its guild role, which the overwrite leaves alone.
	botAccess = roomAccess | discordgo.PermissionManageChannels | permissionPinMessages
	// writeAccess is what archiving takes away from everyone.
	writeAccess = discordgo.PermissionSendMessages | discordgo.PermissionSendMessagesInThreads |
		discordgo.PermissionCreatePublicThreads | discordgo.PermissionCreatePrivateThreads |
		discordgo.PermissionAddReactions | discordgo.PermissionUseApplicationCommands
)

// InvitePermissions is the permission integer of the bot's invite URL: see
// and write channels, embed links, read history, make and move channels
// (Manage Channels), set their permission overwrites (Manage Roles), pin the
// summary (Pin Messages), and hold every right an archived channel denies
// (threads, reactions, application commands), since a bot can deny in an
// overwrite only what it has. It deliberately leaves out Administrator,
// Manage Messages and Mention Everyone.
const InvitePermissions = discordgo.PermissionViewChannel | discordgo.PermissionEmbedLinks |
	discordgo.PermissionReadMessageHistory | discordgo.PermissionManageChannels |
	discordgo.PermissionManageRoles | permissionPinMessages | writeAccess

// InviteURL is the address that adds the bot with InvitePermissions and the
// scopes warroom needs (bot, applications.commands) to a guild.
func InviteURL(applicationID string) string {
	return "https://discord.com/oauth2/authorize?client_id=" + url.QueryEscape(applicationID) +
		"&scope=bot%20applications.commands&permissions=" + strconv.FormatInt(InvitePermissions, 10)
}

// maxChannelName keeps suffixed names as short as bot.ChannelName makes
// them (Slack's limit), so a room is named alike on every platform.
const maxChannelName = 80

// maxNameTries bounds the "-2", "-3"… suffixes tried for a taken name.
const maxNameTries = 20

// channelCreate is the body of POST /guilds/{id}/channels.
type channelCreate struct {
	Name       string                           `json:"name"`
	Type       discordgo.ChannelType            `json:"type"`
	Topic      string                           `json:"topic,omitempty"`
	ParentID   string                           `json:"parent_id,omitempty"`
	Overwrites []*discordgo.PermissionOverwrite `json:"permission_overwrites,omitempty"`
}

// CreateRoom implements bot.Platform: a text channel under the incident
// category. Discord allows duplicate names, but a room is found by its name
// after a lost answer (FindRoom), so a taken name gets a numeric suffix as
// on Slack. A private room is hidden from @everyone and open to the bot and
// to Config.PrivateAccess; Invite admits the responders.
func (a *Adapter) CreateRoom(ctx context.Context, spec bot.RoomSpec) (bot.RoomRef, error) {
	guild, me, err := a.state(ctx)
	if err != nil {
		return bot.RoomRef{}, err
	}
	var existing []discordgo.Channel
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointGuildChannels(guild), nil, &existing); err != nil {
		return bot.RoomRef{}, fmt.Errorf("list channels: %w", err)
	}
	taken := map[string]bool{}
	for _, c := range existing {
		taken[c.Name] = true
	}
	name := spec.Name
	for i := 2; taken[name]; i++ {
		if i > maxNameTries {
			return bot.RoomRef{}, bot.Permanent(fmt.Errorf("no free channel name for %s", spec.Name))
		}
		suffix := "-" + strconv.Itoa(i)
		base := spec.Name
		if len(base)+len(suffix) > maxChannelName {
			base = strings.TrimRight(base[:maxChannelName-len(suffix)], "-")
		}
		name = base + suffix
	}
	roles, _ := a.guildRoles(ctx)
	a.mu.Lock()
	parent := a.incidentID
	a.mu.Unlock()
	body := channelCreate{Name: name, Type: discordgo.ChannelTypeGuildText, Topic: roles.TopicText(spec.Topic), ParentID: parent}
	if spec.Private {
		body.Overwrites = []*discordgo.PermissionOverwrite{
			{ID: guild, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
			{ID: me, Type: discordgo.PermissionOverwriteTypeMember, Allow: botAccess},
		}
		for _, id := range a.cfg.PrivateAccess {
			body.Overwrites = append(body.Overwrites, overwrite(roles, id))
		}
	}
	var ch discordgo.Channel
	if err := a.call(ctx, http.MethodPost, discordgo.EndpointGuildChannels(guild), body, &ch); err != nil {
		return bot.RoomRef{}, fmt.Errorf("create channel %s: %w", name, err)
	}
	return a.roomRef(guild, ch), nil
}

func (a *Adapter) roomRef(guild string, ch discordgo.Channel) bot.RoomRef {
	return bot.RoomRef{Platform: "discord", ID: ch.ID, Name: ch.Name, URL: "https://discord.com/channels/" + guild + "/" + ch.ID}
}

// overwrite admits a user or a role (told apart by the guild's role list).
func overwrite(roles RoleSet, id string) *discordgo.PermissionOverwrite {
	kind := discordgo.PermissionOverwriteTypeMember
	if roles[id] {
		kind = discordgo.PermissionOverwriteTypeRole
	}
	return &discordgo.PermissionOverwrite{ID: id, Type: kind, Allow: roomAccess}
}

// FindRoom implements bot.RoomFinder: a text channel of that name in the
// incident category that has not been archived. Discord records no channel
// creator; the category the bot files its rooms under stands in for it.
func (a *Adapter) FindRoom(ctx context.Context, name string) (bot.RoomRef, bool, error) {
	guild, _, err := a.state(ctx)
	if err != nil {
		return bot.RoomRef{}, false, err
	}
	var channels []discordgo.Channel
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointGuildChannels(guild), nil, &channels); err != nil {
		return bot.RoomRef{}, false, err
	}
	a.mu.Lock()
	parent := a.incidentID
	a.mu.Unlock()
	for _, c := range channels {
		if c.Name == name && c.Type == discordgo.ChannelTypeGuildText && c.ParentID == parent && !archived(guild, c) {
			return a.roomRef(guild, c), true, nil
		}
	}
	return bot.RoomRef{}, false, nil
}

// archived reports whether Archive has locked the channel.
func archived(guild string, c discordgo.Channel) bool {
	for _, o := range c.PermissionOverwrites {
		if o.ID == guild && o.Deny&discordgo.PermissionSendMessages != 0 {
			return true
		}
	}
	return false
}

// private reports whether the channel is hidden from @everyone.
func private(guild string, c discordgo.Channel) bool {
	for _, o := range c.PermissionOverwrites {
		if o.ID == guild && o.Deny&discordgo.PermissionViewChannel != 0 {
			return true
		}
	}
	return false
}

// Invite implements bot.Platform. Every guild member sees a public channel
// already, so only private rooms need anything: a permission overwrite for
// each user or role id (a Discord role plays the part of a Slack group).
func (a *Adapter) Invite(ctx context.Context, room bot.RoomRef, users []string) error {
	guild, _, err := a.state(ctx)
	if err != nil {
		return err
	}
	var ch discordgo.Channel
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointChannel(room.ID), nil, &ch); err != nil {
		return fmt.Errorf("invite to %s: %w", room.ID, err)
	}
	if !private(guild, ch) {
		return nil
	}
	roles, _ := a.guildRoles(ctx)
	for _, u := range users {
		if !snowflake(u) {
			a.log.Warn("not inviting a non-Discord id", "channel", room.ID, "user", u)
			continue
		}
		o := overwrite(roles, u)
		err := a.call(ctx, http.MethodPut, discordgo.EndpointChannelPermission(room.ID, u), o, nil)
		if err != nil {
			return fmt.Errorf("admit %s to %s: %w", u, room.ID, err)
		}
	}
	return nil
}

// messageCreate is the body of POST /channels/{id}/messages. discordgo's
// MessageSend has no nonce, which Post needs.
type messageCreate struct {
	Rendered
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

// Post implements bot.Platform.
//
// A restart must not post a message twice. Two guards, because neither is
// enough alone: the outbox tag goes out as the message nonce with
// enforce_nonce, so Discord itself returns the earlier message instead of
// making a second one when the retry comes within its dedup window (a few
// minutes: timeouts, 5xx, quick restarts); and the tag is written in the
// embed footer ("ref outbox-12"), where FindPosted finds it in the channel
// history after a longer outage, since Discord does not return nonces in
// history. The footer marker is visible but small, and doubles as a
// reference from chat to the outbox row.
func (a *Adapter) Post(ctx context.Context, room bot.RoomRef, msg bot.Message) (bot.MessageRef, error) {
	roles, _ := a.guildRoles(ctx)
	r, err := roles.Render(msg)
	if err != nil {
		return bot.MessageRef{}, bot.Permanent(err)
	}
	body := messageCreate{Rendered: r}
	if msg.Tag != "" && len(msg.Tag) <= maxNonce {
		body.Nonce, body.EnforceNonce = msg.Tag, true
	}
	var m discordgo.Message
	if err := a.call(ctx, http.MethodPost, discordgo.EndpointChannelMessages(room.ID), body, &m); err != nil {
		return bot.MessageRef{}, fmt.Errorf("post to %s: %w", room.ID, err)
	}
	return bot.MessageRef{Room: room, ID: m.ID}, nil
}

// findDepth is how much channel history FindPosted reads: it runs only
// after an attempt that may have succeeded, and the message it looks for
// was the channel's latest bot message at the time.
const findDepth = 50

// FindPosted implements bot.Finder by looking for the tag in the footers of
// the bot's recent messages in the channel (see Post).
func (a *Adapter) FindPosted(ctx context.Context, room bot.RoomRef, tag string) (bot.MessageRef, bool, error) {
	_, me, err := a.state(ctx)
	if err != nil {
		return bot.MessageRef{}, false, err
	}
	var msgs []discordgo.Message
	endpoint := discordgo.EndpointChannelMessages(room.ID) + "?limit=" + strconv.Itoa(findDepth)
	if err := a.call(ctx, http.MethodGet, endpoint, nil, &msgs); err != nil {
		return bot.MessageRef{}, false, err
	}
	for _, m := range msgs {
		if m.Author == nil || m.Author.ID != me {
			continue
		}
		for _, e := range m.Embeds {
			if e.Footer != nil && hasTag(e.Footer.Text, tag) {
				return bot.MessageRef{Room: room, ID: m.ID}, true, nil
			}
		}
	}
	return bot.MessageRef{}, false, nil
}

// hasTag matches the whole marker, so outbox-1 is not found in outbox-12.
func hasTag(footer, tag string) bool {
	return footer == tagMarker+tag || strings.HasSuffix(footer, " · "+tagMarker+tag)
}

// messageEdit is the body of PATCH /channels/{id}/messages/{id}. Content,
// embeds and components are always sent, so an edit that drops the buttons
// (a decided approval) really removes them.
type messageEdit struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []discordgo.MessageComponent      `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
}

// Update implements bot.Platform.
func (a *Adapter) Update(ctx context.Context, ref bot.MessageRef, msg bot.Message) error {
	roles, _ := a.guildRoles(ctx)
	r, err := roles.Render(msg)
	if err != nil {
		return bot.Permanent(err)
	}
	body := messageEdit(r)
	if err := a.call(ctx, http.MethodPatch, discordgo.EndpointChannelMessage(ref.Room.ID, ref.ID), body, nil); err != nil {
		return fmt.Errorf("update %s/%s: %w", ref.Room.ID, ref.ID, err)
	}
	return nil
}

// SetTopic implements bot.Platform. Discord allows a channel's topic to
// change only twice in ten minutes, so an unchanged topic (the one set at
// creation) is not sent again.
func (a *Adapter) SetTopic(ctx context.Context, room bot.RoomRef, topic bot.Topic) error {
	roles, _ := a.guildRoles(ctx)
	text := roles.TopicText(topic)
	var ch discordgo.Channel
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointChannel(room.ID), nil, &ch); err != nil {
		return fmt.Errorf("read topic of %s: %w", room.ID, err)
	}
	if ch.Topic == text {
		return nil
	}
	if err := a.call(ctx, http.MethodPatch, discordgo.EndpointChannel(room.ID), map[string]string{"topic": text}, nil); err != nil {
		return fmt.Errorf("set topic of %s: %w", room.ID, err)
	}
	return nil
}

// Archive implements bot.Platform. Discord text channels cannot be
// archived: with on_close archive the channel moves to the archive category
// and everyone loses the right to write in it (history stays readable to
// whoever could read it); with on_close delete it is deleted, which keeps a
// guild under Discord's 500-channel limit. The final summary has been
// posted before this call: it is the row before it in the incident's lane.
func (a *Adapter) Archive(ctx context.Context, room bot.RoomRef) error {
	if a.cfg.OnClose == OnCloseDelete {
		err := a.call(ctx, http.MethodDelete, discordgo.EndpointChannel(room.ID), nil, nil)
		if err != nil && apiCode(err) != codeUnknownChannel {
			return fmt.Errorf("delete %s: %w", room.ID, err)
		}
		return nil
	}
	guild, _, err := a.state(ctx)
	if err != nil {
		return err
	}
	var ch discordgo.Channel
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointChannel(room.ID), nil, &ch); err != nil {
		if apiCode(err) == codeUnknownChannel {
			return nil // deleted by someone: nothing left to archive
		}
		return fmt.Errorf("archive %s: %w", room.ID, err)
	}
	overwrites := []*discordgo.PermissionOverwrite{}
	everyone := false
	for _, o := range ch.PermissionOverwrites {
		o.Allow &^= writeAccess
		o.Deny |= writeAccess
		everyone = everyone || o.ID == guild
		overwrites = append(overwrites, o)
	}
	if !everyone {
		overwrites = append(overwrites, &discordgo.PermissionOverwrite{ID: guild, Type: discordgo.PermissionOverwriteTypeRole, Deny: writeAccess})
	}
	a.mu.Lock()
	parent := a.archiveID
	a.mu.Unlock()
	edit := discordgo.ChannelEdit{PermissionOverwrites: overwrites, ParentID: parent}
	if err := a.call(ctx, http.MethodPatch, discordgo.EndpointChannel(room.ID), edit, nil); err != nil {
		return fmt.Errorf("archive %s: %w", room.ID, err)
	}
	return nil
}

// Pin implements bot.Pinner.
func (a *Adapter) Pin(ctx context.Context, ref bot.MessageRef) error {
	if err := a.call(ctx, http.MethodPut, discordgo.EndpointChannelMessagePin(ref.Room.ID, ref.ID), nil, nil); err != nil {
		return fmt.Errorf("pin %s/%s: %w", ref.Room.ID, ref.ID, err)
	}
	return nil
}

// Respond implements bot.Responder: an ephemeral follow-up message to the
// interaction whose token is to. Tokens live 15 minutes; after that the
// answer cannot be delivered and is given up.
func (a *Adapter) Respond(ctx context.Context, to string, msg bot.Message) error {
	if to == "" {
		return bot.Permanent(errors.New("no interaction token to answer"))
	}
	roles, _ := a.guildRoles(ctx)
	data, err := roles.responseData(msg, true)
	if err != nil {
		return bot.Permanent(err)
	}
	err = a.callIn(ctx, "interaction followup", http.MethodPost, discordgo.EndpointFollowupMessage(a.cfg.ApplicationID, to), data, nil)
	if err != nil {
		if c := apiCode(err); c == codeUnknownWebhook || c == codeInvalidWebhook || apiStatus(err) == http.StatusNotFound {
			return bot.Permanent(fmt.Errorf("interaction token expired: %w", err))
		}
		return fmt.Errorf("respond: %w", err)
	}
	return nil
}
