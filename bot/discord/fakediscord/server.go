// Package fakediscord is a small, stateful, in-process fake of the Discord
// REST API and gateway, built for end-to-end tests of warroom's Discord
// adapter.
//
// It keeps one guild with roles, members, channels (categories and text
// channels with permission overwrites), messages, pins, registered
// application commands and everything answered to interactions, and answers
// with Discord's JSON shapes and error codes. It refuses what Discord
// refuses: application commands that break Discord's rules, messages over
// its limits, and (after SetBotPermissions) calls and overwrites the bot
// lacks the permissions for. Faults (429 with Discord's
// headers and body, 5xx, malformed bodies, hangs) can be injected per route,
// and a websocket gateway (Hello, Identify → Ready, heartbeats) lets tests
// dispatch INTERACTION_CREATE events to a connected bot.
//
// discordgo talks to it through an http.Client whose transport rewrites
// https://discord.com to URL(); the gateway address comes from GET
// /gateway. Everything listens on 127.0.0.1 only. Accessors return copies.
package fakediscord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Fixed identities, so failure messages stay stable across runs.
const (
	// BotToken is the token the fake accepts (sent as "Bot <token>").
	BotToken = "fake-bot-token"
	// AppID is the application id, which is also the bot's user id.
	AppID = "1000000000000000001"
	// BotUserID is the bot user, the author of its messages.
	BotUserID = AppID
	// GuildID is the one guild; it is also the id of its @everyone role.
	GuildID = "1000000000000000100"
)

// nonceWindow is how long Discord remembers an enforced nonce.
const nonceWindow = 5 * time.Minute

// Server is a running fake Discord.
type Server struct {
	hs *httptest.Server

	mu       sync.Mutex
	changed  chan struct{}
	seq      int64
	channels map[string]*Channel
	order    []string
	messages map[string][]*Message
	roles    map[string]string   // id → name
	members  map[string][]string // user id → role ids
	commands map[string][]*discordgo.ApplicationCommand
	answers  []Answer
	acked    map[string]bool // interaction ids answered by callback
	calls    []Call
	faults   map[string][]Fault
	sockets  map[*gwConn]bool
	botPerms int64 // what the bot's guild role grants; see SetBotPermissions

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Channel is a guild channel as the fake keeps it.
type Channel struct {
	ID         string
	Name       string
	Type       discordgo.ChannelType
	Topic      string
	ParentID   string
	Overwrites []*discordgo.PermissionOverwrite
	Pins       []string
}

// Message is a channel message as the fake keeps it.
type Message struct {
	ID              string
	ChannelID       string
	AuthorID        string
	Content         string
	Embeds          []*discordgo.MessageEmbed
	Components      json.RawMessage
	AllowedMentions *discordgo.MessageAllowedMentions
	Nonce           string
	Edits           int
	created         time.Time
	nonceGone       bool
}

// ExpireNonces forgets every message nonce, as Discord does after a few
// minutes, so a repeated post is no longer deduplicated by Discord.
func (s *Server) ExpireNonces() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, msgs := range s.messages {
		for _, m := range msgs {
			m.nonceGone = true
		}
	}
}

// Answer is something sent in reply to an interaction: its callback, an
// edit of the original response, or a follow-up.
type Answer struct {
	Kind  string // "callback", "edit", "followup"
	ID    string // interaction id (callback only)
	Token string
	Body  json.RawMessage
}

// Call is one recorded REST request.
type Call struct {
	Route  string // "POST /channels/{channel}/messages"
	Path   string
	Body   json.RawMessage
	Status int
}

// New starts a fake Discord on a random 127.0.0.1 port with one guild.
func New() *Server {
	s := &Server{
		changed: make(chan struct{}), seq: 1000000000000000200,
		channels: map[string]*Channel{}, messages: map[string][]*Message{},
		roles: map[string]string{GuildID: "@everyone"}, members: map[string][]string{},
		commands: map[string][]*discordgo.ApplicationCommand{}, acked: map[string]bool{},
		faults: map[string][]Fault{}, sockets: map[*gwConn]bool{}, closing: make(chan struct{}),
		botPerms: discordgo.PermissionAdministrator,
	}
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.HandleFunc(r.method+" /api/{version}"+r.path, s.serve(r))
	}
	mux.HandleFunc("GET /gateway/", s.serveGateway)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("fakediscord: listen on 127.0.0.1: %v", err))
	}
	quiet := log.New(io.Discard, "", 0)
	s.hs = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux, ErrorLog: quiet}}
	s.hs.Start()
	return s
}

// NewT starts a fake Discord closed at the end of the test.
func NewT(t testing.TB) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, releasing hanging requests and gateway sockets.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.mu.Lock()
		for c := range s.sockets {
			c.ws.Close()
		}
		s.mu.Unlock()
		s.hs.Close()
		s.wg.Wait()
	})
}

// URL is the base URL to give the adapter as api_url.
func (s *Server) URL() string { return s.hs.URL }

