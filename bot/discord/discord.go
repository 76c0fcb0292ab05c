// Package discord is warroom's Discord adapter: it implements bot.Platform
// with discordgo, registers warroom's application commands, serves Discord
// interactions over the gateway or the HTTP interactions endpoint, and
// renders neutral messages as embeds with button components. No Discord
// type leaves this package, and no incident logic lives in it: commands and
// clicks are turned into bot.Requests and bot.Clicks for the handler.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

// Transports: how interactions reach warroom.
const (
	// TransportGateway keeps a websocket to Discord open; no public URL is needed.
	TransportGateway = "gateway"
	// TransportHTTP has Discord POST interactions to /discord/interactions.
	TransportHTTP = "http"
)

// What happens to an incident channel when the incident closes.
const (
	// OnCloseArchive moves the channel to the archive category, read-only.
	OnCloseArchive = "archive"
	// OnCloseDelete deletes the channel (the case log keeps the history).
	OnCloseDelete = "delete"
)

// Config configures the adapter. The string fields are the discord.* keys
// of the configuration file.
type Config struct {
	BotToken      string
	ApplicationID string
	// PublicKey is the application's hex Ed25519 key; the http transport
	// needs it to verify interactions.
	PublicKey string
	// GuildID scopes the commands to one guild (they appear at once) and is
	// where incident channels are made. Without it commands are global and
	// the bot must be in exactly one guild.
	GuildID string
	// APIURL points the REST client at another server (a proxy, a test
	// fake): requests for https://discord.com/... go to APIURL + the same path.
	APIURL string
	// Transport is "gateway" (default) or "http".
	Transport string
	// IncidentCategory and ArchiveCategory name the categories that hold
	// open and closed incident channels: a category id, or a category name
	// looked up in the guild at start. Empty means none.
	IncidentCategory string
	ArchiveCategory  string
	// OnClose is "archive" (default) or "delete".
	OnClose string
	// PrivateAccess lists Discord user or role ids (the leads) that may see
	// every private incident channel besides the people invited to it.
	PrivateAccess []string
	// Handler answers commands and clicks.
	Handler bot.Handler
	Logger  *slog.Logger
	// AckTimeout is how long a command may run before Discord gets a
	// deferred answer instead (default 2.5s, inside Discord's 3 seconds).
	AckTimeout time.Duration
	// HTTPClient carries all REST calls (default: 30s timeout). Its
	// transport is wrapped to honour APIURL.
	HTTPClient *http.Client
}

// Adapter is the Discord platform.
type Adapter struct {
	cfg    Config
	s      *discordgo.Session
	log    *slog.Logger
	pubKey ed25519.PublicKey
	now    func() time.Time

	mu         sync.Mutex
	botUser    string
	guild      string
	incidentID string // resolved category ids
	archiveID  string
	roles      RoleSet
	rolesAt    time.Time
	members    map[string]memberEntry
	readyErr   error
	registered bool
	replays    bot.ReplayCache

	// background holds replies still being worked on after an ack.
	background sync.WaitGroup
}

