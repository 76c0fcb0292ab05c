// Package local is warroom's built-in chat platform: the web room. Its rooms
// and the messages the bot posts there live in warroom's own database, in the
// same neutral form (bot.Message) that Slack and Discord receive, and the
// web package renders them. It needs no tokens, so it is always on: it is
// the dashboard's view of every incident, whichever chat a team also uses.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// Name is the platform's name in actor ids, rooms and outbox rows.
const Name = "local"

// Options configure a Platform.
type Options struct {
	// BaseURL is warroom's public URL; rooms link to BaseURL/incidents/INC-N.
	// Empty means rooms carry no URL (chat links to them are left out).
	BaseURL string
	// Clock stamps messages; nil means the wall clock.
	Clock bot.Clock
}

// Platform is the local chat platform. It implements bot.Platform and the
// optional bot.Pinner, bot.Finder and bot.RoomFinder, so that the outbox
// never posts a message or creates a room twice after a crash.
type Platform struct {
	db   *store.DB
	opts Options
	hub  *Hub
}

// New returns the local platform over db.
func New(db *store.DB, opts Options) *Platform {
	if opts.Clock == nil {
		opts.Clock = bot.WallClock
	}
	return &Platform{db: db, opts: opts, hub: newHub()}
}

// Hub is where the platform announces every change; live views subscribe.
func (p *Platform) Hub() *Hub { return p.hub }

// Name returns "local".
func (p *Platform) Name() string { return Name }

func (p *Platform) now() time.Time { return p.opts.Clock.Now().UTC() }

// RoomURL is the web address of an incident's room, or "" without a base URL.
func (p *Platform) RoomURL(incidentID int64) string {
	if p.opts.BaseURL == "" || incidentID == 0 {
		return ""
	}
	return p.opts.BaseURL + "/incidents/" + store.FormatRef(incidentID)
}

// CreateRoom creates a room, taking a free variant of the name if needed.
func (p *Platform) CreateRoom(ctx context.Context, spec bot.RoomSpec) (bot.RoomRef, error) {
	topic, err := json.Marshal(spec.Topic)
	if err != nil {
		return bot.RoomRef{}, bot.Permanent(fmt.Errorf("create room: %w", err))
	}
	var r store.LocalRoom
	err = p.db.Write(ctx, func(tx *store.Tx) (err error) {
		r, err = tx.CreateLocalRoom(ctx, spec.IncidentID, spec.Name, topic, p.now())
		return err
	})
	if err != nil {
		return bot.RoomRef{}, fmt.Errorf("create room: %w", err)
	}
	p.hub.Publish(Event{Kind: EventRoom, IncidentID: r.IncidentID, RoomID: r.ID})
	return p.ref(r), nil
}

func (p *Platform) ref(r store.LocalRoom) bot.RoomRef {
	return bot.RoomRef{Platform: Name, ID: strconv.FormatInt(r.ID, 10), Name: r.Name, URL: p.RoomURL(r.IncidentID)}
}

// FindRoom finds a room by name.
func (p *Platform) FindRoom(ctx context.Context, name string) (bot.RoomRef, bool, error) {
	r, err := p.db.LocalRoomByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return bot.RoomRef{}, false, nil
	}
	if err != nil {
		return bot.RoomRef{}, false, err
	}
	return p.ref(r), true, nil
}

// room resolves a RoomRef. Incident rooms are addressed by id; a channel
// named by configuration (a digest's "soc-general") is found by name and
// created on first use, so digests have a room here too.
func (p *Platform) room(ctx context.Context, ref bot.RoomRef) (store.LocalRoom, error) {
	if id, err := strconv.ParseInt(ref.ID, 10, 64); err == nil {
		r, err := p.db.LocalRoom(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.LocalRoom{}, bot.Permanent(fmt.Errorf("local room %s does not exist", ref.ID))
		}
		return r, err
	}
	if ref.ID == "" {
		return store.LocalRoom{}, bot.Permanent(errors.New("no local room named"))
	}
	r, err := p.db.LocalRoomByName(ctx, ref.ID)
	if !errors.Is(err, store.ErrNotFound) {
		return r, err
	}
	err = p.db.Write(ctx, func(tx *store.Tx) (err error) {
		r, err = tx.CreateLocalRoom(ctx, 0, ref.ID, nil, p.now())
		return err
	})
	return r, err
}

