package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom-bot/warroom/bot"
	slackbot "github.com/warroom-bot/warroom/bot/slack"
	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/httpreq"
	"github.com/warroom-bot/warroom/digests"
	"github.com/warroom-bot/warroom/enrichment"
	"github.com/warroom-bot/warroom/internal/fakeclock"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// harness is warroom's Slack path end to end: real SQLite, the real
// service, router, dispatcher and adapter, and slack-go talking to a fake
// Slack. Delivery is stepped with deliver() under a fake clock.
type harness struct {
	t      *testing.T
	fake   *fakeslack.Server
	clock  *fakeclock.Clock
	dbPath string
	db     *store.DB
	svc    *bot.Service
	disp   *bot.Dispatcher
	slack  *slackbot.Adapter
	srv    *httptest.Server
	perms  commands.Permissions
	socket bool
	paced  bool

	playbookDir string
	vars        map[string]string
	engine      *playbooks.Engine

	sources  []enrich.Configured
	enricher *enrichment.Worker
}

type option func(*harness)

func withPerms(p commands.Permissions) option { return func(h *harness) { h.perms = p } }

// withPlaybooks loads playbooks from dir; vars are their playbook_env.
func withPlaybooks(dir string, vars map[string]string) option {
	return func(h *harness) { h.playbookDir, h.vars = dir, vars }
}

// withEnrichment enriches every new incident from sources.
func withEnrichment(sources ...enrich.Configured) option {
	return func(h *harness) { h.sources = sources }
}

// withPacing keeps Slack's published rate limits in force (on the fake clock).
func withPacing() option { return func(h *harness) { h.paced = true } }

// withSocketMode gives the adapter an app-level token, as a team without a
// public URL configures it.
func withSocketMode() option { return func(h *harness) { h.socket = true } }

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{
		t: t, fake: fakeslack.NewT(t),
		clock:  fakeclock.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)),
		dbPath: filepath.Join(t.TempDir(), "warroom.db"),
	}
	for _, o := range opts {
		o(h)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

// start wires everything over the database file, as a process start would.
func (h *harness) start() {
	h.t.Helper()
	db, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	var router *commands.Router
	cfg := slackbot.Config{
		BotToken: h.fake.BotToken(), SigningSecret: signingSecret, APIURL: h.fake.APIURL(),
		Handler: handlerFunc{func() bot.Handler { return router }},
	}
	if h.socket {
		cfg.AppToken = h.fake.AppToken()
	}
	h.slack = slackbot.New(cfg)
	h.disp = bot.NewDispatcher(db, []bot.Platform{h.slack}, bot.DispatcherOptions{Clock: h.clock, Unpaced: !h.paced, CallTimeout: 2 * time.Second})
	var engine *playbooks.Engine
	var enricher *enrichment.Worker
	h.svc = bot.NewService(db, bot.Options{Platforms: []string{"slack"}, Responders: []string{"URESP1", "slack:URESP2", "discord:42"}, Clock: h.clock,
		OnOpen: func(ctx context.Context, tx *store.Tx, in bot.Incident, a *bot.Alert) ([]bot.Event, error) {
			var events []bot.Event
			if enricher != nil {
				ev, err := enricher.OnOpen(ctx, tx, in, a)
				if err != nil {
					return nil, err
				}
				events = ev
			}
			if engine == nil || a == nil {
				return events, nil
			}
			runs, err := engine.QueueForAlert(ctx, tx, in, *a)
			return append(events, runs...), err
		}})
	if h.perms.Roles != nil {
		h.perms.Groups = func(ctx context.Context, platform, group string) ([]string, error) {
			return h.slack.GroupMembers(ctx, group)
		}
	}
	router = commands.NewRouter(h.svc, h.perms, nil)
	router.UseDigest(func(ctx context.Context, platform string) (bot.Message, error) {
		now := h.clock.Now()
		d, err := digests.Build(ctx, db, "morning", platform, digests.Filter{}, now.Add(-24*time.Hour), now, time.UTC)
		return d.Message(), err
	})
	if h.playbookDir != "" {
		actions := connectors.NewRegistry()
		actions.Register(httpreq.New(httpreq.Options{}))
		var env []string
		for k := range h.vars {
			env = append(env, k)
		}
		set, diags := playbooks.Load(h.playbookDir, playbooks.Options{Spec: playbooks.RegistrySpec(actions), Env: env})
		if len(diags) > 0 {
			h.t.Fatalf("playbooks: %v", diags)
		}
		h.engine = playbooks.NewEngine(playbooks.EngineOptions{
			Service: h.svc, Set: set, Actions: actions,
			Vars:    h.vars,
			Allowed: h.perms.Allowed,
			Members: func(role string) []string { return h.perms.Roles[role] },
			Sleep:   func(context.Context, time.Duration) error { return nil },
		})
		engine = h.engine
		router.UsePlaybooks(h.engine)
		if err := h.engine.Resume(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	if h.sources != nil {
		enricher = enrichment.New(enrichment.Options{Service: h.svc, Enricher: enrich.New(h.sources, nil), Buttons: router.PlaybookButtons})
		h.enricher = enricher
		router.UseEnrichment(enricher)
	}
	mux := http.NewServeMux()
	h.slack.Routes(mux)
	h.srv = httptest.NewServer(mux)
	if err := h.slack.Check(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) stop() {
	h.srv.Close()
	h.slack.Wait()
	if h.engine != nil {
		h.engine.Wait()
	}
	h.db.Close()
}

// restart stops the process and starts a new one on the same database.
func (h *harness) restart() {
	h.stop()
	h.start()
}

type handlerFunc struct{ get func() bot.Handler }

func (f handlerFunc) Command(ctx context.Context, r bot.Request) bot.Reply {
	return f.get().Command(ctx, r)
}
func (f handlerFunc) Click(ctx context.Context, c bot.Click) bot.Reply { return f.get().Click(ctx, c) }

// post sends a signed request the way Slack does.
func (h *harness) post(path, contentType string, body []byte, ts time.Time, secret string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(string(body)))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if secret != "" {
		fakeslack.SignRequest(req, secret, ts, body)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { res.Body.Close() })
	return res
}

// commandReply is Slack's view of a slash command's acknowledgement.
type commandReply struct {
	status       int
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
	responseURL  string
}

func (r commandReply) all() string { return r.Text + string(r.Blocks) }

// command types a slash command as user in channel.
func (h *harness) command(user, channel, cmd, text string) commandReply {
	h.t.Helper()
	rurl := h.fake.NewResponseURL()
	form := url.Values{
		"command": {cmd}, "text": {text}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"channel_id": {channel}, "team_id": {h.fake.TeamID()}, "response_url": {rurl}, "trigger_id": {"1.2.3"},
	}
	res := h.post("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()), time.Now(), signingSecret)
	out := commandReply{status: res.StatusCode, responseURL: rurl}
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			h.t.Fatalf("decode command reply: %v", err)
		}
	}
	return out
}

// incident runs /incident and steps delivery.
func (h *harness) incident(user, channel, text string) commandReply {
	h.t.Helper()
	r := h.command(user, channel, "/incident", text)
	h.deliver()
	return r
}

// click presses a button of a message as user.
func (h *harness) click(user, channel, ts, actionID, value string) string {
	h.t.Helper()
	rurl := h.fake.NewMessageResponseURL(channel, ts)
	cb := slack.InteractionCallback{
		Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user}, ResponseURL: rurl,
		Channel:        slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: channel}}},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actionID, Value: value}}},
	}
	cb.Message.Timestamp = ts
	payload, err := json.Marshal(cb)
	if err != nil {
		h.t.Fatal(err)
	}
	body := url.Values{"payload": {string(payload)}}.Encode()
	res := h.post("/slack/interactions", "application/x-www-form-urlencoded", []byte(body), time.Now(), signingSecret)
	if res.StatusCode != http.StatusOK {
		h.t.Fatalf("interaction status %d", res.StatusCode)
	}
	h.slack.Wait() // the click is answered in the background
	h.deliver()
	return rurl
}

