package commands

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// TestAssignWebAccount: in the web room an account has a name and no id,
// so "@alice" names it there; a chat platform must send a real mention.
func TestAssignWebAccount(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{})
	r := NewRouter(svc, Permissions{}, slog.New(slog.DiscardHandler))
	in, err := svc.Open(ctx, "local:bob", bot.NewIncident{Title: "Phishing wave"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		platform, user string
		want           string // commander afterwards
		reply          string
	}{
		{"slack", "U1", "", "Mention the new commander"},
		{"local", "bob", "local:alice", "has a new commander"},
	} {
		reply := r.Command(ctx, bot.Request{Platform: tc.platform, User: tc.user, Command: "incident", Text: "assign " + in.Ref() + " @alice"})
		if !strings.Contains(reply.Message.Text, tc.reply) {
			t.Errorf("%s: reply %q, want %q", tc.platform, reply.Message.Text, tc.reply)
		}
		got, err := svc.Get(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Commander != tc.want {
			t.Errorf("%s: commander %q, want %q", tc.platform, got.Commander, tc.want)
		}
	}
}