// Invite records users as members of a room. Membership is informational:
// who sees an incident in the web room is the web package's decision
// (everyone, or for a private incident its opener, commander and leads).
func (p *Platform) Invite(ctx context.Context, ref bot.RoomRef, users []string) error {
	r, err := p.room(ctx, ref)
	if err != nil {
		return err
	}
	return p.db.Write(ctx, func(tx *store.Tx) error { return tx.AddLocalMembers(ctx, r.ID, users) })
}

// Post stores a message. A message whose Tag the room already holds is not
// stored again: the dispatcher repeats a post whose outcome it never saw.
func (p *Platform) Post(ctx context.Context, ref bot.RoomRef, msg bot.Message) (bot.MessageRef, error) {
	r, err := p.room(ctx, ref)
	if err != nil {
		return bot.MessageRef{}, err
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return bot.MessageRef{}, bot.Permanent(fmt.Errorf("post: %w", err))
	}
	var id int64
	err = p.db.Write(ctx, func(tx *store.Tx) (err error) {
		id, err = tx.PostLocal(ctx, r.ID, msg.Tag, body, p.now())
		return err
	})
	if err != nil {
		return bot.MessageRef{}, fmt.Errorf("post: %w", err)
	}
	p.hub.Publish(Event{Kind: EventMessage, IncidentID: r.IncidentID, RoomID: r.ID, MessageID: id})
	return bot.MessageRef{Room: p.ref(r), ID: strconv.FormatInt(id, 10)}, nil
}

// FindPosted finds a message posted earlier under the dispatcher's tag.
func (p *Platform) FindPosted(ctx context.Context, ref bot.RoomRef, key string) (bot.MessageRef, bool, error) {
	r, err := p.room(ctx, ref)
	if err != nil {
		return bot.MessageRef{}, false, err
	}
	m, err := p.db.LocalMessageByTag(ctx, r.ID, key)
	if errors.Is(err, store.ErrNotFound) {
		return bot.MessageRef{}, false, nil
	}
	if err != nil {
		return bot.MessageRef{}, false, err
	}
	return bot.MessageRef{Room: p.ref(r), ID: strconv.FormatInt(m.ID, 10)}, true, nil
}