// deliver lets running playbooks and enrichment settle, then runs every
// due outbox row once.
func (h *harness) deliver() int {
	h.t.Helper()
	if h.engine != nil {
		h.engine.Wait()
	}
	if h.enricher != nil {
		if err := h.enricher.RunOnce(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	n, err := h.disp.RunOnce(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) entries(id int64) []store.Entry {
	h.t.Helper()
	es, err := h.db.Entries(context.Background(), id, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

func (h *harness) kinds(id int64) []string {
	var out []string
	for _, e := range h.entries(id) {
		out = append(out, e.Kind)
	}
	return out
}

func (h *harness) incidentRow(id int64) store.Incident {
	h.t.Helper()
	in, err := h.db.Incident(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return in
}

func (h *harness) outbox(state string) []store.OutboxRow {
	h.t.Helper()
	rows, err := h.db.OutboxRows(context.Background(), state)
	if err != nil {
		h.t.Fatal(err)
	}
	return rows
}

// room returns the fake channel of an incident.
func (h *harness) room(id int64) fakeslack.Channel {
	h.t.Helper()
	r, err := h.db.Room(context.Background(), "slack", id)
	if err != nil {
		h.t.Fatalf("incident %d has no room: %v", id, err)
	}
	ch, ok := h.fake.Channel(r.ChannelID)
	if !ok {
		h.t.Fatalf("room %s not in fake slack", r.ChannelID)
	}
	return ch
}

// summary returns the incident's summary message as Slack has it now.
func (h *harness) summary(id int64) fakeslack.Message {
	h.t.Helper()
	ch := h.room(id)
	_, ts, err := h.db.Message(context.Background(), "slack", store.FormatRef(id)+"/summary")
	if err != nil {
		h.t.Fatal(err)
	}
	m, ok := h.fake.Message(ch.ID, ts)
	if !ok {
		h.t.Fatalf("summary %s not in fake slack", ts)
	}
	return m
}

// responses returns what was answered through a response_url, decoded.
func (h *harness) responses(url string) string {
	var b strings.Builder
	for _, r := range h.fake.Responses(url) {
		b.WriteString(rendered(h.t, fakeslack.Message{Text: r.Text, Blocks: r.Blocks}))
	}
	return b.String()
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