// WaitFor blocks until cond holds or ctx ends; cond runs with the server
// locked after every change and must not call Server methods.
func (s *Server) WaitFor(ctx context.Context, cond func(*Server) bool) error {
	for {
		s.mu.Lock()
		ok := cond(s)
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fakediscord: condition not met: %w", ctx.Err())
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) nextIDLocked() string {
	s.seq++
	return strconv.FormatInt(s.seq, 10)
}

// AddRole creates a guild role and returns its id.
func (s *Server) AddRole(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextIDLocked()
	s.roles[id] = name
	s.notifyLocked()
	return id
}

// AddMember makes userID a guild member holding roleIDs.
func (s *Server) AddMember(userID string, roleIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[userID] = append([]string{}, roleIDs...)
	s.notifyLocked()
}

// AddCategory creates a category channel and returns its id.
func (s *Server) AddCategory(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.createChannelLocked(name, discordgo.ChannelTypeGuildCategory, "", "", nil)
	s.notifyLocked()
	return c.ID
}

// AddChannel creates a text channel made by someone else and returns its id.
func (s *Server) AddChannel(name, parentID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.createChannelLocked(name, discordgo.ChannelTypeGuildText, "", parentID, nil)
	s.notifyLocked()
	return c.ID
}

func (s *Server) createChannelLocked(name string, kind discordgo.ChannelType, topic, parent string, ow []*discordgo.PermissionOverwrite) *Channel {
	c := &Channel{ID: s.nextIDLocked(), Name: name, Type: kind, Topic: topic, ParentID: parent, Overwrites: ow}
	s.channels[c.ID] = c
	s.order = append(s.order, c.ID)
	return c
}

// Channels returns every channel in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, id := range s.order {
		if c, ok := s.channels[id]; ok {
			out = append(out, c.copy())
		}
	}
	return out
}

// Channel returns a channel by id.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return c.copy(), true
}

// ChannelByName returns the newest channel with the name.
func (s *Server) ChannelByName(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.order) - 1; i >= 0; i-- {
		if c, ok := s.channels[s.order[i]]; ok && c.Name == name {
			return c.copy(), true
		}
	}
	return Channel{}, false
}

func (c *Channel) copy() Channel {
	out := *c
	out.Overwrites = nil
	for _, o := range c.Overwrites {
		cp := *o
		out.Overwrites = append(out.Overwrites, &cp)
	}
	out.Pins = append([]string(nil), c.Pins...)
	return out
}

// Messages returns a channel's messages, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channelID] {
		out = append(out, *m)
	}
	return out
}

// Message returns one message.
func (s *Server) Message(channelID, id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages[channelID] {
		if m.ID == id {
			return *m, true
		}
	}
	return Message{}, false
}

// Commands returns the commands registered for scope: a guild id, or ""
// for global commands.
func (s *Server) Commands(scope string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*discordgo.ApplicationCommand(nil), s.commands[scope]...)
}

// Answers returns what was sent in reply to interactions with the token.
func (s *Server) Answers(token string) []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.AnswersLocked(token)
}

// AnswersLocked is Answers for WaitFor conditions, which run locked.
func (s *Server) AnswersLocked(token string) []Answer {
	var out []Answer
	for _, a := range s.answers {
		if a.Token == token {
			out = append(out, a)
		}
	}
	return out
}

// Calls returns the recorded calls to route ("" for all).
func (s *Server) Calls(route string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if route == "" || c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

// Fail queues a fault for the next call to route, e.g.
// "POST /channels/{channel}/messages". Faults are used one per call.
func (s *Server) Fail(route string, f Fault) { s.FailTimes(route, 1, f) }

// FailTimes queues the same fault for the next n calls to route.
func (s *Server) FailTimes(route string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[route] = append(s.faults[route], f)
	}
}

// Sign signs an interaction request the way Discord does: Ed25519 over the
// timestamp followed by the body.
func Sign(req *http.Request, key ed25519.PrivateKey, ts time.Time, body []byte) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(key, append([]byte(stamp), body...))
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	req.Header.Set("X-Signature-Timestamp", stamp)
}

// Fault is an injected failure.
type Fault struct {
	// Status is the HTTP status to answer with.
	Status int
	// RetryAfter (seconds) makes a 429 as Discord sends it: the JSON body
	// with retry_after and the Retry-After and X-RateLimit-* headers.
	RetryAfter float64
	// Global marks a 429 as the global limit.
	Global bool
	// Code and Message make a JSON error body; otherwise a 5xx has an HTML body.
	Code    int
	Message string
	// Malformed answers 200 with a body that is not JSON.
	Malformed bool
	// Hang never answers until the client gives up.
	Hang bool
}

// RateLimited is a 429 as Discord sends it.
func RateLimited(retryAfter float64) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// HTTPStatus is an error status with an HTML body, as an edge proxy sends.
func HTTPStatus(code int) Fault { return Fault{Status: code} }