// New validates cfg and returns a Discord adapter. It makes no network call.
func New(cfg Config) (*Adapter, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.BotToken == "" {
		bad("discord.bot_token is required")
	}
	if !snowflake(cfg.ApplicationID) {
		bad("discord.application_id must be the application's numeric id")
	}
	if cfg.GuildID != "" && !snowflake(cfg.GuildID) {
		bad("discord.guild_id must be a numeric guild id")
	}
	switch cfg.Transport {
	case "":
		cfg.Transport = TransportGateway
	case TransportGateway, TransportHTTP:
	default:
		bad("discord.transport must be gateway or http, not %q", cfg.Transport)
	}
	switch cfg.OnClose {
	case "":
		cfg.OnClose = OnCloseArchive
	case OnCloseArchive, OnCloseDelete:
	default:
		bad("discord.on_close must be archive or delete, not %q", cfg.OnClose)
	}
	var pub ed25519.PublicKey
	if cfg.PublicKey != "" || cfg.Transport == TransportHTTP {
		k, err := hex.DecodeString(cfg.PublicKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			bad("discord.public_key must be the application's public key, 64 hex digits")
		}
		pub = k
	}
	var base *url.URL
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("discord.api_url must be an http(s) URL, not %q", cfg.APIURL)
		}
		base = u
	}
	for _, id := range cfg.PrivateAccess {
		if !snowflake(id) {
			bad("private access id %q is not a Discord id", id)
		}
	}
	if cfg.Handler == nil {
		bad("a handler is required")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 2500 * time.Millisecond
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	if base != nil {
		next := client.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		client.Transport = rewriteTransport{base: base, next: next}
	}
	s, err := discordgo.New("Bot " + cfg.BotToken)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	s.Client = client
	// The outbox retries with backoff and honours the context; discordgo's
	// own 429 sleep does neither, and its 502 retries would hide failures.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	s.Identify.Intents = discordgo.IntentsGuilds
	s.StateEnabled = false
	return &Adapter{
		cfg: cfg, s: s, pubKey: pub, now: time.Now,
		log:      cfg.Logger.With("platform", "discord"),
		readyErr: errors.New("not checked yet"),
		members:  map[string]memberEntry{}, replays: bot.ReplayCache{Keep: 2 * signatureWindow},
	}, nil
}

// rewriteTransport sends requests meant for discord.com to base instead,
// keeping their path. discordgo's endpoints are package-level variables
// computed once; rewriting per client lets several adapters (and tests)
// point at different servers in one process.
type rewriteTransport struct {
	base *url.URL
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "discord.com" {
		return t.next.RoundTrip(r)
	}
	out := r.Clone(r.Context())
	u := *r.URL
	prefix := strings.TrimSuffix(t.base.Path, "/")
	u.Scheme, u.Host, u.Path = t.base.Scheme, t.base.Host, prefix+r.URL.Path
	if r.URL.RawPath != "" {
		u.RawPath = prefix + r.URL.RawPath
	}
	out.URL, out.Host = &u, ""
	return t.next.RoundTrip(out)
}

// Name implements bot.Platform.
func (a *Adapter) Name() string { return "discord" }

// Ready reports the outcome of the last Check, for /readyz.
func (a *Adapter) Ready() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.readyErr
}

// Wait blocks until replies still being worked on after their
// acknowledgement have been sent.
func (a *Adapter) Wait() { a.background.Wait() }

// Limits implements bot.RateLimiter with Discord's documented per-channel
// message limit (5 per 5 seconds), so the outbox paces itself instead of
// collecting 429s. Other routes are paced by discordgo's buckets and 429s.
func (a *Adapter) Limits() map[bot.Op][]bot.Limit {
	return map[bot.Op][]bot.Limit{
		bot.OpPost: {{PerMinute: 60, Burst: 5, PerRoom: true}},
	}
}

// Check learns who the bot is and resolves the guild and the categories.
// Its outcome is what Ready reports.
func (a *Adapter) Check(ctx context.Context) error {
	err := a.check(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.readyErr = err
	return err
}

func (a *Adapter) check(ctx context.Context) error {
	var me discordgo.User
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointUser("@me"), nil, &me); err != nil {
		return fmt.Errorf("discord: who am I: %w", err)
	}
	guild := a.cfg.GuildID
	if guild == "" {
		var guilds []discordgo.UserGuild
		if err := a.call(ctx, http.MethodGet, discordgo.EndpointUserGuilds("@me"), nil, &guilds); err != nil {
			return fmt.Errorf("discord: list guilds: %w", err)
		}
		if len(guilds) != 1 {
			return fmt.Errorf("discord: the bot is in %d guilds; set discord.guild_id", len(guilds))
		}
		guild = guilds[0].ID
	}
	var channels []discordgo.Channel
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointGuildChannels(guild), nil, &channels); err != nil {
		return fmt.Errorf("discord: list channels of guild %s: %w", guild, err)
	}
	incident, err := category(channels, a.cfg.IncidentCategory)
	if err != nil {
		return fmt.Errorf("discord.incident_category: %w", err)
	}
	archive, err := category(channels, a.cfg.ArchiveCategory)
	if err != nil {
		return fmt.Errorf("discord.archive_category: %w", err)
	}
	a.mu.Lock()
	a.botUser, a.guild, a.incidentID, a.archiveID = me.ID, guild, incident, archive
	a.mu.Unlock()
	if _, err := a.guildRoles(ctx); err != nil {
		return fmt.Errorf("discord: list roles: %w", err)
	}
	return nil
}

