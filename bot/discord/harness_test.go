package discord_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/discord"
	"github.com/warroom-bot/warroom/bot/discord/fakediscord"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/httpreq"
	"github.com/warroom-bot/warroom/internal/fakeclock"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

// Discord user ids of the people in the stories.
const (
	analyst = "200000000000000001"
	lead    = "200000000000000002"
	lead2   = "200000000000000003"
	random  = "200000000000000004"
	resp1   = "200000000000000005"
)

// harness is warroom's Discord path end to end: real SQLite, the real
// service, router, dispatcher and adapter, and discordgo talking to a fake
// Discord. Interactions arrive signed over HTTP; delivery is stepped with
// deliver() under a fake clock.
type harness struct {
	t        *testing.T
	fake     *fakediscord.Server
	clock    *fakeclock.Clock
	dbPath   string
	db       *store.DB
	svc      *bot.Service
	disp     *bot.Dispatcher
	dc       *discord.Adapter
	srv      *httptest.Server
	perms    commands.Permissions
	key      ed25519.PrivateKey
	pub      string
	incCat   string
	archCat  string
	leadRole string
	onClose  string
	guildID  string // discord.guild_id; "" registers commands globally
	seq      atomic.Int64

	playbookDir string
	vars        map[string]string
	engine      *playbooks.Engine
}

type option func(*harness)

func withPlaybooks(dir string, vars map[string]string) option {
	return func(h *harness) { h.playbookDir, h.vars = dir, vars }
}

func withOnClose(v string) option { return func(h *harness) { h.onClose = v } }

// withoutGuildID leaves discord.guild_id unset: commands are global and the
// bot's only guild is used.
func withoutGuildID() option { return func(h *harness) { h.guildID = "" } }

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, fake: fakediscord.NewT(t), key: key, pub: hex.EncodeToString(pub),
		clock:   fakeclock.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)),
		dbPath:  filepath.Join(t.TempDir(), "warroom.db"),
		guildID: fakediscord.GuildID,
	}
	// The bot holds exactly what its invite asks for, so every story also
	// shows that the README's invite URL is enough.
	h.fake.SetBotPermissions(discord.InvitePermissions)
	h.incCat = h.fake.AddCategory("Incidents")
	h.archCat = h.fake.AddCategory("Closed incidents")
	h.leadRole = h.fake.AddRole("leads")
	for _, u := range []string{analyst, random, resp1} {
		h.fake.AddMember(u)
	}
	h.fake.AddMember(lead, h.leadRole)
	h.fake.AddMember(lead2, h.leadRole)
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
	h.dc, err = discord.New(discord.Config{
		BotToken: fakediscord.BotToken, ApplicationID: fakediscord.AppID, PublicKey: h.pub,
		GuildID: h.guildID, APIURL: h.fake.URL(), Transport: discord.TransportHTTP,
		// One category by name, one by id: both forms are accepted.
		IncidentCategory: "incidents", ArchiveCategory: h.archCat, OnClose: h.onClose,
		PrivateAccess: []string{h.leadRole},
		Handler:       handlerFunc{func() bot.Handler { return router }},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.disp = bot.NewDispatcher(db, []bot.Platform{h.dc}, bot.DispatcherOptions{Clock: h.clock, Unpaced: true, CallTimeout: 2 * time.Second})
	var engine *playbooks.Engine
	h.svc = bot.NewService(db, bot.Options{Platforms: []string{"discord"}, Responders: []string{"discord:" + resp1, "slack:U1"}, Clock: h.clock,
		OnOpen: func(ctx context.Context, tx *store.Tx, in bot.Incident, a *bot.Alert) ([]bot.Event, error) {
			if engine == nil || a == nil {
				return nil, nil
			}
			return engine.QueueForAlert(ctx, tx, in, *a)
		}})
	perms := h.perms
	if perms.Roles != nil {
		perms.HasRole = h.dc.HasRoleFunc(perms.Roles)
	}
	router = commands.NewRouter(h.svc, perms, nil)
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
			Service: h.svc, Set: set, Actions: actions, Vars: h.vars,
			Allowed: perms.Allowed,
			Members: func(role string) []string { return perms.Roles[role] },
			Sleep:   func(context.Context, time.Duration) error { return nil },
		})
		engine = h.engine
		router.UsePlaybooks(h.engine)
		if err := h.engine.Resume(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	h.dc.Routes(mux)
	h.srv = httptest.NewServer(mux)
	if err := h.dc.Check(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	if err := h.dc.Register(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) stop() {
	h.srv.Close()
	h.dc.Wait()
	if h.engine != nil {
		h.engine.Wait()
	}
	h.db.Close()
}

func (h *harness) restart() {
	h.stop()
	h.start()
}

type handlerFunc struct{ get func() bot.Handler }

func (f handlerFunc) Command(ctx context.Context, r bot.Request) bot.Reply {
	return f.get().Command(ctx, r)
}
func (f handlerFunc) Click(ctx context.Context, c bot.Click) bot.Reply { return f.get().Click(ctx, c) }

// post sends a body to the interactions endpoint, signed with key at ts
// (unsigned if key is nil).
func (h *harness) post(body []byte, key ed25519.PrivateKey, ts time.Time) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/discord/interactions", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != nil {
		fakediscord.Sign(req, key, ts, body)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { res.Body.Close() })
	return res
}

