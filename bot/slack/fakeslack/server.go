package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Defaults for the identities the fake reports. They are fixed rather than
// random so that failure messages and golden files stay stable across runs.
const (
	// DefaultBotToken is the bot token accepted unless WithBotToken is used.
	DefaultBotToken = "xoxb-test"
	// DefaultAppToken is the app-level token accepted unless WithAppToken is
	// used.
	DefaultAppToken = "xapp-test"
	// DefaultTeamID is the workspace ID.
	DefaultTeamID = "T0000TEAM"
	// DefaultTeamName is the workspace name auth.test reports.
	DefaultTeamName = "Warroom Test"
	// DefaultBotUser is the bot's user ID, the author of its messages.
	DefaultBotUser = "U0000BOT1"
	// DefaultBotName is the bot's user name.
	DefaultBotName = "warroom"
	// DefaultBotID is the bot ID (B…) attached to the bot's messages.
	DefaultBotID = "B0000BOT1"
	// DefaultAppID is the Slack app ID, reported in hello and events.
	DefaultAppID = "A0000APP1"
)

// defaultPingInterval is well inside slack-go's default 30s ping timeout.
const defaultPingInterval = 5 * time.Second

// ResponseURLMethod is the pseudo method name under which posts to a
// response_url are recorded in the call log and can be failed with Fail.
const ResponseURLMethod = "response_url"

// maxBody bounds what the fake will read from one request; Slack's own limits
// are far below this, so anything larger is a bug in the caller.
const maxBody = 8 << 20

// Server is a running fake Slack. Create it with New or NewT.
type Server struct {
	hs *httptest.Server

	botToken     string
	appToken     string
	pingInterval time.Duration

	mu      sync.Mutex
	st      *State
	changed chan struct{} // closed and replaced on every state change
	faults  map[string][]Fault

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // socket goroutines
}

// Option configures a Server at construction.
type Option func(*Server)

// WithBotToken sets the bot token (default DefaultBotToken) that every Web
// API method except apps.connections.open requires.
func WithBotToken(token string) Option {
	return func(s *Server) { s.botToken = token }
}

// WithAppToken sets the app-level token (default DefaultAppToken) that
// apps.connections.open requires.
func WithAppToken(token string) Option {
	return func(s *Server) { s.appToken = token }
}

// WithPingInterval sets how often the fake sends WebSocket pings on Socket
// Mode connections (default 5s). slack-go reconnects when pings stop for its
// own OptionPingInterval, so tests that shorten that must shorten this too.
func WithPingInterval(d time.Duration) Option {
	return func(s *Server) { s.pingInterval = d }
}

// New starts a fake Slack on a random 127.0.0.1 port. Call Close when done,
// or use NewT to have the test do it.
func New(opts ...Option) *Server {
	s := &Server{
		botToken:     DefaultBotToken,
		appToken:     DefaultAppToken,
		pingInterval: defaultPingInterval,
		st:           newState(),
		changed:      make(chan struct{}),
		faults:       map[string][]Fault{},
		closing:      make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.pingInterval <= 0 {
		s.pingInterval = defaultPingInterval
	}
	s.st.users[DefaultBotUser] = slack.User{
		ID: DefaultBotUser, TeamID: DefaultTeamID, Name: DefaultBotName, RealName: DefaultBotName,
		IsBot: true, Profile: slack.UserProfile{BotID: DefaultBotID, RealName: DefaultBotName, DisplayName: DefaultBotName},
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("/response/{id}", s.serveResponseURL)
	mux.HandleFunc("/link/", s.serveSocket)

	// httptest.NewServer would honour -httptest.serve and could bind to
	// other interfaces; binding explicitly keeps the promise of loopback only.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("fakeslack: listen on 127.0.0.1: %v", err))
	}
	// Client disconnects are routine in fault tests; keep them out of the
	// test output.
	quiet := log.New(io.Discard, "", 0)
	s.hs = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux, ErrorLog: quiet}}
	s.hs.Start()
	return s
}

// NewT starts a fake Slack whose lifetime is tied to the test: it is closed
// in t.Cleanup.
func NewT(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	t.Cleanup(s.Close)
	return s
}

