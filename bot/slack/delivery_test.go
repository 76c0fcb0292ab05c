package slack_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
	"github.com/warroom-bot/warroom/store"
)

// summaries counts the summary messages of INC-1 in its channel.
func summaries(t *testing.T, h *harness) int {
	t.Helper()
	ch, ok := h.fake.ChannelByName("inc-1-outage")
	if !ok {
		return 0
	}
	n := 0
	for _, m := range h.fake.Messages(ch.ID) {
		if strings.Contains(string(m.Blocks), "incident.take") {
			n++
		}
	}
	return n
}

func TestRateLimitedPostIsDeliveredOnceAfterRetryAfter(t *testing.T) {
	h := newHarness(t)
	h.fake.Fail("chat.postMessage", fakeslack.RateLimited(1))
	h.incident("U1", "CGENERAL", "new Outage")
	if n := summaries(t, h); n != 0 {
		t.Fatalf("posted %d summaries despite the 429", n)
	}
	pending := h.outbox(store.OutboxPending)
	if len(pending) == 0 || pending[0].Op != string(bot.OpPost) || !pending[0].NextAt.Equal(h.clock.Now().Add(time.Second)) {
		t.Fatalf("post not rescheduled after Retry-After: %+v", pending)
	}
	h.clock.Advance(999 * time.Millisecond)
	h.deliver()
	if n := summaries(t, h); n != 0 {
		t.Fatal("retried before Retry-After passed")
	}
	h.clock.Advance(time.Millisecond)
	h.deliver()
	if n := summaries(t, h); n != 1 {
		t.Fatalf("summaries after the wait = %d, want 1", n)
	}
	if got := h.fake.CallCount("chat.postMessage"); got != 2 {
		t.Errorf("chat.postMessage calls = %d, want 2 (one 429, one delivery)", got)
	}
	if n := len(h.fake.Pins(h.room(1).ID)); n != 1 {
		t.Errorf("pins = %d: the pin must follow the delayed post", n)
	}
}

func TestServerErrorsBackOffThenDeliver(t *testing.T) {
	h := newHarness(t)
	h.fake.FailTimes("chat.postMessage", 3, fakeslack.HTTPStatus(500))
	h.incident("U1", "CGENERAL", "new Outage")
	var delays []time.Duration
	for range 3 {
		rows := h.outbox(store.OutboxPending)
		if len(rows) == 0 {
			t.Fatal("nothing pending")
		}
		delays = append(delays, rows[0].NextAt.Sub(h.clock.Now()))
		if n := summaries(t, h); n != 0 {
			t.Fatalf("posted during the outage")
		}
		h.clock.Advance(rows[0].NextAt.Sub(h.clock.Now()))
		h.deliver()
	}
	if n := summaries(t, h); n != 1 {
		t.Fatalf("summaries = %d, want exactly 1", n)
	}
	if !(delays[0] < delays[1] && delays[1] < delays[2]) {
		t.Errorf("backoff does not grow: %v", delays)
	}
	if got := h.fake.CallCount("chat.postMessage"); got != 4 {
		t.Errorf("chat.postMessage calls = %d, want 4", got)
	}
}

func TestMalformedAndHangingAnswersAreRetried(t *testing.T) {
	h := newHarness(t)
	h.fake.Fail("conversations.create", fakeslack.MalformedBody())
	h.fake.Fail("conversations.setTopic", fakeslack.Hang())
	h.incident("U1", "CGENERAL", "new Outage")
	for i := 0; i < 5 && len(h.outbox(store.OutboxPending)) > 0; i++ {
		h.clock.Advance(10 * time.Minute)
		h.deliver()
	}
	if n := summaries(t, h); n != 1 {
		t.Fatalf("summaries = %d, want 1", n)
	}
	if n := len(h.fake.Calls("conversations.create")); n != 2 {
		t.Errorf("conversations.create calls = %d, want 2", n)
	}
	if !strings.Contains(h.room(1).Topic, "INC-1") {
		t.Errorf("topic not set after the timeout: %q", h.room(1).Topic)
	}
}

func TestPendingRowsSurviveRestart(t *testing.T) {
	h := newHarness(t)
	// The command is acknowledged and committed, then the process stops
	// before anything is delivered.
	h.command("U1", "CGENERAL", "/incident", "new Outage")
	if n := h.fake.CallCount("conversations.create"); n != 0 {
		t.Fatalf("delivered before the crash: %d", n)
	}
	h.restart()
	h.deliver()
	h.deliver()
	if n := summaries(t, h); n != 1 {
		t.Fatalf("summaries after restart = %d, want 1", n)
	}
	if n := h.fake.CallCount("conversations.create"); n != 1 {
		t.Fatalf("channels created = %d, want 1", n)
	}
}

func TestPostCutOffByCrashIsNotRepeated(t *testing.T) {
	h := newHarness(t)
	h.fake.Fail("chat.postMessage", fakeslack.RateLimited(1))
	h.incident("U1", "CGENERAL", "new Outage")
	row := h.outbox(store.OutboxPending)[0]
	if row.Op != string(bot.OpPost) {
		t.Fatalf("head row is %s", row.Op)
	}
	// Simulate the crash: the process recorded the attempt, Slack accepted
	// the post, and the process died before recording the outcome.
	ctx := context.Background()
	if err := h.db.Write(ctx, func(tx *store.Tx) error { _, err := tx.StartAttempt(ctx, row.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.slack.Post(ctx, bot.RoomRef{Platform: "slack", ID: h.room(1).ID}, bot.Message{
		Text: "summary", Buttons: []bot.Button{{ID: bot.ActionTakeCommand, Label: "Take command"}},
		Tag: "outbox-" + strconv.FormatInt(row.ID, 10),
	}); err != nil {
		t.Fatal(err)
	}
	h.restart()
	h.clock.Advance(time.Second)
	h.deliver()
	if n := summaries(t, h); n != 1 {
		t.Fatalf("summaries = %d, want 1: the post was repeated", n)
	}
	if n := len(h.fake.Pins(h.room(1).ID)); n != 1 {
		t.Fatalf("pins = %d: the found post must still be pinned", n)
	}
}

func TestDeadRowsDoNotBlockTheLane(t *testing.T) {
	h := newHarness(t)
	h.fake.Fail("conversations.setTopic", fakeslack.SlackError("invalid_arguments"))
	h.incident("U1", "CGENERAL", "new Outage")
	if dead := h.outbox(store.OutboxDead); len(dead) != 1 || dead[0].Op != string(bot.OpSetTopic) {
		t.Fatalf("dead rows = %+v", dead)
	}
	if n := summaries(t, h); n != 1 {
		t.Fatalf("summary not posted after a dead topic call: %d", n)
	}
}

func TestLostCreateAnswerAdoptsTheChannel(t *testing.T) {
	h := newHarness(t)
	// The first attempt fails; meanwhile the channel exists, created by the
	// bot (as when Slack created it but the answer was lost).
	h.fake.Fail("conversations.create", fakeslack.HTTPStatus(502))
	h.command("U1", "CGENERAL", "/incident", "new Outage")
	h.deliver()
	api := slack.New(h.fake.BotToken(), slack.OptionAPIURL(h.fake.APIURL()))
	made, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-1-outage"})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	h.deliver()
	if ch := h.room(1); ch.ID != made.ID {
		t.Fatalf("room %s (%s), want the adopted %s", ch.ID, ch.Name, made.ID)
	}
	if n := len(h.fake.Channels()); n != 1 {
		t.Fatalf("channels = %d: a twin was created", n)
	}
	if n := summaries(t, h); n != 1 {
		t.Fatalf("summaries = %d", n)
	}
}
