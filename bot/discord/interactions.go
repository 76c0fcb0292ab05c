package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

// maxBody bounds what we read from Discord before verifying it.
// Interaction payloads are a few KiB; 1 MiB is generous.
const maxBody = 1 << 20

// signatureWindow is how old (or how far ahead) a signed timestamp may be.
// Discord's signature covers the timestamp but nothing checks its age, so
// without a window a captured request could be replayed forever.
const signatureWindow = 5 * time.Minute

// Routes registers Discord's interactions endpoint on mux.
func (a *Adapter) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /discord/interactions", a.handleInteraction)
}

// verify checks an interaction's Ed25519 signature over timestamp+body and
// the timestamp's age, and that the signature was not seen before.
func (a *Adapter) verify(h http.Header, body []byte) error {
	if a.pubKey == nil {
		return errors.New("discord.public_key is not configured")
	}
	sig, err := hex.DecodeString(h.Get("X-Signature-Ed25519"))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("missing or malformed signature")
	}
	ts := h.Get("X-Signature-Timestamp")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing or malformed timestamp")
	}
	now := a.now()
	if d := now.Sub(time.Unix(secs, 0)); d > signatureWindow || d < -signatureWindow {
		return errors.New("timestamp outside the 5-minute window")
	}
	msg := make([]byte, 0, len(ts)+len(body))
	msg = append(append(msg, ts...), body...)
	if !ed25519.Verify(a.pubKey, msg, sig) {
		return errors.New("bad signature")
	}
	if !a.replays.Fresh(string(sig), now) {
		return errors.New("replayed request")
	}
	return nil
}

func (a *Adapter) handleInteraction(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := a.verify(r.Header, body); err != nil {
		a.log.Warn("rejected unverified Discord request", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	in, err := DecodeInteraction(body)
	if err != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	resp := a.answer(context.WithoutCancel(r.Context()), in)
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(resp); err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// gatewayInteraction answers an interaction that came over the gateway: the
// same answer as over HTTP, sent to the callback endpoint.
func (a *Adapter) gatewayInteraction(ctx context.Context, in *discordgo.Interaction) {
	resp := a.answer(ctx, in)
	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.callbackOf(callCtx, in, resp); err != nil {
		a.log.Error("answer interaction", "type", in.Type.String(), "err", err)
	}
}

func (a *Adapter) callbackOf(ctx context.Context, in *discordgo.Interaction, resp *discordgo.InteractionResponse) error {
	return a.callIn(ctx, "interaction callback", http.MethodPost, discordgo.EndpointInteractionResponse(in.ID, in.Token), resp, nil)
}

// answer works out the response to an interaction, within AckTimeout.
// Work that takes longer gets a deferred response now and its answer later,
// as an edit of that response.
func (a *Adapter) answer(ctx context.Context, in *discordgo.Interaction) *discordgo.InteractionResponse {
	a.remember(in.Member)
	switch in.Type {
	case discordgo.InteractionPing:
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}
	case discordgo.InteractionApplicationCommand:
		req, err := RequestOf(in)
		if err != nil {
			return a.ephemeral(err.Error())
		}
		return a.run(ctx, in, false, func(ctx context.Context) bot.Reply { return a.cfg.Handler.Command(ctx, req) })
	case discordgo.InteractionMessageComponent:
		click, confirm, err := ClickOf(in)
		if err != nil {
			return a.ephemeral("This button is not warroom's, or is broken.")
		}
		if confirm {
			return a.confirm(in, click)
		}
		return a.run(ctx, in, true, func(ctx context.Context) bot.Reply { return a.cfg.Handler.Click(ctx, click) })
	case discordgo.InteractionApplicationCommandAutocomplete:
		return &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}}}
	}
	return a.ephemeral("warroom does not handle this kind of interaction.")
}

func (a *Adapter) ephemeral(text string) *discordgo.InteractionResponse {
	data, _ := RoleSet(nil).responseData(bot.Message{Text: text}, true)
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
}