// Close stops the server. Hanging requests are released, Socket Mode
// connections are closed, and Close waits for the fake's goroutines so that
// tests do not leak them. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.mu.Lock()
		for c := range s.st.sockets {
			c.close()
		}
		s.mu.Unlock()
		s.hs.Close()
		s.wg.Wait()
	})
}

// URL returns the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.hs.URL }

// APIURL returns the base URL to pass to slack.OptionAPIURL. It ends with
// "/api/" because slack-go appends the method name directly.
func (s *Server) APIURL() string { return s.hs.URL + "/api/" }

// BotToken returns the bot token the fake accepts.
func (s *Server) BotToken() string { return s.botToken }

// AppToken returns the app-level token the fake accepts for
// apps.connections.open.
func (s *Server) AppToken() string { return s.appToken }

// BotUserID returns the bot's user ID, the author of everything the bot
// token posts.
func (s *Server) BotUserID() string { return DefaultBotUser }

// TeamID returns the workspace ID.
func (s *Server) TeamID() string { return DefaultTeamID }

// Fail queues a fault for the next call to method. Faults for a method are
// consumed one per call in the order queued, and calls after the queue is
// empty behave normally, so "429 once, then succeed" is a single Fail.
func (s *Server) Fail(method string, f Fault) {
	s.FailTimes(method, 1, f)
}

// FailTimes queues the same fault for the next n calls to method.
func (s *Server) FailTimes(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
}

// WaitFor blocks until cond reports true or ctx ends. cond is evaluated now
// and after every change to the fake's state (including every recorded
// call), with the server locked; it must only read the State it is given and
// must not call Server methods, which would deadlock. This replaces sleep
// loops in tests: the wait ends as soon as the condition holds.
func (s *Server) WaitFor(ctx context.Context, cond func(*State) bool) error {
	for {
		s.mu.Lock()
		ok := cond(s.st)
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fakeslack: condition not met: %w", ctx.Err())
		}
	}
}

// Inspect runs f with the state locked, for assertions that need a
// consistent view across several accessors. Like WaitFor's callback, f must
// not call Server methods.
func (s *Server) Inspect(f func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.st)
}

// notifyLocked wakes every waiter. Callers hold s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func read[T any](s *Server, f func(*State) T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s.st)
}

// Channel returns the channel with the given ID.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Channel(id)
}

// ChannelByName returns the channel with the given name.
func (s *Server) ChannelByName(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.ChannelByName(name)
}

// Channels returns every channel in creation order.
func (s *Server) Channels() []Channel { return read(s, (*State).Channels) }

// Messages returns the messages in a channel, oldest first.
func (s *Server) Messages(channelID string) []Message {
	return read(s, func(st *State) []Message { return st.Messages(channelID) })
}

// Message returns one message by channel and timestamp.
func (s *Server) Message(channelID, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Message(channelID, ts)
}

// Pins returns the timestamps pinned in a channel.
func (s *Server) Pins(channelID string) []string {
	return read(s, func(st *State) []string { return st.Pins(channelID) })
}

// Ephemerals returns every ephemeral message sent.
func (s *Server) Ephemerals() []Ephemeral { return read(s, (*State).Ephemerals) }

// Views returns every view opened.
func (s *Server) Views() []View { return read(s, (*State).Views) }

// Calls returns the recorded calls to method; "" returns all.
func (s *Server) Calls(method string) []Call {
	return read(s, func(st *State) []Call { return st.Calls(method) })
}

// CallCount returns how many calls to method were recorded; "" counts all.
func (s *Server) CallCount(method string) int {
	return read(s, func(st *State) int { return st.CallCount(method) })
}

// Responses returns what was posted to a response_url.
func (s *Server) Responses(url string) []Response {
	return read(s, func(st *State) []Response { return st.Responses(url) })
}

// Acks returns every Socket Mode acknowledgement received.
func (s *Server) Acks() []Ack { return read(s, (*State).Acks) }

