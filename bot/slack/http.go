package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom-bot/warroom/bot"
)

// maxBody bounds what we read from Slack before verifying it. Slash
// commands and interaction payloads are a few KiB; 1 MiB is generous.
const maxBody = 1 << 20

// Routes registers Slack's endpoints on mux.
func (a *Adapter) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /slack/commands", a.handleCommand)
	mux.HandleFunc("POST /slack/interactions", a.handleInteraction)
	mux.HandleFunc("POST /slack/events", a.handleEvent)
}

// verify reads the body and checks Slack's signature (HMAC v0, 5-minute
// window) before anything looks at the content. On failure it has written
// the error response and returns false.
func (a *Adapter) verify(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		a.log.Warn("rejected unverified Slack request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	if !a.replays.Fresh(r.Header.Get("X-Slack-Signature"), time.Now()) {
		a.log.Warn("rejected replayed Slack request", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "replayed request", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (a *Adapter) handleCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verify(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return
	}
	req := commandRequest(slack.SlashCommand{
		Command: form.Get("command"), Text: form.Get("text"), UserID: form.Get("user_id"),
		ChannelID: form.Get("channel_id"), ResponseURL: form.Get("response_url"),
	})
	writeJSON(w, a.commandAnswer(r.Context(), req))
}

func commandRequest(c slack.SlashCommand) bot.Request {
	return bot.Request{Platform: "slack", User: c.UserID, Channel: c.ChannelID, Command: c.Command, Text: c.Text, ReplyTo: c.ResponseURL}
}

// commandAnswer runs a command and returns the body of Slack's
// acknowledgement. If the command outlasts AckTimeout the acknowledgement
// says so and the answer follows through the response_url.
func (a *Adapter) commandAnswer(ctx context.Context, req bot.Request) map[string]any {
	// The work must outlive the HTTP request if it is slow.
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	done := make(chan bot.Reply, 1)
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		defer cancel()
		reply := a.cfg.Handler.Command(work, req)
		select {
		case done <- reply:
		default:
		}
	}()
	timer := time.NewTimer(a.cfg.AckTimeout)
	defer timer.Stop()
	select {
	case reply := <-done:
		return replyBody(reply)
	case <-timer.C:
	}
	// Too slow for the acknowledgement: answer later, once it is ready.
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		reply := <-done
		if reply.Empty() {
			return
		}
		if err := a.Respond(work, req.ReplyTo, reply.Message); err != nil {
			a.log.Error("late command answer failed", "err", err)
		}
	}()
	return map[string]any{"response_type": slack.ResponseTypeEphemeral, "text": "⏳ Working on it…"}
}

func replyBody(r bot.Reply) map[string]any {
	blocks, text := Blocks(r.Message)
	kind := slack.ResponseTypeEphemeral
	if r.Public {
		kind = slack.ResponseTypeInChannel
	}
	return map[string]any{"response_type": kind, "text": text, "blocks": blocks}
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

func (a *Adapter) handleInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verify(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	// Acknowledge at once; clicks are answered through the response_url.
	w.WriteHeader(http.StatusOK)
	a.interaction(context.WithoutCancel(r.Context()), cb)
}

// interaction turns a Slack interaction into clicks and answers each in the background.
func (a *Adapter) interaction(ctx context.Context, cb slack.InteractionCallback) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return
	}
	for _, act := range cb.ActionCallback.BlockActions {
		click := bot.Click{
			Platform: "slack", User: cb.User.ID, Channel: cb.Channel.ID, ActionID: act.ActionID, Value: act.Value,
			Message: bot.MessageRef{Room: bot.RoomRef{Platform: "slack", ID: cb.Channel.ID}, ID: cb.Message.Timestamp},
			ReplyTo: cb.ResponseURL,
		}
		a.background.Add(1)
		go func() {
			defer a.background.Done()
			work, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			reply := a.cfg.Handler.Click(work, click)
			if reply.Empty() || click.ReplyTo == "" {
				return
			}
			if err := a.Respond(work, click.ReplyTo, reply.Message); err != nil {
				a.log.Error("click answer failed", "action", click.ActionID, "err", err)
			}
		}()
	}
}

func (a *Adapter) handleEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verify(w, r)
	if !ok {
		return
	}
	var ev struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if ev.Type == "url_verification" {
		writeJSON(w, map[string]string{"challenge": ev.Challenge})
		return
	}
	// Other events are not used yet; acknowledging stops Slack's retries.
	w.WriteHeader(http.StatusOK)
}
