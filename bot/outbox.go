package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/warroom-bot/warroom/store"
)

// Op is a kind of outbox call, one per Platform method.
type Op string

// Outbox operations.
const (
	OpCreateRoom Op = "create_room"
	OpInvite     Op = "invite"
	OpPost       Op = "post"
	OpUpdate     Op = "update"
	OpSetTopic   Op = "set_topic"
	OpPin        Op = "pin"
	OpArchive    Op = "archive"
	OpRespond    Op = "respond"
	// OpAlertNotice tells a room how many alerts arrived since it was last
	// told; its text is worked out at delivery, so one notice covers a burst.
	OpAlertNotice Op = "alert_notice"
)

// call is the payload of an outbox row: the arguments of one Platform call,
// stored as JSON so it survives a restart. Rooms and message ids are not
// stored here but looked up at delivery, because they may not exist yet when
// the row is written (the channel is created by an earlier row in the lane).
type call struct {
	Room     *RoomSpec `json:"room,omitempty"`      // create_room
	Users    []string  `json:"users,omitempty"`     // invite
	Message  *Message  `json:"message,omitempty"`   // post, update, respond
	Key      string    `json:"key,omitempty"`       // post: name to remember it by; update, pin: which message
	Topic    *Topic    `json:"topic,omitempty"`     // set_topic
	ReplyTo  string    `json:"reply_to,omitempty"`  // respond
	LinkRoom bool      `json:"link_room,omitempty"` // respond: add a link to the incident's room
	Channel  string    `json:"channel,omitempty"`   // post: a channel outside incidents (digests)
}

// messageKey names a bot message of an incident, e.g. "INC-4/summary".
func messageKey(incidentID int64, name string) string {
	return store.FormatRef(incidentID) + "/" + name
}

// incidentLane is the lane of every call about one incident on one platform:
// they are delivered in order.
func incidentLane(platform string, incidentID int64) string {
	return platform + "/" + strconv.FormatInt(incidentID, 10)
}

// enqueue writes one outbox row in the caller's transaction.
func enqueue(ctx context.Context, tx *store.Tx, now time.Time, platform string, incidentID int64, op Op, c call) error {
	payload, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", op, err)
	}
	lane := incidentLane(platform, incidentID)
	switch {
	case c.Channel != "":
		lane = platform + "/channel/" + c.Channel
	case incidentID == 0:
		lane = platform + "/direct"
	}
	key := c.Key
	if op == OpSetTopic && incidentID != 0 {
		// Only the newest topic matters, and Discord allows two topic
		// changes per ten minutes: a burst of status changes must not
		// queue a topic edit each.
		key = messageKey(incidentID, "topic")
	}
	if (op == OpUpdate || op == OpSetTopic) && key != "" {
		// A newer state of a message supersedes an edit still queued.
		if replaced, err := tx.ReplaceQueued(ctx, lane, string(op), key, payload); err != nil || replaced {
			return err
		}
	}
	_, err = tx.Enqueue(ctx, store.OutboxRow{
		Platform: platform, Lane: lane, Op: string(op), IncidentID: incidentID,
		Payload: payload, NextAt: now, CreatedAt: now, MsgKey: key,
	})
	return err
}