// SetUserGroup defines (or redefines) a user group's members, as returned by
// usergroups.users.list, so tests can model on-call rotations.
func (s *Server) SetUserGroup(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.userGroups[id] = append([]string{}, users...)
	s.notifyLocked()
}

// AddUser registers a user for users.info. TeamID defaults to the fake's
// team and Name to the ID.
func (s *Server) AddUser(u slack.User) {
	if u.TeamID == "" {
		u.TeamID = DefaultTeamID
	}
	if u.Name == "" {
		u.Name = u.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.users[u.ID] = u
	s.notifyLocked()
}

// AddChannel seeds a channel that exists before the test starts (created by
// a workspace admin, not the bot), with exactly the given members; include
// BotUserID() if the bot should be in it. It panics if the name breaks Slack's rules or is taken, because a bad
// seed is a bug in the test rather than a condition to handle.
func (s *Server) AddChannel(name string, private bool, members ...string) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := validateChannelName(name); code != "" {
		panic(fmt.Sprintf("fakeslack: AddChannel(%q): %s", name, code))
	}
	if s.st.channelByName(name) != nil {
		panic(fmt.Sprintf("fakeslack: AddChannel(%q): name_taken", name))
	}
	c := s.createChannelLocked(name, private, "U0000ADMN")
	c.Members = dedupe(members)
	s.notifyLocked()
	return c.snapshot()
}

// AddMessage seeds a message from a user (not the bot) into a channel and
// returns its timestamp, for tests that read history the bot did not write.
// It panics if the channel does not exist.
func (s *Server) AddMessage(channelID, userID, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.channels[channelID]
	if !ok {
		panic(fmt.Sprintf("fakeslack: AddMessage: no channel %q", channelID))
	}
	m := &message{Message: Message{Channel: channelID, TS: s.nextTSLocked(), User: userID, Text: text}}
	c.messages = append(c.messages, m)
	s.notifyLocked()
	return m.TS
}

// NewTriggerID returns a fresh trigger ID in Slack's format, for payloads
// that open modals. views.open accepts each trigger ID once.
func (s *Server) NewTriggerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.st.nextSeq()
	return fmt.Sprintf("%d.%d.%032x", 1700000000+n, n, n)
}

// apiRequest is a decoded Web API request.
type apiRequest struct {
	method string
	form   url.Values
	json   map[string]any
	token  string
}

func (r *apiRequest) get(key string) string { return r.form.Get(key) }

func (r *apiRequest) has(key string) bool { _, ok := r.form[key]; return ok }

func (r *apiRequest) bool(key string) bool {
	v := strings.ToLower(r.form.Get(key))
	return v == "true" || v == "1"
}

// apiError is an ok:false answer; extra carries fields Slack adds to some
// errors (e.g. "errors" for conversations.invite).
type apiError struct {
	code  string
	extra map[string]any
}

func errCode(code string) *apiError { return &apiError{code: code} }

type reply = map[string]any

type handlerFunc func(s *Server, r *apiRequest) (reply, *apiError)

type tokenKind int

const (
	botToken tokenKind = iota
	appToken
)

type methodSpec struct {
	token   tokenKind
	handler handlerFunc
}

