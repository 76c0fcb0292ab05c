package fakeslack

import (
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestSignMatchesSlackDocs(t *testing.T) {
	// The worked example from Slack's "Verifying requests from Slack" guide.
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	ts, sig := Sign("8f742231b10e8888abcd99yyyzzz85a5", time.Unix(1531420618, 0), body)
	if ts != "1531420618" || sig != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Fatalf("Sign = %q, %q", ts, sig)
	}
}

func TestSignVerifiesWithSlackGo(t *testing.T) {
	body := []byte(`{"type":"url_verification","challenge":"abc"}`)
	tests := []struct {
		name, signWith string
		ok             bool
	}{
		{"right secret", "s3cret", true},
		{"wrong secret", "other", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/slack/events", nil)
			SignRequest(req, tt.signWith, time.Now(), body)
			sv, err := slack.NewSecretsVerifier(req.Header, "s3cret")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = sv.Write(body)
			if err := sv.Ensure(); (err == nil) != tt.ok {
				t.Fatalf("Ensure = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
