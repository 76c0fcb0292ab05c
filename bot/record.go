package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/warroom-bot/warroom/store"
)

// Event is a case-log entry together with the chat messages it causes in
// the incident's rooms.
type Event struct {
	IncidentID int64
	Actor      string
	Kind       string
	Body       any
	// Posts are new messages.
	Posts []Message
	// Keyed are messages with a stable name ("run-5") that are posted the
	// first time and edited in place after that.
	Keyed []Keyed
}

// Keyed is a named message of an incident. Update edits the message posted
// earlier under the same name instead of posting a new one.
type Keyed struct {
	Name    string
	Message Message
	Update  bool
}

// Record runs change (the caller's own writes) and records the events it
// returns (case-log entries and chat messages), all in one transaction: the
// run state a playbook engine keeps and what the incident shows of it can
// never disagree.
func (s *Service) Record(ctx context.Context, change func(tx *store.Tx) ([]Event, error)) error {
	now := s.opts.Clock.Now().UTC()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		events, err := change(tx)
		if err != nil {
			return err
		}
		return s.recordEvents(ctx, tx, now, events)
	})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	s.opts.Notify()
	return nil
}

// Events returns a change that writes nothing of its own and records events.
func Events(events ...Event) func(*store.Tx) ([]Event, error) {
	return func(*store.Tx) ([]Event, error) { return events, nil }
}

// Clock is the service's clock; the playbook engine shares it.
func (s *Service) Clock() Clock { return s.opts.Clock }

// recordEvents appends the events' case-log entries and queues their messages.
func (s *Service) recordEvents(ctx context.Context, tx *store.Tx, now time.Time, events []Event) error {
	for _, ev := range events {
		if _, err := tx.Append(ctx, ev.IncidentID, now, ev.Actor, ev.Kind, ev.Body); err != nil {
			return err
		}
		for _, p := range s.opts.Platforms {
			for i := range ev.Posts {
				if err := enqueue(ctx, tx, now, p, ev.IncidentID, OpPost, call{Message: &ev.Posts[i]}); err != nil {
					return err
				}
			}
			for i := range ev.Keyed {
				k := &ev.Keyed[i]
				op := OpPost
				if k.Update {
					op = OpUpdate
				}
				if err := enqueue(ctx, tx, now, p, ev.IncidentID, op, call{Message: &k.Message, Key: messageKey(ev.IncidentID, k.Name)}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// PostChannel queues a message for a channel outside any incident (a
// digest's channel). claim, if not nil, runs first in the same transaction
// and may decline the post (another process already made it): the claim
// and the post commit together. It reports whether the post was queued.
func (s *Service) PostChannel(ctx context.Context, platform, channel string, msg Message, claim func(tx *store.Tx) (bool, error)) (bool, error) {
	now := s.opts.Clock.Now().UTC()
	posted := false
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if claim != nil {
			ok, err := claim(tx)
			if err != nil || !ok {
				return err
			}
		}
		posted = true
		return enqueue(ctx, tx, now, platform, 0, OpPost, call{Message: &msg, Channel: channel})
	})
	if err != nil {
		return false, fmt.Errorf("post to %s: %w", channel, err)
	}
	s.opts.Notify()
	return posted, nil
}