// methodTable routes Web API method names to handlers and says which kind of
// token each accepts.
var methodTable = map[string]methodSpec{
	"auth.test":              {botToken, (*Server).authTest},
	"apps.connections.open":  {appToken, (*Server).appsConnectionsOpen},
	"conversations.create":   {botToken, (*Server).conversationsCreate},
	"conversations.info":     {botToken, (*Server).conversationsInfo},
	"conversations.invite":   {botToken, (*Server).conversationsInvite},
	"conversations.setTopic": {botToken, (*Server).conversationsSetTopic},
	"conversations.archive":  {botToken, (*Server).conversationsArchive},
	"conversations.history":  {botToken, (*Server).conversationsHistory},
	"conversations.replies":  {botToken, (*Server).conversationsReplies},
	"conversations.join":     {botToken, (*Server).conversationsJoin},
	"conversations.members":  {botToken, (*Server).conversationsMembers},
	"conversations.list":     {botToken, (*Server).conversationsList},
	"chat.postMessage":       {botToken, (*Server).chatPostMessage},
	"chat.update":            {botToken, (*Server).chatUpdate},
	"chat.delete":            {botToken, (*Server).chatDelete},
	"chat.postEphemeral":     {botToken, (*Server).chatPostEphemeral},
	"pins.add":               {botToken, (*Server).pinsAdd},
	"pins.remove":            {botToken, (*Server).pinsRemove},
	"pins.list":              {botToken, (*Server).pinsList},
	"usergroups.users.list":  {botToken, (*Server).usergroupsUsersList},
	"users.info":             {botToken, (*Server).usersInfo},
	"views.open":             {botToken, (*Server).viewsOpen},
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	req, err := decodeAPIRequest(r, method)
	if err != nil {
		// Slack answers unparseable requests with ok:false too; keep the
		// transport healthy so the adapter sees an API error, not a crash.
		s.record(Call{Method: method, Time: time.Now(), Error: "invalid_form_data"})
		writeJSON(w, http.StatusOK, reply{"ok": false, "error": "invalid_form_data"})
		return
	}

	s.mu.Lock()
	call := Call{Method: method, Form: withoutToken(req.form), JSON: req.json, Token: req.token, Time: time.Now()}
	if f, ok := s.popFaultLocked(method); ok {
		call.Fault = &f
		if f.Kind == FaultSlackError {
			call.Error = f.Error
		}
		s.st.calls = append(s.st.calls, call)
		s.notifyLocked()
		s.mu.Unlock()
		if f.Kind == FaultHang {
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		}
		f.write(w)
		return
	}

	resp, aerr := s.dispatchLocked(method, req)
	if aerr != nil {
		call.Error = aerr.code
		resp = reply{}
		for k, v := range aerr.extra {
			resp[k] = v
		}
		resp["ok"] = false
		resp["error"] = aerr.code
	} else {
		resp["ok"] = true
	}
	s.st.calls = append(s.st.calls, call)
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) dispatchLocked(method string, req *apiRequest) (reply, *apiError) {
	spec, ok := methodTable[method]
	if !ok {
		return nil, &apiError{code: "unknown_method", extra: map[string]any{"req_method": method}}
	}
	if aerr := s.checkToken(spec.token, req.token); aerr != nil {
		return nil, aerr
	}
	resp, aerr := spec.handler(s, req)
	if aerr == nil && resp == nil {
		resp = reply{}
	}
	return resp, aerr
}

// checkToken applies Slack's token rules: no token is not_authed, a token of
// the other kind is not_allowed_token_type, anything else unknown is
// invalid_auth.
func (s *Server) checkToken(want tokenKind, got string) *apiError {
	switch {
	case got == "":
		return errCode("not_authed")
	case want == botToken && got == s.botToken, want == appToken && got == s.appToken:
		return nil
	case got == s.botToken || got == s.appToken:
		return errCode("not_allowed_token_type")
	default:
		return errCode("invalid_auth")
	}
}

func (s *Server) popFaultLocked(method string) (Fault, bool) {
	q := s.faults[method]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	if len(q) == 1 {
		delete(s.faults, method)
	} else {
		s.faults[method] = q[1:]
	}
	return f, true
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.calls = append(s.st.calls, c)
	s.notifyLocked()
}

// decodeAPIRequest reads parameters the way Slack does: form bodies, query
// strings and JSON bodies are all accepted, and the token may come from the
// Authorization header or a token parameter.
func decodeAPIRequest(r *http.Request, method string) (*apiRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	req := &apiRequest{method: method, form: url.Values{}}
	for k, vs := range r.URL.Query() {
		req.form[k] = append(req.form[k], vs...)
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return nil, err
			}
			req.json = m
			for k, v := range m {
				req.form.Set(k, flatten(v))
			}
		}
	case len(body) > 0:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, vs := range vals {
			req.form[k] = append(req.form[k], vs...)
		}
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		req.token = strings.TrimPrefix(auth, "Bearer ")
	} else {
		req.token = req.form.Get("token")
	}
	return req, nil
}

func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func withoutToken(v url.Values) url.Values {
	out := cloneValues(v)
	out.Del("token")
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
