package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warroom-bot/warroom/bot"
	discordbot "github.com/warroom-bot/warroom/bot/discord"
	slackbot "github.com/warroom-bot/warroom/bot/slack"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors/alerts"
	"github.com/warroom-bot/warroom/connectors/alerts/intake"
	"github.com/warroom-bot/warroom/connectors/ioc"
	"github.com/warroom-bot/warroom/digests"
	"github.com/warroom-bot/warroom/enrichment"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs, cfgPath := flags("serve", stderr)
	demo := fs.Bool("demo", false, "load the sample alerts in "+demoDir+" at start, for a first look")
	if pos, err := parse(fs, args); err != nil || len(pos) > 0 {
		fmt.Fprintln(stderr, "usage: warroom serve [--config FILE] [--demo]")
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	tuneGC()
	if *demo {
		demoSources(cfg)
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	if *demo {
		if err := loadDemo(ctx, a, demoDir); err != nil {
			a.close()
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		a.close()
		return fmt.Errorf("listen: %w", err)
	}
	return a.serve(ctx, ln)
}

// tuneGC lets the heap grow to five times what is live before collecting,
// unless GOGC says otherwise. warroom's live heap is small (tens of
// megabytes), and during an alert storm Go's default of twice spends a
// tenth of the CPU on collection that the intake path needs.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// app is a running warroom: database, platforms, service, dispatcher and
// HTTP handler, wired together.
type app struct {
	cfg        *config.Config
	log        *slog.Logger
	db         *store.DB
	svc        *bot.Service
	router     *commands.Router
	dispatcher *bot.Dispatcher
	slack      *slackbot.Adapter
	discord    *discordbot.Adapter
	engine     *playbooks.Engine
	enrich     *enrichment.Worker
	digests    *digests.Scheduler
	handler    http.Handler
	web        *webParts
}

// newApp wires warroom from its config. It opens the database (applying
// migrations) but starts nothing; serve does.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *app, err error) {
	for _, v := range cfg.UnsetVars() {
		log.Warn("config names an environment variable that is not set; it expands to empty", "var", v)
	}
	db, err := store.Open(ctx, cfg.Database, store.WithSync(cfg.DatabaseSync))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	a := &app{cfg: cfg, log: log, db: db}
	if a.web, err = newWeb(ctx, cfg, db, log); err != nil {
		return nil, err
	}

	// The local platform is always on: it is the web room's view of every incident.
	platforms := []bot.Platform{a.web.local}
	if cfg.SlackEnabled() {
		a.slack = slackbot.New(slackbot.Config{
			BotToken: cfg.Slack.BotToken.Reveal(), SigningSecret: cfg.Slack.SigningSecret.Reveal(),
			AppToken: cfg.Slack.AppToken.Reveal(), APIURL: cfg.Slack.APIURL,
			Handler: routerRef{a}, Logger: log,
		})
		platforms = append(platforms, a.slack)
	}
	if cfg.DiscordEnabled() {
		if a.discord, err = newDiscord(cfg, routerRef{a}, log); err != nil {
			return nil, err
		}
		platforms = append(platforms, a.discord)
	}
	if a.slack == nil && a.discord == nil {
		log.Warn("no chat platform configured: incidents get rooms in the web room only. To connect Slack, set slack.bot_token " +
			"and slack.signing_secret (or slack.app_token for Socket Mode) in the config; the README shows how")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "warroom_outbox_calls_total", Help: "Chat calls attempted by the outbox, by outcome (done, retry, dead).",
	}, []string{"platform", "op", "outcome"})
	reg.MustRegister(calls, outboxGauge(db, "pending"), outboxGauge(db, "dead"))

	names := make([]string, 0, len(platforms))
	for _, p := range platforms {
		names = append(names, p.Name())
	}
	a.dispatcher = bot.NewDispatcher(db, platforms, bot.DispatcherOptions{
		Logger: log,
		Observe: func(platform string, op bot.Op, outcome string) {
			calls.WithLabelValues(platform, string(op), outcome).Inc()
		},
	})
	a.svc = bot.NewService(db, bot.Options{
		Platforms: names, ChannelPrefix: cfg.Incidents.ChannelPrefix, Responders: cfg.Incidents.Responders,
		Private: cfg.Incidents.Private, Logger: log, Notify: a.notify,
		GroupWindow: cfg.Alerts.GroupWindow.Std(),
		OnOpen: func(ctx context.Context, tx *store.Tx, in bot.Incident, al *bot.Alert) ([]bot.Event, error) {
			events, err := a.enrich.OnOpen(ctx, tx, in, al)
			if err != nil || al == nil || a.engine == nil {
				return events, err
			}
			runs, err := a.engine.QueueForAlert(ctx, tx, in, *al)
			return append(events, runs...), err
		},
	})
	perms := commands.Permissions{Roles: cfg.Roles, Commands: cfg.Commands, HasRole: a.hasRole(),
		Groups: func(ctx context.Context, platform, group string) ([]string, error) {
			if platform == "slack" && a.slack != nil {
				return a.slack.GroupMembers(ctx, group)
			}
			return nil, nil
		}}
	a.router = commands.NewRouter(a.svc, perms, log)
	if cfg.Playbooks != "" {
		actions, err := actionRegistry(cfg)
		if err != nil {
			return nil, err
		}
		set, err := loadPlaybooks(cfg, actions)
		if err != nil {
			return nil, err
		}
		fourEyes := cfg.FourEyes()
		a.engine = playbooks.NewEngine(playbooks.EngineOptions{
			Service: a.svc, Set: set, Actions: actions, Vars: playbookVars(cfg),
			Allowed: perms.Allowed, Members: func(role string) []string { return cfg.Roles[role] },
			FourEyes: &fourEyes, ApprovalTimeout: cfg.Approvals.Timeout.Std(), Logger: log,
		})
		a.router.UsePlaybooks(a.engine)
		log.Info("playbooks loaded", "dir", cfg.Playbooks, "count", len(set.All()))
	}

	a.enrich, err = newEnrichment(cfg, a.svc, func(id int64, ind ioc.Indicator) []bot.Button {
		return a.router.PlaybookButtons(id, ind)
	}, log)
	if err != nil {
		return nil, err
	}
	a.router.UseEnrichment(a.enrich)

	jobs, reminders, err := digests.FromConfig(cfg, names)
	if err != nil {
		return nil, err
	}
	if len(jobs) > 0 || reminders.QuietAfter > 0 || reminders.UnassignedAfter > 0 {
		a.digests = digests.NewScheduler(a.svc, jobs, reminders, log)
	}
	a.router.UseDigest(func(ctx context.Context, platform string) (bot.Message, error) {
		job := defaultJob
		if len(jobs) > 0 {
			job = jobs[0]
		}
		d, err := digestNow(ctx, db, job, platform, time.Now())
		return d.Message(), err
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", a.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if a.slack != nil {
		a.slack.Routes(mux)
	}
	if a.discord != nil {
		a.discord.Routes(mux)
	}
	in, err := newIntake(cfg, a.svc, log)
	if err != nil {
		return nil, err
	}
	in.Routes(mux)
	if err := a.web.mount(a, mux); err != nil {
		return nil, err
	}
	a.api(mux)
	a.handler = mux
	return a, nil
}

// notify wakes whatever a committed change may have given work: the
// dispatcher (outbox rows) and the enrichment worker (lookup jobs).
func (a *app) notify() {
	a.dispatcher.Notify()
	if a.enrich != nil {
		a.enrich.Notify()
	}
}

// alertParsers builds the alert parsers from the alerts block of the config.
func alertParsers(cfg *config.Config) (map[string]alerts.Parser, error) {
	ac := alerts.Config{SeverityMap: cfg.Alerts.SeverityMap, GroupBy: cfg.Alerts.GroupBy, Generic: map[string]alerts.GenericMapping{}}
	for name, g := range cfg.Alerts.Generic {
		ac.Generic[name] = alerts.GenericMapping{Title: g.Title, Severity: g.Severity, Fingerprint: g.Fingerprint,
			Description: g.Description, Observables: g.Observables}
	}
	parsers, err := alerts.Parsers(ac)
	if err != nil {
		return nil, fmt.Errorf("alerts config: %w", err)
	}
	return parsers, nil
}

// newIntake builds the alert webhooks from the alerts block of the config.
func newIntake(cfg *config.Config, svc *bot.Service, log *slog.Logger) (*intake.Handler, error) {
	parsers, err := alertParsers(cfg)
	if err != nil {
		return nil, err
	}
	ic := intake.Config{Token: cfg.Alerts.Token.Reveal(), MaxBody: int64(cfg.Alerts.MaxBody), GroupBy: cfg.Alerts.GroupBy, Sources: map[string]intake.Auth{}}
	for name, s := range cfg.Alerts.Sources {
		ic.Sources[name] = intake.Auth{Token: s.Token.Reveal(), HMACSecret: s.HMACSecret.Reveal(), HMACHeader: s.HMACHeader}
	}
	return intake.New(ic, parsers, svc, log), nil
}

// routerRef defers to the app's router, which is built after the adapters.
type routerRef struct{ a *app }

func (r routerRef) Command(ctx context.Context, req bot.Request) bot.Reply {
	return r.a.router.Command(ctx, req)
}

func (r routerRef) Click(ctx context.Context, c bot.Click) bot.Reply { return r.a.router.Click(ctx, c) }

func outboxGauge(db *store.DB, state string) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "warroom_outbox_" + state, Help: "Outbox rows that are " + state + ".",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		pending, dead, err := db.OutboxCounts(ctx)
		if err != nil {
			return -1
		}
		if state == "dead" {
			return float64(dead)
		}
		return float64(pending)
	})
}

