package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/store"
)

// openExisting opens the configured database for the inspection commands,
// which must not create an empty one by mistake.
func openExisting(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	db, err := openIfPresent(ctx, cfg)
	if err == nil && db == nil {
		return nil, fmt.Errorf("no database at %s: run warroom serve first, or point database: in the config at it", cfg.Database)
	}
	return db, err
}

// openIfPresent opens the configured database if it exists, and returns
// nil if not: a shell lookup must not leave an empty database behind.
func openIfPresent(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	if _, err := os.Stat(cfg.Database); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return store.Open(ctx, cfg.Database, store.WithSync(cfg.DatabaseSync))
}

// openConfigured loads the config at path and opens its existing
// database: what every inspection command starts with.
func openConfigured(ctx context.Context, path string) (*store.DB, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return openExisting(ctx, cfg)
}
