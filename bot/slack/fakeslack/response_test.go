package fakeslack

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestResponseURL(t *testing.T) {
	srv, api := setup(t)
	url := srv.NewResponseURL()
	if !strings.HasPrefix(url, srv.URL()+"/response/") || url == srv.NewResponseURL() {
		t.Fatalf("response URLs not unique on the fake: %q", url)
	}

	err := slack.PostWebhookContext(testCtx(t), url, &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: "working on it"})
	if err != nil {
		t.Fatal(err)
	}
	// chat-style response_url posts (MsgOptionResponseURL) work too.
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*SEV1*", false, false), nil, nil)
	_, _, err = api.PostMessageContext(testCtx(t), "", slack.MsgOptionResponseURL(url, slack.ResponseTypeInChannel),
		slack.MsgOptionText("declared", false), slack.MsgOptionBlocks(section))
	if err != nil {
		t.Fatal(err)
	}

	got := srv.Responses(url)
	if len(got) != 2 {
		t.Fatalf("responses = %+v", got)
	}
	if got[0].ResponseType != "ephemeral" || got[0].Text != "working on it" || got[0].ReplaceOriginal || got[0].Blocks != nil {
		t.Fatalf("first response = %+v", got[0])
	}
	blocks, err := got[1].SlackBlocks()
	if got[1].ResponseType != "in_channel" || err != nil || len(blocks.BlockSet) != 1 {
		t.Fatalf("second response = %+v (blocks %v, %v)", got[1], blocks, err)
	}
	if calls := srv.Calls(ResponseURLMethod); len(calls) != 2 || calls[0].Form.Get("text") != "working on it" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestResponseURLOriginalMessage(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-buttons", false)
	ts := mustPost(t, api, ch.ID, slack.MsgOptionText("Acknowledge?", false))
	url := srv.NewMessageResponseURL(ch.ID, ts)

	err := slack.PostWebhookContext(testCtx(t), url, &slack.WebhookMessage{Text: "Acknowledged by alice", ReplaceOriginal: true})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.Message(ch.ID, ts); m.Text != "Acknowledged by alice" || m.Edits != 1 {
		t.Fatalf("original after replace = %+v", m)
	}
	if err := slack.PostWebhookContext(testCtx(t), url, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Message(ch.ID, ts); ok {
		t.Fatal("original survived delete_original")
	}
}

func TestResponseURLErrors(t *testing.T) {
	srv := NewT(t)
	url := srv.NewResponseURL()
	tests := []struct {
		name   string
		url    string
		fault  *Fault
		status int
	}{
		{"unknown url", srv.URL() + "/response/999999", nil, http.StatusNotFound},
		{"injected 500", url, &Fault{Kind: FaultHTTPStatus, Status: 500}, 500},
		{"injected 429", url, &Fault{Kind: FaultRateLimited, RetryAfter: 3}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				srv.Fail(ResponseURLMethod, *tt.fault)
			}
			err := slack.PostWebhookContext(testCtx(t), tt.url, &slack.WebhookMessage{Text: "x"})
			if tt.status == 0 {
				if _, ok := errors.AsType[*slack.RateLimitedError](err); !ok {
					t.Fatalf("err = %v, want rate limit", err)
				}
				return
			}
			if e, ok := errors.AsType[slack.StatusCodeError](err); !ok || e.Code != tt.status {
				t.Fatalf("err = %v, want status %d", err, tt.status)
			}
		})
	}
	if len(srv.Responses(url)) != 0 {
		t.Fatal("failed posts were recorded as responses")
	}
}