// category resolves a configured category: an id of a category channel, or
// the name of one (case-insensitive). Ids are preferred because names can
// be duplicated or renamed; names are accepted so a config can be written
// without turning on Discord's developer mode.
func category(channels []discordgo.Channel, want string) (string, error) {
	if want == "" {
		return "", nil
	}
	var byName []string
	for _, c := range channels {
		if c.Type != discordgo.ChannelTypeGuildCategory {
			continue
		}
		if c.ID == want {
			return c.ID, nil
		}
		if strings.EqualFold(c.Name, want) {
			byName = append(byName, c.ID)
		}
	}
	switch len(byName) {
	case 0:
		return "", fmt.Errorf("no category %q in the guild", want)
	case 1:
		return byName[0], nil
	}
	return "", fmt.Errorf("%d categories are named %q: give the id", len(byName), want)
}

// state returns what Check learnt, running it first if it has not succeeded.
func (a *Adapter) state(ctx context.Context) (guild, botUser string, err error) {
	a.mu.Lock()
	guild, botUser = a.guild, a.botUser
	a.mu.Unlock()
	if guild != "" {
		return guild, botUser, nil
	}
	if err := a.Check(ctx); err != nil {
		return "", "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.guild, a.botUser, nil
}

// Register overwrites the application's commands with Commands() in one
// bulk call, so a restart (or a changed definition) leaves exactly one set.
func (a *Adapter) Register(ctx context.Context) error {
	endpoint := discordgo.EndpointApplicationGlobalCommands(a.cfg.ApplicationID)
	if a.cfg.GuildID != "" {
		endpoint = discordgo.EndpointApplicationGuildCommands(a.cfg.ApplicationID, a.cfg.GuildID)
	}
	if err := a.call(ctx, http.MethodPut, endpoint, Commands(), nil); err != nil {
		return fmt.Errorf("discord: register commands: %w", err)
	}
	a.mu.Lock()
	a.registered = true
	a.mu.Unlock()
	return nil
}

// Run checks the connection, registers the commands and, with the gateway
// transport, serves interactions from the gateway until ctx ends. Failed
// steps are retried with backoff (Ready says what is wrong meanwhile), so a
// Discord outage at start does not stop the rest of warroom.
func (a *Adapter) Run(ctx context.Context) error {
	backoff := time.Second
	retry := func(what string, err error) bool {
		a.log.Warn("discord start step failed, retrying", "step", what, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Minute)
		return true
	}
	for {
		err := a.Check(ctx)
		if err == nil {
			err = a.Register(ctx)
		}
		if err == nil {
			a.log.Info("discord commands registered", "guild", a.cfg.GuildID, "invite", InviteURL(a.cfg.ApplicationID))
			break
		}
		if !retry("check", err) {
			return nil
		}
	}
	if a.cfg.Transport != TransportGateway {
		<-ctx.Done()
		return nil
	}
	remove := a.s.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
		a.gatewayInteraction(context.WithoutCancel(ctx), ic.Interaction)
	})
	defer remove()
	backoff = time.Second
	for {
		err := a.s.Open()
		if err == nil {
			break
		}
		if errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			break
		}
		if !retry("gateway", err) {
			return nil
		}
	}
	a.log.Info("discord gateway connected")
	<-ctx.Done()
	// discordgo reconnects by itself while open; Close ends that.
	if err := a.s.Close(); err != nil {
		a.log.Debug("close gateway", "err", err)
	}
	return nil
}