// Update replaces a message in place; its tag stays.
func (p *Platform) Update(ctx context.Context, ref bot.MessageRef, msg bot.Message) error {
	id, err := strconv.ParseInt(ref.ID, 10, 64)
	if err != nil {
		return bot.Permanent(fmt.Errorf("update: bad message id %q", ref.ID))
	}
	old, err := p.db.LocalMessage(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return bot.Permanent(fmt.Errorf("update: message %d does not exist", id))
	}
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	msg.Tag = old.Tag
	body, err := json.Marshal(msg)
	if err != nil {
		return bot.Permanent(fmt.Errorf("update: %w", err))
	}
	var m store.LocalMessage
	err = p.db.Write(ctx, func(tx *store.Tx) (err error) {
		m, err = tx.UpdateLocal(ctx, id, body, p.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	p.publishFor(ctx, EventMessage, m)
	return nil
}

// Pin marks a message pinned; the web room shows pinned messages on top.
func (p *Platform) Pin(ctx context.Context, ref bot.MessageRef) error {
	id, err := strconv.ParseInt(ref.ID, 10, 64)
	if err != nil {
		return bot.Permanent(fmt.Errorf("pin: bad message id %q", ref.ID))
	}
	var m store.LocalMessage
	err = p.db.Write(ctx, func(tx *store.Tx) (err error) {
		m, err = tx.PinLocal(ctx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return bot.Permanent(fmt.Errorf("pin: message %d does not exist", id))
	}
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	p.publishFor(ctx, EventMessage, m)
	return nil
}

func (p *Platform) publishFor(ctx context.Context, kind string, m store.LocalMessage) {
	ev := Event{Kind: kind, RoomID: m.RoomID, MessageID: m.ID}
	if r, err := p.db.LocalRoom(ctx, m.RoomID); err == nil {
		ev.IncidentID = r.IncidentID
	}
	p.hub.Publish(ev)
}

// SetTopic stores the room's topic line.
func (p *Platform) SetTopic(ctx context.Context, ref bot.RoomRef, topic bot.Topic) error {
	r, err := p.room(ctx, ref)
	if err != nil {
		return err
	}
	b, err := json.Marshal(topic)
	if err != nil {
		return bot.Permanent(fmt.Errorf("set topic: %w", err))
	}
	if err := p.db.Write(ctx, func(tx *store.Tx) error { return tx.SetLocalTopic(ctx, r.ID, b) }); err != nil {
		return fmt.Errorf("set topic: %w", err)
	}
	p.hub.Publish(Event{Kind: EventRoom, IncidentID: r.IncidentID, RoomID: r.ID})
	return nil
}

// Archive marks the room archived; its history stays readable.
func (p *Platform) Archive(ctx context.Context, ref bot.RoomRef) error {
	r, err := p.room(ctx, ref)
	if err != nil {
		return err
	}
	if err := p.db.Write(ctx, func(tx *store.Tx) error { return tx.ArchiveLocalRoom(ctx, r.ID) }); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	p.hub.Publish(Event{Kind: EventRoom, IncidentID: r.IncidentID, RoomID: r.ID})
	return nil
}

// Message is a stored message decoded for display.
type Message struct {
	ID      int64
	Pinned  bool
	At      time.Time
	Edited  time.Time
	Message bot.Message
}

// Messages returns a room's messages, oldest first.
func (p *Platform) Messages(ctx context.Context, roomID int64) ([]Message, error) {
	rows, err := p.db.LocalMessages(ctx, roomID)
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(rows))
	for _, r := range rows {
		m := Message{ID: r.ID, Pinned: r.Pinned, At: r.CreatedAt}
		if r.UpdatedAt.After(r.CreatedAt) {
			m.Edited = r.UpdatedAt
		}
		if err := json.Unmarshal(r.Body, &m.Message); err != nil {
			return nil, fmt.Errorf("decode local message %d: %w", r.ID, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Room is a room decoded for display.
type Room struct {
	ID         int64
	IncidentID int64
	Name       string
	Topic      bot.Topic
	Members    []string
	Archived   bool
}

// IncidentRoom returns the current room of an incident, if it has one yet.
func (p *Platform) IncidentRoom(ctx context.Context, incidentID int64) (Room, bool, error) {
	ref, err := p.db.Room(ctx, Name, incidentID)
	if errors.Is(err, store.ErrNotFound) {
		return Room{}, false, nil
	}
	if err != nil {
		return Room{}, false, err
	}
	id, err := strconv.ParseInt(ref.ChannelID, 10, 64)
	if err != nil {
		return Room{}, false, fmt.Errorf("local room id %q: %w", ref.ChannelID, err)
	}
	r, err := p.db.LocalRoom(ctx, id)
	if err != nil {
		return Room{}, false, err
	}
	out := Room{ID: r.ID, IncidentID: r.IncidentID, Name: r.Name, Members: r.Members, Archived: r.Archived}
	json.Unmarshal(r.Topic, &out.Topic)
	return out, true, nil
}

// Event kinds.
const (
	// EventRoom: a room was created, or its topic or state changed.
	EventRoom = "room"
	// EventMessage: a message was posted, edited or pinned.
	EventMessage = "message"
	// EventLog: the case log grew (published by whoever noticed).
	EventLog = "log"
)

// Event says that something a live view shows has changed.
type Event struct {
	Kind       string `json:"kind"`
	IncidentID int64  `json:"incident,omitempty"`
	RoomID     int64  `json:"room,omitempty"`
	MessageID  int64  `json:"message,omitempty"`
}

// Hub fans events out to subscribers. Publishing never blocks: a
// subscriber that is not keeping up loses events, which is harmless
// because every event only means "look again".
type Hub struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// newHub returns an empty hub.
func newHub() *Hub { return &Hub{subs: map[chan Event]struct{}{}} }

// Subscribe returns a channel of events and a function that ends the
// subscription; call it when done.
func (h *Hub) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 32)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			h.mu.Unlock()
		})
	}
}

// Listening reports whether anyone is subscribed, so that whoever looks
// for changes to publish can skip looking while nobody would hear.
func (h *Hub) Listening() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

// Publish sends ev to every subscriber that has room for it.
func (h *Hub) Publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}
