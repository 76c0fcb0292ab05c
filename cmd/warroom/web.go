package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/bot/local"
	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors/alerts"
	"github.com/warroom-bot/warroom/store"
	"github.com/warroom-bot/warroom/web"
)

// webParts is the built-in web room: the local platform, the accounts and
// tokens that may use it, and (once mounted) the web server.
type webParts struct {
	local    *local.Platform
	accounts []web.Account
	tokens   []web.Token
	hasRole  func(ctx context.Context, actor, role string) bool
	srv      *web.Server
}

// firstAdmin is the account created on a first start with none configured.
const firstAdmin = "admin"

// newWeb builds the local platform and the web room's accounts. Accounts
// come from local.users; with none there, from the database, where the
// first start creates an admin holding every role and prints its password
// once. Configuring local.users later replaces that admin.
func newWeb(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger) (*webParts, error) {
	w := &webParts{local: local.New(db, local.Options{BaseURL: strings.TrimRight(cfg.BaseURL, "/")})}
	for _, u := range cfg.Local.Users {
		w.accounts = append(w.accounts, web.Account{Name: u.Name, Role: u.Role, PasswordHash: u.PasswordHash.Reveal()})
	}
	if len(w.accounts) == 0 {
		stored, err := db.LocalAccounts(ctx)
		if err != nil {
			return nil, err
		}
		if len(stored) == 0 {
			a, err := createFirstAdmin(ctx, db, log)
			if err != nil {
				return nil, err
			}
			stored = append(stored, a)
		}
		for _, a := range stored {
			w.accounts = append(w.accounts, web.Account{Name: a.Name, Role: a.Role, PasswordHash: a.PasswordHash})
		}
	}
	for _, t := range cfg.API.Tokens {
		w.tokens = append(w.tokens, web.Token{Name: t.Name, Token: t.Token.Reveal(), Role: t.Role})
	}
	w.hasRole = web.HasRole(w.accounts, w.tokens)
	return w, nil
}

// createFirstAdmin stores an admin account with a random password and
// prints the password once: only its bcrypt hash is kept.
func createFirstAdmin(ctx context.Context, db *store.DB, log *slog.Logger) (store.LocalAccount, error) {
	password := web.NewPassword()
	hash, err := web.HashPassword(password)
	if err != nil {
		return store.LocalAccount{}, fmt.Errorf("create the first account: %w", err)
	}
	a := store.LocalAccount{Name: firstAdmin, Role: web.AllRoles, PasswordHash: hash, CreatedAt: time.Now()}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.CreateLocalAccount(ctx, a) }); err != nil {
		return store.LocalAccount{}, err
	}
	log.Warn("created the web room account \"admin\" (all roles); its password is shown only this once: "+
		"log in and keep it, or set local.users in the config", "name", firstAdmin, "password", password)
	return a, nil
}

// mount builds the web server over the wired app and registers its routes.
func (w *webParts) mount(a *app, mux *http.ServeMux) error {
	srv, err := web.New(web.Options{
		DB: a.db, Service: a.svc, Handler: a.router, Engine: a.engine, Local: w.local,
		Accounts: w.accounts, Tokens: w.tokens, Logger: a.log,
		SecureCookies: len(a.cfg.BaseURL) >= 8 && strings.EqualFold(a.cfg.BaseURL[:8], "https://"),
		IncidentList: func(ctx context.Context, out io.Writer, all bool) error {
			return incidentList(ctx, a.db, all, true, out)
		},
		IncidentShow: func(ctx context.Context, out io.Writer, id int64) error {
			return incidentShow(ctx, a.db, id, true, out)
		},
	})
	if err != nil {
		return err
	}
	w.srv = srv
	srv.Routes(mux)
	return nil
}

// demoDir holds the sample alerts --demo loads, relative to the working
// directory (the repository root for `go run ./cmd/warroom serve --demo`).
const demoDir = "examples/alerts"

// demoEnrichment holds the sample feed and asset list --demo enriches from.
const demoEnrichment = "examples/enrichment"

// demoSources gives a demo the local enrichment sources a team would
// configure first, a feed and an asset inventory, unless the config has
// its own: the sample incidents then show verdicts and owners, with no API
// key anywhere.
func demoSources(cfg *config.Config) {
	if cfg.Connectors == nil {
		cfg.Connectors = map[string]config.ConnectorConfig{}
	}
	if _, ok := cfg.Connectors["feeds"]; !ok {
		cfg.Connectors["feeds"] = config.ConnectorConfig{Enabled: true, Files: []string{filepath.Join(demoEnrichment, "demo-feed.txt")}}
	}
	if _, ok := cfg.Connectors["inventory"]; !ok {
		cfg.Connectors["inventory"] = config.ConnectorConfig{Enabled: true, File: filepath.Join(demoEnrichment, "assets.csv")}
	}
}

// loadDemo feeds the sample alerts in dir through the alert parsers and
// bot.Service.Ingest, as POST /alerts/{source} would, so that a first look
// at the dashboard has incidents in it. Files are named after their source
// (wazuh.json, suricata.jsonl). Repeats fold into the same incidents, so
// running it twice adds no incidents.
func loadDemo(ctx context.Context, a *app, dir string) error {
	parsers, err := alertParsers(a.cfg)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--demo reads sample alerts from %s, which is not here: run warroom from the repository root", dir)
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	total := 0
	for _, e := range entries {
		source := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		parser, ok := parsers[source]
		if !ok || e.IsDir() {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		batch, err := parser.Parse(body)
		if err != nil {
			return fmt.Errorf("demo %s: %w", e.Name(), err)
		}
		for i := range batch.Alerts {
			batch.Alerts[i].GroupKey = alerts.GroupKey(batch.Alerts[i], a.cfg.Alerts.GroupBy)
		}
		if len(batch.Alerts) == 0 {
			continue
		}
		if _, err := a.svc.Ingest(ctx, batch.Alerts); err != nil {
			return fmt.Errorf("demo %s: %w", e.Name(), err)
		}
		total += len(batch.Alerts)
	}
	a.log.Info("demo alerts loaded", "dir", dir, "alerts", total)
	return nil
}