// maxBucketWait is how long a call may wait for discordgo's rate-limit
// bucket. discordgo sleeps without looking at the context; a longer wait is
// returned to the outbox as a RetryAfterError instead, freeing the worker.
const maxBucketWait = 2 * time.Second

// call makes one REST request through the session: JSON in, JSON out,
// errors classified for the dispatcher. The bucket is the endpoint without
// its query, which is how discordgo keys buckets by default.
func (a *Adapter) call(ctx context.Context, method, endpoint string, body, out any) error {
	bucketID := method + " " + strings.SplitN(endpoint, "?", 2)[0]
	if wait := a.bucketWait(bucketID); wait > maxBucketWait {
		return &bot.RetryAfterError{After: wait, Err: errors.New("discord rate-limit bucket exhausted")}
	}
	resp, err := a.s.RequestWithBucketID(method, endpoint, body, bucketID, discordgo.WithContext(ctx))
	if err != nil {
		return classify(err)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			// A 2xx with a body we cannot read: the call may have worked,
			// so it is retried (creates and posts look before repeating).
			return fmt.Errorf("decode answer of %s: %w", method, err)
		}
	}
	return nil
}

func (a *Adapter) bucketWait(bucketID string) time.Duration {
	b := a.s.Ratelimiter.GetBucket(bucketID)
	b.Lock()
	defer b.Unlock()
	return a.s.Ratelimiter.GetWaitTime(b, 1)
}

// Discord JSON error codes the adapter acts on.
const (
	codeUnknownChannel  = 10003
	codeUnknownMember   = 10007
	codeUnknownMessage  = 10008
	codeUnknownWebhook  = 10015
	codeInvalidWebhook  = 50027
	codeAlreadyAnswered = 40060
)

// APIError is a Discord REST error with the URL (which may hold an
// interaction token, a credential for 15 minutes) left out.
type APIError struct {
	Status  int
	Code    int
	Message string
}

func (e *APIError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("discord: HTTP %d: %s (code %d)", e.Status, e.Message, e.Code)
	}
	return fmt.Sprintf("discord: HTTP %d", e.Status)
}

// classify turns a discordgo error into what the dispatcher acts on: a
// RetryAfterError for 429, a plain (retried) error for 5xx, timeouts and
// network trouble and for 401/403 (an operator may fix the token or the
// bot's permissions), bot.Permanent for other rejections.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		after := time.Second
		if rl.TooManyRequests != nil && rl.RetryAfter > 0 {
			after = rl.RetryAfter
		}
		return &bot.RetryAfterError{After: after, Err: errors.New("discord: rate limited")}
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		ae := &APIError{Status: re.Response.StatusCode}
		if re.Message != nil {
			ae.Code, ae.Message = re.Message.Code, re.Message.Message
		}
		switch {
		case ae.Status >= 500, ae.Status == http.StatusRequestTimeout, ae.Status == http.StatusTooManyRequests,
			ae.Status == http.StatusUnauthorized, ae.Status == http.StatusForbidden:
			return ae
		}
		return bot.Permanent(ae)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL may carry an interaction token: keep it out of logs.
		return fmt.Errorf("discord: %s: %w", ue.Op, ue.Err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return err
	}
	return fmt.Errorf("discord: %w", err)
}

// apiCode returns the Discord JSON error code of err, or 0.
func apiCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

func apiStatus(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// compile-time checks that the adapter offers what the dispatcher looks for.
var (
	_ bot.Platform    = (*Adapter)(nil)
	_ bot.Pinner      = (*Adapter)(nil)
	_ bot.Responder   = (*Adapter)(nil)
	_ bot.Finder      = (*Adapter)(nil)
	_ bot.RateLimiter = (*Adapter)(nil)
	_ bot.RoomFinder  = (*Adapter)(nil)
)