// APIError is a Discord JSON error.
func APIError(status, code int, message string) Fault {
	return Fault{Status: status, Code: code, Message: message}
}

func (f Fault) write(w http.ResponseWriter) {
	switch {
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "<html>upstream connect error")
	case f.Status == http.StatusTooManyRequests:
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(int(f.RetryAfter+0.999)))
		h.Set("X-RateLimit-Limit", "5")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(f.RetryAfter, 'f', 3, 64))
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().UnixMilli())/1000+f.RetryAfter, 'f', 3, 64))
		h.Set("X-RateLimit-Bucket", "fakebucket")
		scope := "user"
		if f.Global {
			h.Set("X-RateLimit-Global", "true")
			scope = "global"
		}
		h.Set("X-RateLimit-Scope", scope)
		writeJSON(w, f.Status, map[string]any{"message": "You are being rate limited.", "retry_after": f.RetryAfter, "global": f.Global})
	case f.Code != 0:
		writeJSON(w, f.Status, map[string]any{"code": f.Code, "message": f.Message})
	default:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body>%d %s</body></html>", f.Status, http.StatusText(f.Status))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// apiErr is a Discord JSON error answer.
type apiErr struct {
	status int
	code   int
	msg    string
}

func notFound(code int, what string) *apiErr {
	return &apiErr{http.StatusNotFound, code, "Unknown " + what}
}

func invalid(msg string) *apiErr {
	return &apiErr{http.StatusBadRequest, 50035, "Invalid Form Body: " + msg}
}

type request struct {
	r    *http.Request
	body []byte
}

func (q request) decode(v any) *apiErr {
	if err := json.Unmarshal(q.body, v); err != nil {
		return &apiErr{http.StatusBadRequest, 50109, "The request body contains invalid JSON."}
	}
	return nil
}

type route struct {
	method, path string
	auth         bool // needs the bot token; interaction webhooks do not
	handle       func(s *Server, q request) (any, *apiErr)
}

// serve wraps a route: auth, faults, call log, locking, JSON answers.
func (s *Server) serve(rt route) http.HandlerFunc {
	name := rt.method + " " + rt.path
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		s.mu.Lock()
		call := Call{Route: name, Path: r.URL.Path, Body: append(json.RawMessage(nil), body...)}
		if q := s.faults[name]; len(q) > 0 {
			f := q[0]
			s.faults[name] = q[1:]
			call.Status = f.Status
			s.calls = append(s.calls, call)
			s.notifyLocked()
			s.mu.Unlock()
			if f.Hang {
				select {
				case <-r.Context().Done():
				case <-s.closing:
				}
				return
			}
			f.write(w)
			return
		}
		var out any
		var aerr *apiErr
		if rt.auth && r.Header.Get("Authorization") != "Bot "+BotToken {
			aerr = &apiErr{http.StatusUnauthorized, 0, "401: Unauthorized"}
		} else {
			out, aerr = rt.handle(s, request{r: r, body: body})
		}
		status := http.StatusOK
		if aerr != nil {
			status = aerr.status
		} else if out == nil {
			status = http.StatusNoContent
		}
		call.Status = status
		s.calls = append(s.calls, call)
		s.notifyLocked()
		s.mu.Unlock()
		switch {
		case aerr != nil:
			writeJSON(w, aerr.status, map[string]any{"code": aerr.code, "message": aerr.msg})
		case out == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, status, out)
		}
	}
}

// channelName applies Discord's text channel name rules as the fake sees
// them: 1–100 characters, lower case, no spaces.
func channelName(name string) bool {
	return name != "" && len(name) <= 100 && strings.ToLower(name) == name && !strings.ContainsAny(name, " \t\n#@")
}

// userOut is a user object as Discord returns it.
func userOut(id string) map[string]any {
	return map[string]any{"id": id, "username": "user" + id, "discriminator": "0", "bot": id == BotUserID}
}

func (c *Channel) out() map[string]any {
	ow := []map[string]any{}
	for _, o := range c.Overwrites {
		ow = append(ow, map[string]any{"id": o.ID, "type": o.Type, "allow": strconv.FormatInt(o.Allow, 10), "deny": strconv.FormatInt(o.Deny, 10)})
	}
	m := map[string]any{"id": c.ID, "guild_id": GuildID, "name": c.Name, "type": c.Type, "topic": c.Topic, "permission_overwrites": ow}
	if c.ParentID != "" {
		m["parent_id"] = c.ParentID
	}
	return m
}

func (m *Message) out() map[string]any {
	comps := m.Components
	if len(comps) == 0 {
		comps = json.RawMessage("[]")
	}
	embeds := m.Embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	return map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "author": userOut(m.AuthorID), "content": m.Content,
		"embeds": embeds, "components": comps, "type": 0,
		"timestamp": m.created.UTC().Format(time.RFC3339), "nonce": m.Nonce,
	}
}
