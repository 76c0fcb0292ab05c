package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// startSocketClient runs a slack-go Socket Mode client against srv until the
// test ends, returning the client and a channel with Run's result.
func startSocketClient(t *testing.T, srv *Server, appToken string) (*socketmode.Client, <-chan error) {
	t.Helper()
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(appToken))
	client := socketmode.New(api)
	ctx, cancel := context.WithCancel(t.Context())
	result := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		result <- client.RunContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return client, result
}

// nextEvent returns the next client event of the given type, skipping the
// connection lifecycle events in between.
func nextEvent(t *testing.T, client *socketmode.Client, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	ctx := testCtx(t)
	for {
		select {
		case evt := <-client.Events:
			if evt.Type == typ {
				return evt
			}
			// incoming_error is normal while reconnecting (the client reads
			// from the connection it just closed); these two never are.
			switch evt.Type {
			case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeInvalidAuth:
				t.Fatalf("unexpected %s event: %+v", evt.Type, evt.Data)
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", typ)
		}
	}
}

func TestSocketModeSlashCommandRoundTrip(t *testing.T) {
	srv := NewT(t)
	ch := srv.AddChannel("inc-socket", false, srv.BotUserID(), "U0ALICE")
	srv.AddUser(slack.User{ID: "U0ALICE", Name: "alice"})

	// Queued before the client connects: delivery waits for the hello.
	envID, sent := srv.SendSlashCommand(slack.SlashCommand{
		Command: "/incident", Text: "declare sev1 db down", ChannelID: ch.ID, UserID: "U0ALICE",
	})
	if srv.Inspect(func(s *State) {
		if s.PendingEnvelopes() != 1 {
			t.Errorf("pending = %d, want 1", s.PendingEnvelopes())
		}
	}); t.Failed() {
		t.FailNow()
	}

	client, _ := startSocketClient(t, srv, srv.AppToken())
	hello := nextEvent(t, client, socketmode.EventTypeHello)
	if hello.Request.ConnectionInfo.AppID != DefaultAppID || hello.Request.NumConnections != 1 {
		t.Fatalf("hello = %+v", hello.Request)
	}

	evt := nextEvent(t, client, socketmode.EventTypeSlashCommand)
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		t.Fatalf("data = %T", evt.Data)
	}
	if cmd != sent || cmd.ChannelName != "inc-socket" || cmd.UserName != "alice" || cmd.ResponseURL == "" || cmd.TriggerID == "" {
		t.Fatalf("command = %+v, sent %+v", cmd, sent)
	}
	if evt.Request.EnvelopeID != envID || !evt.Request.AcceptsResponsePayload {
		t.Fatalf("envelope = %+v", evt.Request)
	}

	client.Ack(*evt.Request, map[string]any{"response_type": "ephemeral", "text": "Declaring…"})
	payload, err := srv.WaitAck(testCtx(t), envID)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(payload, &got); err != nil || got["text"] != "Declaring…" {
		t.Fatalf("ack payload = %s, %v", payload, err)
	}
	if acks := srv.Acks(); len(acks) != 1 || acks[0].EnvelopeID != envID {
		t.Fatalf("acks = %+v", acks)
	}

	// The response_url in the command works with slack-go's webhook helper.
	err = slack.PostWebhookContext(testCtx(t), cmd.ResponseURL, &slack.WebhookMessage{ResponseType: "in_channel", Text: "SEV1 declared"})
	if err != nil {
		t.Fatal(err)
	}
	if r := srv.Responses(cmd.ResponseURL); len(r) != 1 || r[0].Text != "SEV1 declared" {
		t.Fatalf("responses = %+v", r)
	}
}

func TestSocketModeEventsAndReconnect(t *testing.T) {
	srv := NewT(t)
	srv.Fail("apps.connections.open", HTTPStatus(http.StatusInternalServerError))
	client, _ := startSocketClient(t, srv, srv.AppToken())

	// The client backs off after the 500 and connects on its second try.
	nextEvent(t, client, socketmode.EventTypeConnectionError)
	nextEvent(t, client, socketmode.EventTypeHello)
	if err := srv.WaitSocket(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}

	srv.Disconnect("refresh_requested")
	// Sent while the old connection is draining: it must reach the new one.
	envID := srv.SendEvent(map[string]any{
		"type": "app_mention", "user": "U0ALICE", "text": "<@U0000BOT1> status", "channel": "C1", "ts": "1700000000.000100",
	})
	connected := nextEvent(t, client, socketmode.EventTypeConnected)
	if info := connected.Data.(*socketmode.ConnectedEvent); info.ConnectionCount != 1 {
		t.Fatalf("connected = %+v, want the first reconnection", info)
	}
	nextEvent(t, client, socketmode.EventTypeHello)
	if n := srv.CallCount("apps.connections.open"); n != 3 {
		t.Fatalf("apps.connections.open called %d times, want 3", n)
	}

	evt := nextEvent(t, client, socketmode.EventTypeEventsAPI)
	outer, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok || outer.Type != slackevents.CallbackEvent {
		t.Fatalf("event = %#v", evt.Data)
	}
	mention, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok || mention.Text != "<@U0000BOT1> status" {
		t.Fatalf("inner = %#v", outer.InnerEvent.Data)
	}
	if evt.Request.AcceptsResponsePayload {
		t.Fatal("events_api envelope accepts a response payload")
	}
	client.Ack(*evt.Request)
	payload, err := srv.WaitAck(testCtx(t), envID)
	if err != nil || payload != nil {
		t.Fatalf("ack payload = %s, %v; want none", payload, err)
	}

	// An abrupt drop is also survived.
	srv.DropSockets()
	nextEvent(t, client, socketmode.EventTypeHello)
	interactive := srv.SendEnvelope(EnvelopeInteractive, &slack.InteractionCallback{
		Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0ALICE"},
	})
	evt = nextEvent(t, client, socketmode.EventTypeInteractive)
	if cb := evt.Data.(slack.InteractionCallback); cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U0ALICE" {
		t.Fatalf("interaction = %+v", cb)
	}
	client.Ack(*evt.Request)
	if _, err := srv.WaitAck(testCtx(t), interactive); err != nil {
		t.Fatal(err)
	}
}

func TestSocketModeAuth(t *testing.T) {
	srv := NewT(t)
	tests := []struct {
		name, token, code string
	}{
		{"wrong app token", "xapp-wrong", "invalid_auth"},
		{"bot token", srv.BotToken(), "not_allowed_token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(tt.token))
			_, _, err := api.StartSocketModeContext(testCtx(t))
			wantCode(t, err, tt.code)
		})
	}

	// socketmode treats invalid_auth as fatal, so Run returns.
	_, done := startSocketClient(t, srv, "xapp-wrong")
	select {
	case err := <-done:
		if err == nil || err.Error() != "invalid_auth" {
			t.Fatalf("Run = %v", err)
		}
	case <-testCtx(t).Done():
		t.Fatal("Run did not give up on invalid_auth")
	}

	// WebSocket tickets are single use: a second dial with the same URL is
	// refused, so reconnect logic must go back through apps.connections.open.
	_, url, err := slack.New("", slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(srv.AppToken())).StartSocketModeContext(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, resp, err := websocket.DefaultDialer.DialContext(testCtx(t), url, nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused ticket: err %v, resp %+v", err, resp)
	}
	resp.Body.Close()
}

func TestWaitAckTimeout(t *testing.T) {
	srv := NewT(t)
	id := srv.SendEnvelope(EnvelopeSlashCommands, json.RawMessage(`{}`))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := srv.WaitAck(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitAck = %v", err)
	}
}
