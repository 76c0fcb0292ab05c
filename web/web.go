// Package web is warroom's built-in web room and dashboard: the incident
// list, each incident's room (timeline, messages, runs, approvals and a
// command box), the approval queue, playbooks and the audit check, and the
// JSON API under /api/ that the pages' scripts and other programs share.
//
// Pages are rendered on the server with html/template and read without
// JavaScript; a small script adds live updates (server-sent events) and
// answers the command box in place. Commands and button clicks go through
// the same bot.Handler as Slack and Discord, as platform "local", so roles
// and four-eyes apply exactly as in chat.
package web

import (
	"context"
	"embed"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/local"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options wire a Server. DB, Service, Handler and Local are required.
type Options struct {
	DB      *store.DB
	Service *bot.Service
	// Handler answers commands and clicks: the commands.Router.
	Handler bot.Handler
	// Engine, if set, supplies the playbooks page and the runs of incidents.
	Engine *playbooks.Engine
	// Local is the local platform, whose rooms the incident pages show.
	Local *local.Platform
	// Accounts may log in; Tokens may call the API.
	Accounts []Account
	Tokens   []Token
	// IncidentList writes the incident list as JSON, exactly as
	// `warroom incident list --json` prints it; IncidentShow writes one
	// incident as `warroom incident show --json` does, and returns an error
	// wrapping store.ErrNotFound for an unknown id. They are passed in so
	// that the command line and the API can never drift apart.
	IncidentList func(ctx context.Context, w io.Writer, all bool) error
	IncidentShow func(ctx context.Context, w io.Writer, id int64) error
	// SecureCookies marks cookies Secure: set it when warroom is reached
	// over HTTPS (base_url https://…).
	SecureCookies bool
	Logger        *slog.Logger
	// Now is the clock of sessions and rate limits; nil means time.Now.
	Now func() time.Time
	// LoginBurst failed logins are allowed per client address and per
	// account, then one every LoginEvery (defaults 5 and 10s).
	LoginBurst int
	LoginEvery time.Duration
}

// Server serves the web room, the dashboard and the JSON API.
type Server struct {
	opts     Options
	log      *slog.Logger
	roles    roles
	sessions *sessions
	limiter  *loginLimiter
	pages    *pages
	hub      *local.Hub
}

// New returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoginBurst <= 0 {
		opts.LoginBurst = 5
	}
	if opts.LoginEvery <= 0 {
		opts.LoginEvery = 10 * time.Second
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts: opts, log: opts.Logger.With("component", "web"), pages: p, hub: opts.Local.Hub(),
		roles:    newRoles(opts.Accounts, opts.Tokens),
		sessions: &sessions{byID: map[string]*session{}, now: opts.Now},
		limiter:  newLoginLimiter(opts.LoginEvery, opts.LoginBurst, opts.Now),
	}
	return s, nil
}

// Routes registers the pages, the static files and the JSON API on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))

	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.page(s.logout))

	mux.HandleFunc("GET /{$}", s.page(s.incidentsPage))
	mux.HandleFunc("GET /incidents", s.page(s.incidentsPage))
	mux.HandleFunc("GET /incidents/{id}", s.page(s.roomPage))
	mux.HandleFunc("POST /incidents/{id}/command", s.page(s.commandForm))
	mux.HandleFunc("POST /command", s.page(s.commandForm))
	mux.HandleFunc("POST /click", s.page(s.clickForm))
	mux.HandleFunc("GET /approvals", s.page(s.approvalsPage))
	mux.HandleFunc("GET /playbooks", s.page(s.playbooksPage))
	mux.HandleFunc("GET /audit", s.page(s.auditPage))
	mux.HandleFunc("GET /events", s.page(s.events))

	mux.HandleFunc("GET /api/incidents", s.API(s.apiIncidents))
	mux.HandleFunc("GET /api/incidents/{id}", s.API(s.apiIncident))
	mux.HandleFunc("GET /api/incidents/{id}/log", s.API(s.apiLog))
	mux.HandleFunc("GET /api/incidents/{id}/runs", s.API(s.apiRuns))
	mux.HandleFunc("GET /api/incidents/{id}/messages", s.API(s.apiMessages))
	mux.HandleFunc("POST /api/incidents/{id}/commands", s.API(s.apiCommand))
	mux.HandleFunc("POST /api/commands", s.API(s.apiCommand))
	mux.HandleFunc("GET /api/approvals", s.API(s.apiApprovals))
	mux.HandleFunc("POST /api/approvals/{id}/{decision}", s.API(s.apiDecide))
	mux.HandleFunc("GET /api/events", s.API(s.events))
	mux.HandleFunc("GET /api/me", s.API(s.apiMe))
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(d.Seconds()), 10))
		h.ServeHTTP(w, r)
	})
}

// Run publishes a "log" event whenever the case log grows, whoever wrote
// it (a Slack command, an alert, a playbook step), so that open pages
// update. It polls the log's head once a second until ctx ends: one cheap
// query for all viewers, instead of a hook in every writer, and none while
// no page is open.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for {
		if s.hub.Listening() {
			last = s.poke(ctx, last)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poke publishes a log event if the case log's head moved past last, and
// returns the head.
func (s *Server) poke(ctx context.Context, last int64) int64 {
	head, err := s.opts.DB.CaseLogHead(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("read case log head", "err", err)
		}
		return last
	}
	if head != last {
		s.hub.Publish(local.Event{Kind: local.EventLog})
	}
	return head
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