// opt is a typed command option: a value, or a subcommand with options.
type opt struct {
	name  string
	kind  discordgo.ApplicationCommandOptionType
	value any
	sub   []opt
}

func s(name, v string) opt {
	return opt{name: name, kind: discordgo.ApplicationCommandOptionString, value: v}
}
func b(name string, v bool) opt {
	return opt{name: name, kind: discordgo.ApplicationCommandOptionBoolean, value: v}
}
func u(name, id string) opt {
	return opt{name: name, kind: discordgo.ApplicationCommandOptionUser, value: id}
}
func sub(name string, opts ...opt) opt {
	return opt{name: name, kind: discordgo.ApplicationCommandOptionSubCommand, sub: opts}
}

func (o opt) json() map[string]any {
	m := map[string]any{"name": o.name, "type": o.kind}
	if o.kind == discordgo.ApplicationCommandOptionSubCommand {
		var subs []map[string]any
		for _, s := range o.sub {
			subs = append(subs, s.json())
		}
		m["options"] = subs
	} else {
		m["value"] = o.value
	}
	return m
}

// interaction builds an interaction payload as Discord sends it.
func (h *harness) interaction(kind discordgo.InteractionType, user, channel string, data map[string]any, message map[string]any) (body []byte, token string) {
	n := h.seq.Add(1)
	token = "tok-" + strconv.FormatInt(n, 10)
	roles := []string{}
	if user == lead || user == lead2 {
		roles = append(roles, h.leadRole)
	}
	p := map[string]any{
		"id": strconv.FormatInt(3000000000000000000+n, 10), "application_id": fakediscord.AppID, "type": kind,
		"token": token, "version": 1, "guild_id": fakediscord.GuildID, "channel_id": channel,
		"member": map[string]any{"user": map[string]any{"id": user, "username": "u" + user}, "roles": roles},
		"data":   data,
	}
	if message != nil {
		p["message"] = message
	}
	body, err := json.Marshal(p)
	if err != nil {
		h.t.Fatal(err)
	}
	return body, token
}

// answer is an interaction response as the test reads it.
type answer struct {
	status int
	token  string
	Type   discordgo.InteractionResponseType `json:"type"`
	Data   struct {
		Content         string                            `json:"content"`
		Flags           discordgo.MessageFlags            `json:"flags"`
		Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
		Components      json.RawMessage                   `json:"components"`
		AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	} `json:"data"`
}

func (a answer) ephemeral() bool { return a.Data.Flags&discordgo.MessageFlagsEphemeral != 0 }

// all joins every text of the answer.
func (a answer) all() string {
	var b strings.Builder
	b.WriteString(a.Data.Content + "\n")
	for _, e := range a.Data.Embeds {
		b.WriteString(embedText(e))
	}
	b.Write(a.Data.Components)
	return b.String()
}

func embedText(e *discordgo.MessageEmbed) string {
	var b strings.Builder
	b.WriteString(e.Title + "\n" + e.Description + "\n")
	for _, f := range e.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if e.Footer != nil {
		b.WriteString(e.Footer.Text + "\n")
	}
	return b.String()
}

func (h *harness) send(body []byte, token string) answer {
	h.t.Helper()
	res := h.post(body, h.key, time.Now())
	a := answer{status: res.StatusCode, token: token}
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
			h.t.Fatalf("decode interaction response: %v", err)
		}
	}
	return a
}