// ready answers /readyz: the database is open and migrated and every chat
// platform has authenticated.
func (a *app) ready(w http.ResponseWriter, r *http.Request) {
	var problems []string
	if err := a.db.Ping(r.Context()); err != nil {
		problems = append(problems, "database: "+err.Error())
	}
	if a.slack != nil {
		if err := a.slack.Ready(); err != nil {
			problems = append(problems, "slack: "+err.Error())
		}
	}
	if a.discord != nil {
		if err := a.discord.Ready(); err != nil {
			problems = append(problems, "discord: "+err.Error())
		}
	}
	if len(problems) > 0 {
		http.Error(w, strings.Join(problems, "\n"), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

// serve runs the HTTP server, the dispatcher and the platform connections
// until ctx ends, then shuts down in order: stop taking requests, finish
// answers in flight, stop delivering, close the database.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	defer a.close()
	if host, _, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
			a.log.Warn("listening beyond this machine without TLS: put a TLS-terminating proxy in front", "addr", ln.Addr().String())
		}
	}
	srv := &http.Server{
		Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { a.dispatcher.Run(runCtx) })
	wg.Go(func() { a.web.srv.Run(runCtx) })
	wg.Go(func() { a.enrich.Run(runCtx, 5*time.Second) })
	wg.Go(func() { a.svc.RunRepeatLog(runCtx, time.Second) })
	if a.discord != nil {
		wg.Go(func() {
			if err := a.discord.Run(runCtx); err != nil && runCtx.Err() == nil {
				a.log.Error("discord stopped", "err", err)
			}
			a.discord.Wait()
		})
	}
	if a.engine != nil {
		wg.Go(func() { a.engine.Run(runCtx, 2*time.Second) })
	}
	if a.digests != nil {
		wg.Go(func() { a.digests.Run(runCtx, 30*time.Second) })
	}
	if a.slack != nil {
		wg.Go(func() { a.checkSlack(runCtx) })
		if a.cfg.Slack.AppToken != "" {
			wg.Go(func() {
				if err := a.slack.RunSocketMode(runCtx); err != nil {
					a.log.Error("socket mode stopped", "err", err)
				}
			})
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("warroom serving", "addr", ln.Addr().String(), "version", versionString(), "database", a.cfg.Database)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if serr := srv.Shutdown(shutdown); serr != nil && err == nil {
		err = serr
	}
	if a.slack != nil {
		a.slack.Wait()
	}
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	a.log.Info("warroom stopped")
	return err
}

// checkSlack authenticates with Slack at start and keeps trying until it
// works, so /readyz turns ready once Slack is reachable.
func (a *app) checkSlack(ctx context.Context) {
	for delay := time.Second; ; delay = min(2*delay, time.Minute) {
		err := a.slack.Check(ctx)
		if err == nil {
			a.log.Info("slack authenticated")
			return
		}
		a.log.Error("slack authentication failed; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (a *app) close() {
	if err := a.db.Close(); err != nil {
		a.log.Error("close database", "err", err)
	}
}
