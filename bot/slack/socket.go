package slack

import (
	"context"
	"errors"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/warroom-bot/warroom/bot"
)

// RunSocketMode connects to Slack over Socket Mode (needs an app-level
// token) and serves commands and clicks from it until ctx ends, reconnecting
// with backoff when the connection drops. It lets a team run warroom with no
// public URL.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if a.cfg.AppToken == "" {
		return errors.New("socket mode needs slack.app_token")
	}
	backoff := time.Second
	for {
		client := socketmode.New(a.api)
		runCtx, cancel := context.WithCancel(ctx)
		go a.socketEvents(runCtx, client)
		err := client.RunContext(runCtx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		a.log.Warn("socket mode connection ended, reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (a *Adapter) socketEvents(ctx context.Context, client *socketmode.Client) {
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-client.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeConnected:
			a.log.Info("socket mode connected")
		case socketmode.EventTypeSlashCommand:
			cmd, ok := evt.Data.(slack.SlashCommand)
			if !ok || evt.Request == nil {
				continue
			}
			// Socket Mode requests are authenticated by the connection itself.
			body := a.commandAnswer(ctx, commandRequest(cmd))
			if err := client.Ack(*evt.Request, body); err != nil {
				a.log.Error("socket mode ack failed", "err", err)
			}
		case socketmode.EventTypeInteractive:
			cb, ok := evt.Data.(slack.InteractionCallback)
			if evt.Request != nil {
				client.Ack(*evt.Request)
			}
			if ok {
				a.interaction(context.WithoutCancel(ctx), cb)
			}
		case socketmode.EventTypeEventsAPI:
			if evt.Request != nil {
				client.Ack(*evt.Request)
			}
		}
	}
}

// compile-time checks that the adapter offers what the dispatcher looks for.
var (
	_ bot.Platform    = (*Adapter)(nil)
	_ bot.Pinner      = (*Adapter)(nil)
	_ bot.Responder   = (*Adapter)(nil)
	_ bot.Finder      = (*Adapter)(nil)
	_ bot.RateLimiter = (*Adapter)(nil)
	_ bot.RoomFinder  = (*Adapter)(nil)
)
