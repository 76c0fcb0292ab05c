// Package bot is warroom's platform-neutral core: incidents, the case log and
// the outbox of chat calls. Chat adapters (bot/slack, bot/discord, bot/local)
// implement Platform and turn their events into Requests and Clicks; nothing
// in this package knows a Slack or Discord type.
package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Platform is a chat surface that incidents live on. Each adapter implements
// it; the outbox dispatcher is its only caller.
type Platform interface {
	// Name is the platform's short name: "slack", "discord", "local".
	Name() string
	// CreateRoom creates the incident's channel. If spec.Name is taken the
	// adapter picks a free variant and reports it in the RoomRef.
	CreateRoom(ctx context.Context, spec RoomSpec) (RoomRef, error)
	// Invite adds users (platform ids, or group ids the adapter expands) to a room.
	Invite(ctx context.Context, room RoomRef, users []string) error
	// Post sends a message to a room.
	Post(ctx context.Context, room RoomRef, msg Message) (MessageRef, error)
	// Update replaces an earlier message in place.
	Update(ctx context.Context, ref MessageRef, msg Message) error
	// SetTopic sets the room's topic line.
	SetTopic(ctx context.Context, room RoomRef, topic Topic) error
	// Archive closes the room for good; its history stays readable.
	Archive(ctx context.Context, room RoomRef) error
}

// Pinner is implemented by platforms that can pin a message to its room.
type Pinner interface {
	Pin(ctx context.Context, ref MessageRef) error
}

// Responder is implemented by platforms that can answer a user privately
// (ephemerally) after the request itself has been acknowledged. to is the
// opaque ReplyTo of the Request or Click being answered.
type Responder interface {
	Respond(ctx context.Context, to string, msg Message) error
}

// Finder is implemented by platforms that can look for a message the bot may
// already have posted, tagged with key. The dispatcher asks before repeating
// a post whose first attempt was cut off by a crash, so that a restart never
// posts the same message twice.
type Finder interface {
	FindPosted(ctx context.Context, room RoomRef, key string) (MessageRef, bool, error)
}

// RoomFinder is implemented by platforms that can find a room the bot
// itself created under a name. The dispatcher asks before repeating a room
// creation whose earlier attempt may have succeeded unseen, so that a lost
// answer does not leave an orphan channel and a "-2" twin.
type RoomFinder interface {
	FindRoom(ctx context.Context, name string) (RoomRef, bool, error)
}

// RoomSpec describes a room to create.
type RoomSpec struct {
	IncidentID int64
	Name       string // wanted channel name, already slugged: "inc-1-phishing-wave"
	Topic      Topic
	Private    bool
}

// RoomRef identifies a created room on its platform.
type RoomRef struct {
	Platform string `json:"platform"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	URL      string `json:"url,omitempty"`
}

// MessageRef identifies a posted message.
type MessageRef struct {
	Room RoomRef `json:"room"`
	ID   string  `json:"id"`
}

// Topic is the one-line state of an incident shown as the room topic. It is
// structured so each platform can render the commander as a mention.
type Topic struct {
	Ref       string `json:"ref"`
	Severity  string `json:"severity"`
	Status    string `json:"status"`
	Commander string `json:"commander,omitempty"` // actor id
}

// Message is a chat message in neutral form. All text in it is plain text:
// adapters escape it for their platform, so nothing in a title or note can
// ping a channel or forge a link. The only pings are Mentions.
type Message struct {
	Title string `json:"title,omitempty"`
	// Actor, if set, is who the message speaks of; it is rendered as that
	// user before Text ("<user> set the status to contained").
	Actor   string   `json:"actor,omitempty"`
	Text    string   `json:"text,omitempty"`
	Fields  []Field  `json:"fields,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`
	// Links are rendered after the text; a Link with a Room points at a channel.
	Links []Link `json:"links,omitempty"`
	// Footer is a small context line (times, references).
	Footer string `json:"footer,omitempty"`
	// Mentions are actor ids to ping, rendered natively by the platform they belong to.
	Mentions []string `json:"mentions,omitempty"`
	// Severity tints the message where the platform supports colour.
	Severity string `json:"severity,omitempty"`
	// Tag is set by the dispatcher: an opaque marker the platform stores with
	// the message (Slack metadata) so Finder can recognise it after a crash.
	Tag string `json:"tag,omitempty"`
}

// Field is a label/value pair. If User is set (an actor id) the value is
// rendered as that user (a mention on their own platform).
type Field struct {
	Label string `json:"label"`
	Value string `json:"value,omitempty"`
	User  string `json:"user,omitempty"`
}

// ButtonStyle is how prominent a button is.
type ButtonStyle string

// Button styles.
const (
	StyleDefault ButtonStyle = ""
	StylePrimary ButtonStyle = "primary"
	StyleDanger  ButtonStyle = "danger"
)

// Button is an action a user can click. ID names the action ("incident.take")
// and Value carries its argument; both come back in a Click.
type Button struct {
	ID      string      `json:"id"`
	Label   string      `json:"label"`
	Value   string      `json:"value,omitempty"`
	Style   ButtonStyle `json:"style,omitempty"`
	Confirm string      `json:"confirm,omitempty"` // question of a confirmation dialog, if any
}

// Link is a labelled link to a URL or to a room.
type Link struct {
	Text string   `json:"text"`
	URL  string   `json:"url,omitempty"`
	Room *RoomRef `json:"room,omitempty"`
}

// RetryAfterError is returned by a Platform when the remote side asked us to
// wait (HTTP 429 Retry-After) before trying again.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s: %v", e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err to say that retrying the same call is pointless (a
// missing channel, a rejected payload). Everything else is retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Limit is a platform's rate limit for one kind of call.
type Limit struct {
	PerMinute float64
	Burst     int
	// PerRoom applies the limit to each room separately rather than to the
	// platform as a whole (Slack: one message per second per channel).
	PerRoom bool
}

// RateLimiter is implemented by platforms that publish rate limits; the
// dispatcher paces calls to stay under them instead of collecting 429s.
type RateLimiter interface {
	Limits() map[Op][]Limit
}