// command runs a slash command as user in channel and steps delivery.
func (h *harness) command(user, channel, name string, opts ...opt) answer {
	h.t.Helper()
	var list []map[string]any
	for _, o := range opts {
		list = append(list, o.json())
	}
	body, token := h.interaction(discordgo.InteractionApplicationCommand, user, channel,
		map[string]any{"id": "9000000000000000001", "name": name, "type": 1, "options": list}, nil)
	a := h.send(body, token)
	h.deliver()
	return a
}

// incident runs /incident SUB with options.
func (h *harness) incident(user, channel, subName string, opts ...opt) answer {
	h.t.Helper()
	return h.command(user, channel, "incident", sub(subName, opts...))
}

// click presses the button with customID on a message as user.
func (h *harness) click(user string, m fakediscord.Message, customID string) answer {
	h.t.Helper()
	var comps any
	json.Unmarshal(m.Components, &comps)
	msg := map[string]any{"id": m.ID, "channel_id": m.ChannelID, "content": m.Content, "embeds": m.Embeds, "components": comps,
		"author": map[string]any{"id": fakediscord.BotUserID}}
	body, token := h.interaction(discordgo.InteractionMessageComponent, user, m.ChannelID,
		map[string]any{"custom_id": customID, "component_type": 2}, msg)
	a := h.send(body, token)
	h.dc.Wait()
	h.deliver()
	return a
}

// deliver lets running playbooks settle, then runs every due outbox row once.
func (h *harness) deliver() int {
	h.t.Helper()
	if h.engine != nil {
		h.engine.Wait()
	}
	n, err := h.disp.RunOnce(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) kinds(id int64) []string {
	h.t.Helper()
	es, err := h.db.Entries(context.Background(), id, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
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
func (h *harness) room(id int64) fakediscord.Channel {
	h.t.Helper()
	r, err := h.db.Room(context.Background(), "discord", id)
	if err != nil {
		h.t.Fatalf("incident %d has no room: %v", id, err)
	}
	ch, ok := h.fake.Channel(r.ChannelID)
	if !ok {
		h.t.Fatalf("room %s not in fake discord", r.ChannelID)
	}
	return ch
}

// keyed returns a keyed message of an incident ("summary", "approval-1").
func (h *harness) keyed(id int64, name string) fakediscord.Message {
	h.t.Helper()
	ch, mid, err := h.db.Message(context.Background(), "discord", store.FormatRef(id)+"/"+name)
	if err != nil {
		h.t.Fatalf("message %s: %v", name, err)
	}
	m, ok := h.fake.Message(ch, mid)
	if !ok {
		h.t.Fatalf("message %s not in fake discord", mid)
	}
	return m
}

// rendered joins every text of a message as a person would read it.
func rendered(m fakediscord.Message) string {
	var b strings.Builder
	b.WriteString(m.Content + "\n")
	for _, e := range m.Embeds {
		b.WriteString(embedText(e))
	}
	return b.String()
}

// customIDs lists the custom_ids of a message's buttons.
func customIDs(raw json.RawMessage) []string {
	var rows []struct {
		Components []struct {
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	json.Unmarshal(raw, &rows)
	var out []string
	for _, r := range rows {
		for _, c := range r.Components {
			out = append(out, c.CustomID)
		}
	}
	return out
}

// followups returns the follow-up messages and edits sent with an
// interaction token, as text, each marked private or not.
func (h *harness) followups(token string) string {
	var b strings.Builder
	for _, a := range h.fake.Answers(token) {
		if a.Kind != "followup" && a.Kind != "edit" {
			continue
		}
		var m struct {
			Content string                    `json:"content"`
			Embeds  []*discordgo.MessageEmbed `json:"embeds"`
			Flags   discordgo.MessageFlags    `json:"flags"`
		}
		if err := json.Unmarshal(a.Body, &m); err != nil {
			h.t.Fatal(err)
		}
		if m.Flags&discordgo.MessageFlagsEphemeral != 0 {
			b.WriteString("(private) ")
		}
		b.WriteString(m.Content + "\n")
		for _, e := range m.Embeds {
			b.WriteString(embedText(e))
		}
	}
	return b.String()
}
