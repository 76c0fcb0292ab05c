package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, err error)
	}{
		{"429", RateLimited(7), func(t *testing.T, err error) {
			e, ok := errors.AsType[*slack.RateLimitedError](err)
			if !ok || e.RetryAfter != 7*time.Second {
				t.Fatalf("err = %#v, want *slack.RateLimitedError{RetryAfter: 7s}", err)
			}
		}},
		{"500", HTTPStatus(http.StatusInternalServerError), func(t *testing.T, err error) {
			e, ok := errors.AsType[slack.StatusCodeError](err)
			if !ok || e.Code != 500 || !e.Retryable() {
				t.Fatalf("err = %#v, want slack.StatusCodeError{Code: 500}", err)
			}
		}},
		{"503", HTTPStatus(http.StatusServiceUnavailable), func(t *testing.T, err error) {
			if e, ok := errors.AsType[slack.StatusCodeError](err); !ok || e.Code != 503 {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"slack error", SlackError("fatal_error"), func(t *testing.T, err error) {
			wantCode(t, err, "fatal_error")
		}},
		{"malformed body", MalformedBody(), func(t *testing.T, err error) {
			if _, ok := errors.AsType[*json.SyntaxError](err); !ok {
				t.Fatalf("err = %#v, want *json.SyntaxError", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, api := setup(t)
			srv.Fail("auth.test", tt.fault)

			_, err := api.AuthTestContext(testCtx(t))
			tt.check(t, err)
			// The fault is consumed: the next call is served normally.
			if _, err := api.AuthTestContext(testCtx(t)); err != nil {
				t.Fatalf("call after fault: %v", err)
			}

			calls := srv.Calls("auth.test")
			if len(calls) != 2 || calls[0].Fault == nil || *calls[0].Fault != tt.fault || calls[1].Fault != nil {
				t.Fatalf("calls = %+v", calls)
			}
		})
	}
}

func TestFaultsQueuePerMethod(t *testing.T) {
	srv, api := setup(t)
	ch := mustCreate(t, api, "inc-faults", false)
	srv.FailTimes("chat.postMessage", 3, HTTPStatus(http.StatusInternalServerError))
	srv.Fail("chat.postMessage", RateLimited(1))

	// Other methods are unaffected by chat.postMessage's queue.
	if _, err := api.AuthTestContext(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_, _, err := api.PostMessageContext(testCtx(t), ch.ID, slack.MsgOptionText("x", false))
		if _, ok := errors.AsType[slack.StatusCodeError](err); !ok {
			t.Fatalf("attempt %d: err = %v, want 500", i, err)
		}
	}
	_, _, err := api.PostMessageContext(testCtx(t), ch.ID, slack.MsgOptionText("x", false))
	if _, ok := errors.AsType[*slack.RateLimitedError](err); !ok {
		t.Fatalf("4th attempt: err = %v, want 429", err)
	}
	mustPost(t, api, ch.ID, slack.MsgOptionText("finally", false))

	if n := len(srv.Messages(ch.ID)); n != 1 {
		t.Fatalf("%d messages stored, want only the successful one", n)
	}
	if srv.CallCount("chat.postMessage") != 5 {
		t.Fatalf("call count = %d", srv.CallCount("chat.postMessage"))
	}
}

func TestFaultHang(t *testing.T) {
	srv, api := setup(t)
	srv.Fail("conversations.create", Hang())

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-hang"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	// The hung call did not create anything; the retry does.
	if _, ok := srv.ChannelByName("inc-hang"); ok {
		t.Fatal("hung call changed state")
	}
	mustCreate(t, api, "inc-hang", false)
	if calls := srv.Calls("conversations.create"); len(calls) != 2 || calls[0].Fault == nil || calls[0].Fault.Kind != FaultHang {
		t.Fatalf("calls = %+v", calls)
	}
}

// TestFaultHangReleasedByClose makes sure Close does not wait forever on a
// request that a Hang fault holds open.
func TestFaultHangReleasedByClose(t *testing.T) {
	srv := New()
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
	srv.Fail("auth.test", Hang())
	errc := make(chan error, 1)
	go func() {
		_, err := api.AuthTestContext(testCtx(t))
		errc <- err
	}()
	if err := srv.WaitFor(testCtx(t), func(s *State) bool { return s.CallCount("auth.test") == 1 }); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("hung call succeeded")
		}
	case <-testCtx(t).Done():
		t.Fatal("request still hanging after Close")
	}
}

// TestRetryAfterFault shows the pattern tests use for "fail, then succeed"
// with slack-go's own retry support.
func TestRetryAfterFault(t *testing.T) {
	srv := NewT(t)
	cfg := slack.DefaultRetryConfig()
	cfg.MaxRetries = 3
	cfg.BackoffInitial = time.Millisecond
	cfg.BackoffJitter = 0
	cfg.Handlers = []slack.RetryHandler{slack.NewServerErrorRetryHandler(cfg)}
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()), slack.OptionRetryConfig(cfg))

	srv.FailTimes("auth.test", 2, HTTPStatus(http.StatusBadGateway))
	if _, err := api.AuthTestContext(testCtx(t)); err != nil {
		t.Fatalf("retried call failed: %v", err)
	}
	if n := srv.CallCount("auth.test"); n != 3 {
		t.Fatalf("call count = %d, want 3", n)
	}
}
