package local_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/local"
	"github.com/warroom-bot/warroom/internal/fakeclock"
	"github.com/warroom-bot/warroom/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPlatformCalls(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	p := local.New(db, local.Options{BaseURL: "http://127.0.0.1:8080"})
	events, stop := p.Hub().Subscribe()
	defer stop()

	room, err := p.CreateRoom(ctx, bot.RoomSpec{IncidentID: 0, Name: "inc-1-phish"})
	if err != nil {
		t.Fatal(err)
	}
	twin, err := p.CreateRoom(ctx, bot.RoomSpec{Name: "inc-1-phish"})
	if err != nil {
		t.Fatal(err)
	}
	if twin.Name != "inc-1-phish-2" || twin.ID == room.ID {
		t.Errorf("taken name: got %+v", twin)
	}
	if found, ok, err := p.FindRoom(ctx, "inc-1-phish"); err != nil || !ok || found.ID != room.ID {
		t.Errorf("FindRoom = %+v %v %v", found, ok, err)
	}
	if _, ok, _ := p.FindRoom(ctx, "nope"); ok {
		t.Error("FindRoom found a room that does not exist")
	}

	first, err := p.Post(ctx, room, bot.Message{Text: "hello", Tag: "outbox-7"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Post(ctx, room, bot.Message{Text: "hello", Tag: "outbox-7"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Errorf("a repeated post with the same tag stored a second message: %s and %s", first.ID, again.ID)
	}
	if got, ok, err := p.FindPosted(ctx, room, "outbox-7"); err != nil || !ok || got.ID != first.ID {
		t.Errorf("FindPosted = %+v %v %v", got, ok, err)
	}
	if _, ok, _ := p.FindPosted(ctx, room, "outbox-8"); ok {
		t.Error("FindPosted found an unknown tag")
	}
	if err := p.Update(ctx, first, bot.Message{Text: "edited"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Pin(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := p.Invite(ctx, room, []string{"alice", "bob", "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetTopic(ctx, room, bot.Topic{Ref: "INC-1", Status: "open"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Archive(ctx, room); err != nil {
		t.Fatal(err)
	}

	msgs, err := p.Messages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Message.Text != "edited" || !msgs[0].Pinned || msgs[0].Message.Tag != "outbox-7" {
		t.Errorf("messages = %+v", msgs)
	}
	r, err := db.LocalRoom(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Archived || len(r.Members) != 2 || string(r.Topic) == "{}" {
		t.Errorf("room = %+v", r)
	}

	var kinds []string
	for len(events) > 0 {
		kinds = append(kinds, (<-events).Kind)
	}
	if len(kinds) < 7 {
		t.Errorf("events = %v, want one per change", kinds)
	}
}

func TestMissingTargetsArePermanent(t *testing.T) {
	ctx := context.Background()
	p := local.New(openDB(t), local.Options{})
	for name, err := range map[string]error{
		"post":   func() error { _, err := p.Post(ctx, bot.RoomRef{ID: "99"}, bot.Message{Text: "x"}); return err }(),
		"update": p.Update(ctx, bot.MessageRef{ID: "42"}, bot.Message{}),
		"pin":    p.Pin(ctx, bot.MessageRef{ID: "nope"}),
	} {
		if !bot.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
		}
	}
}

// TestNamedChannelIsCreated covers digests, which post to a channel named
// in the config rather than to an incident room.
func TestNamedChannelIsCreated(t *testing.T) {
	ctx := context.Background()
	p := local.New(openDB(t), local.Options{})
	ref, err := p.Post(ctx, bot.RoomRef{ID: "soc-general"}, bot.Message{Text: "digest"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Room.Name != "soc-general" {
		t.Errorf("room = %+v", ref.Room)
	}
	if _, err := p.Post(ctx, bot.RoomRef{ID: "soc-general"}, bot.Message{Text: "again"}); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := p.Messages(ctx, 1); len(msgs) != 2 {
		t.Errorf("messages = %d, want both in one room", len(msgs))
	}
}

// TestThroughTheOutbox opens an incident with the real service and
// dispatcher: the room, its pinned summary and later edits arrive here
// exactly as on Slack, and a repeated delivery does not duplicate a post.
func TestThroughTheOutbox(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	clock := fakeclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	p := local.New(db, local.Options{Clock: clock})
	disp := bot.NewDispatcher(db, []bot.Platform{p}, bot.DispatcherOptions{Clock: clock, Unpaced: true})
	svc := bot.NewService(db, bot.Options{Platforms: []string{local.Name}, Clock: clock})
	in, err := svc.Open(ctx, "local:alice", bot.NewIncident{Title: "Phishing wave", Severity: "high"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := disp.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStatus(ctx, "local:alice", in.ID, "contained"); err != nil {
		t.Fatal(err)
	}
	if _, err := disp.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	room, ok, err := p.IncidentRoom(ctx, in.ID)
	if err != nil || !ok {
		t.Fatalf("IncidentRoom = %v %v", ok, err)
	}
	if room.Name != "inc-1-phishing-wave" || room.Topic.Status != "contained" || len(room.Members) != 1 || room.Members[0] != "alice" {
		t.Errorf("room = %+v", room)
	}
	msgs, err := p.Messages(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 2 || !msgs[0].Pinned || msgs[0].Message.Title != "INC-1 · Phishing wave" {
		t.Fatalf("messages = %+v", msgs)
	}
	var status string
	for _, f := range msgs[0].Message.Fields {
		if f.Label == "Status" {
			status = f.Value
		}
	}
	if status != "contained" {
		t.Errorf("summary status = %q, want the edit applied", status)
	}
	if dead, _ := db.OutboxRows(ctx, store.OutboxDead); len(dead) > 0 {
		t.Errorf("dead outbox rows: %+v", dead)
	}
}

func TestHubListening(t *testing.T) {
	h := local.New(openDB(t), local.Options{}).Hub()
	if h.Listening() {
		t.Fatal("listening before anyone subscribed")
	}
	events, stop := h.Subscribe()
	if !h.Listening() {
		t.Fatal("not listening with a subscriber")
	}
	h.Publish(local.Event{Kind: local.EventLog})
	if ev := <-events; ev.Kind != local.EventLog {
		t.Fatalf("got %+v", ev)
	}
	stop()
	stop() // ending twice is harmless
	if h.Listening() {
		t.Fatal("still listening after the subscription ended")
	}
}