// confirm answers a click on a button that asks first (Discord has no
// confirmation dialogs): a private question with the real button, whose
// click then acts. The question names the button, read from the message
// the interaction came from.
func (a *Adapter) confirm(in *discordgo.Interaction, click bot.Click) *discordgo.InteractionResponse {
	label := "Confirm"
	if in.Message != nil {
		id := in.MessageComponentData().CustomID
		for _, row := range in.Message.Components {
			r, ok := row.(*discordgo.ActionsRow)
			if !ok {
				continue
			}
			for _, c := range r.Components {
				if b, ok := c.(*discordgo.Button); ok && b.CustomID == id && b.Label != "" {
					label = b.Label
				}
			}
		}
	}
	msg := bot.Message{Text: "Are you sure? " + label + " cannot be undone from here.",
		Buttons: []bot.Button{{ID: click.ActionID, Value: click.Value, Label: label, Style: bot.StyleDanger}}}
	data, err := RoleSet(nil).responseData(msg, true)
	if err != nil {
		return a.ephemeral("This button is broken.")
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
}

// run calls the handler and answers within AckTimeout: with the reply if
// it is ready, else with a deferred response that the reply edits later.
// An empty reply to a click is a silent acknowledgement.
func (a *Adapter) run(ctx context.Context, in *discordgo.Interaction, isClick bool, work func(context.Context) bot.Reply) *discordgo.InteractionResponse {
	// The work must outlive the request if it is slow.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	done := make(chan bot.Reply, 1)
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		defer cancel()
		done <- work(wctx)
	}()
	timer := time.NewTimer(a.cfg.AckTimeout)
	defer timer.Stop()
	select {
	case reply := <-done:
		return a.replyResponse(reply, isClick)
	case <-timer.C:
	}
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		reply := <-done
		if reply.Empty() {
			reply.Message.Text = "Done."
		}
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := a.editOriginal(ectx, in.Token, reply.Message); err != nil {
			a.log.Error("late interaction answer failed", "err", err)
		}
	}()
	// A deferred answer is private; the late reply edits it in place.
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}
}

func (a *Adapter) replyResponse(reply bot.Reply, isClick bool) *discordgo.InteractionResponse {
	if reply.Empty() {
		if isClick {
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
		}
		reply.Message.Text = "Done."
	}
	roles, _ := a.cachedRoles()
	data, err := roles.responseData(reply.Message, !reply.Public)
	if err != nil {
		a.log.Error("render reply", "err", err)
		return a.ephemeral("The answer could not be shown; it is in warroom's log.")
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
}

// cachedRoles returns the guild's roles without a network call: answers
// inside the 3-second window must not wait on one.
func (a *Adapter) cachedRoles() (RoleSet, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.roles, a.roles != nil
}

// editOriginal replaces the deferred response of an interaction.
func (a *Adapter) editOriginal(ctx context.Context, token string, msg bot.Message) error {
	roles, _ := a.cachedRoles()
	r, err := roles.Render(msg)
	if err != nil {
		return err
	}
	endpoint := discordgo.EndpointInteractionResponseActions(a.cfg.ApplicationID, token)
	return a.callIn(ctx, "interaction edit", http.MethodPatch, endpoint, messageEdit(r), nil)
}

// responseData renders a message as interaction response (or follow-up)
// data. Plain text answers go in the content, where they read like a
// sentence; anything richer is an embed, as in channels.
func (rs RoleSet) responseData(m bot.Message, private bool) (*discordgo.InteractionResponseData, error) {
	r, err := rs.Render(m)
	if err != nil {
		return nil, err
	}
	data := &discordgo.InteractionResponseData{Embeds: r.Embeds, Components: r.Components, AllowedMentions: r.AllowedMentions, Content: r.Content}
	if m.Title == "" && len(m.Fields) == 0 && m.Footer == "" && m.Tag == "" && len(m.Mentions) == 0 && len(r.Embeds) == 1 {
		data.Content, data.Embeds = r.Embeds[0].Description, []*discordgo.MessageEmbed{}
	}
	if private {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	return data, nil
}

// callIn is call with a fixed rate-limit bucket, for endpoints whose URL
// carries an interaction token: one bucket per token would keep every token
// in memory for the life of the process.
func (a *Adapter) callIn(ctx context.Context, bucket, method, endpoint string, body, out any) error {
	resp, err := a.s.RequestWithBucketID(method, endpoint, body, bucket, discordgo.WithContext(ctx))
	if err != nil {
		return classify(err)
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}
