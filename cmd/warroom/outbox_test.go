package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// TestOutboxRetry: chat calls given up on are listed, and retry makes them
// pending again, due now, with their attempts reset; the rest stay as they
// are.
func TestOutboxRetry(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "w.db")
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	svc := bot.NewService(db, bot.Options{Platforms: []string{"slack"}})
	if _, err := svc.Open(ctx, "slack:U1", bot.NewIncident{Title: "Phishing wave"}); err != nil {
		t.Fatal(err)
	}
	pending, err := db.OutboxRows(ctx, store.OutboxPending)
	if err != nil || len(pending) < 3 {
		t.Fatalf("pending rows: %d, %v", len(pending), err)
	}
	// The token was revoked: the first two calls were given up on.
	err = db.Write(ctx, func(tx *store.Tx) error {
		for _, r := range pending[:2] {
			if err := tx.KillOutbox(ctx, r.ID, "slack: token_revoked", time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "database: "+dbPath+"\n")

	out, _, err := runCLI(t, "outbox", "list", "--dead", "--json", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var dead []struct {
		ID        int64  `json:"id"`
		Incident  string `json:"incident"`
		LastError string `json:"last_error"`
	}
	if err := json.Unmarshal([]byte(out), &dead); err != nil || len(dead) != 2 || dead[0].Incident != "INC-1" || dead[0].LastError != "slack: token_revoked" {
		t.Fatalf("dead rows: %v %s", err, out)
	}
	if _, stderr, err := runCLI(t, "outbox", "retry", "--config", cfg); err == nil || !strings.Contains(stderr, "usage: warroom outbox") {
		t.Errorf("retry with nothing named: %v %q", err, stderr)
	}
	if _, _, err := runCLI(t, "outbox", "retry", "999", "--config", cfg); err == nil {
		t.Error("retrying a row that is not dead succeeded")
	}
	out, _, err = runCLI(t, "outbox", "retry", "--all", "--config", cfg)
	if err != nil || !strings.Contains(out, "2 dead rows are pending again") {
		t.Fatalf("retry --all: %v %s", err, out)
	}
	db, err = store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if rows, _ := db.OutboxRows(ctx, store.OutboxDead); len(rows) != 0 {
		t.Errorf("%d rows still dead", len(rows))
	}
	rows, _ := db.OutboxRows(ctx, store.OutboxPending)
	if len(rows) != len(pending) || rows[0].Attempts != 0 {
		t.Errorf("pending after retry: %d rows (want %d), first with %d attempts", len(rows), len(pending), rows[0].Attempts)
	}
}
