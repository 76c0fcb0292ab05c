package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestSocketModeCommand(t *testing.T) {
	h := newHarness(t, withSocketMode())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.slack.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("socket mode: %v", err)
		}
	}()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := h.fake.WaitSocket(wait, 1); err != nil {
		t.Fatalf("never connected: %v", err)
	}
	id, _ := h.fake.SendSlashCommand(slack.SlashCommand{Command: "/incident", Text: "new Socket incident --sev high", UserID: "UANALYST", ChannelID: "CGENERAL"})
	ack, err := h.fake.WaitAck(wait, id)
	if err != nil {
		t.Fatalf("no ack: %v", err)
	}
	if !strings.Contains(string(ack), "INC-1") || !strings.Contains(string(ack), "ephemeral") {
		t.Fatalf("ack payload = %s", ack)
	}
	h.deliver()
	if _, ok := h.fake.ChannelByName("inc-1-socket-incident"); !ok {
		t.Fatal("channel not created from a Socket Mode command")
	}

	// A malformed command is answered with usage over the socket too.
	id, _ = h.fake.SendSlashCommand(slack.SlashCommand{Command: "/incident", Text: "severity", UserID: "UANALYST", ChannelID: "CGENERAL"})
	if ack, err = h.fake.WaitAck(wait, id); err != nil || !strings.Contains(string(ack), "Usage") {
		t.Fatalf("usage ack = %s, %v", ack, err)
	}
}
