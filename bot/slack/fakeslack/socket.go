package fakeslack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// Socket Mode envelope types, as slack-go's socketmode package names them.
const (
	// EnvelopeSlashCommands carries a slash command invocation.
	EnvelopeSlashCommands = "slash_commands"
	// EnvelopeInteractive carries a block action, shortcut or view payload.
	EnvelopeInteractive = "interactive"
	// EnvelopeEventsAPI carries an Events API event_callback.
	EnvelopeEventsAPI = "events_api"
)

const socketWriteTimeout = 10 * time.Second

// envelope is a queued Socket Mode message waiting for a connection.
type envelope struct {
	id  string
	raw []byte
}

// socketConn is one Socket Mode WebSocket. Its writer goroutine is the only
// writer of data frames, because gorilla/websocket allows one concurrent
// writer; the server hands it work through outbox and the pending queue.
type socketConn struct {
	ws        *websocket.Conn
	done      chan struct{}
	closeOnce sync.Once

	// Guarded by Server.mu.
	helloSent bool
	draining  bool // sent a disconnect; takes no new envelopes
	outbox    [][]byte
}

func (c *socketConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

var upgrader = websocket.Upgrader{
	// slack-go dials with Origin: https://api.slack.com, which the default
	// same-origin check would reject.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.st.tickets[ticket]
	delete(s.st.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		// Tickets are single use; a stale URL must go back through
		// apps.connections.open, exactly as with Slack.
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade already answered the client.
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}

	s.mu.Lock()
	select {
	case <-s.closing:
		s.mu.Unlock()
		c.close()
		return
	default:
	}
	s.st.sockets[c] = true
	// Adding to the WaitGroup under mu, after checking closing, orders these
	// goroutines before Close's Wait.
	s.wg.Go(func() { s.socketReader(c) })
	s.wg.Go(func() { s.socketWriter(c) })
	s.mu.Unlock()
}

func (s *Server) socketWriter(c *socketConn) {
	defer c.close()

	s.mu.Lock()
	hello, _ := json.Marshal(reply{
		"type":            "hello",
		"num_connections": len(s.st.sockets),
		"debug_info":      reply{"host": "applink-fakeslack", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": reply{"app_id": DefaultAppID},
	})
	s.mu.Unlock()
	if err := s.writeFrame(c, hello); err != nil {
		return
	}
	s.mu.Lock()
	c.helloSent = true
	s.notifyLocked()
	s.mu.Unlock()

	// Ping at once and then regularly: slack-go treats a connection without
	// server pings for its ping interval as dead and reconnects.
	ping := func() error {
		return c.ws.WriteControl(websocket.PingMessage, []byte("fakeslack"), time.Now().Add(socketWriteTimeout))
	}
	if ping() != nil {
		return
	}
	ticker := time.NewTicker(s.pingInterval)
	defer ticker.Stop()

	for {
		var frame []byte
		var env *envelope
		s.mu.Lock()
		switch {
		case len(c.outbox) > 0:
			frame = c.outbox[0]
			c.outbox = c.outbox[1:]
		case len(s.st.pending) > 0 && !c.draining:
			e := s.st.pending[0]
			s.st.pending = s.st.pending[1:]
			env, frame = &e, e.raw
			s.notifyLocked()
		}
		changed := s.changed
		s.mu.Unlock()

		if frame != nil {
			if err := s.writeFrame(c, frame); err != nil {
				if env != nil {
					// Not delivered: give it to the next connection.
					s.mu.Lock()
					s.st.pending = slices.Insert(s.st.pending, 0, *env)
					s.notifyLocked()
					s.mu.Unlock()
				}
				return
			}
			continue
		}
		select {
		case <-changed:
		case <-ticker.C:
			if ping() != nil {
				return
			}
		case <-c.done:
			return
		}
	}
}

func (s *Server) writeFrame(c *socketConn, b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(socketWriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// socketReader records acks. It also keeps control frames (pongs, close)
// flowing, which gorilla/websocket only processes while someone reads.
func (s *Server) socketReader(c *socketConn) {
	defer func() {
		s.mu.Lock()
		delete(s.st.sockets, c)
		s.notifyLocked()
		s.mu.Unlock()
		c.close()
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		if string(ack.Payload) == "null" {
			ack.Payload = nil
		}
		s.mu.Lock()
		if _, dup := s.st.acks[ack.EnvelopeID]; !dup {
			s.st.acks[ack.EnvelopeID] = Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Time: time.Now()}
			s.st.ackOrder = append(s.st.ackOrder, ack.EnvelopeID)
			s.notifyLocked()
		}
		s.mu.Unlock()
	}
}

// SendEnvelope queues a Socket Mode envelope of the given type
// (EnvelopeSlashCommands, EnvelopeInteractive or EnvelopeEventsAPI) and
// returns its envelope ID. The envelope goes to the first connection that is
// free, or waits until a client connects, so tests need not synchronise with
// the client's connect. payload is marshalled with encoding/json unless it is
// already json.RawMessage or []byte; pass pointers for types whose
// MarshalJSON has a pointer receiver, such as *slack.InteractionCallback.
// It panics if payload cannot be marshalled, which is a bug in the test.
func (s *Server) SendEnvelope(typ string, payload any) string {
	var raw json.RawMessage
	switch p := payload.(type) {
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(payload)
		if err != nil {
			panic(fmt.Sprintf("fakeslack: SendEnvelope: marshal payload: %v", err))
		}
		raw = b
	}
	id := newUUID()
	msg := reply{
		"envelope_id": id,
		"type":        typ,
		"payload":     raw,
		// Slack lets slash commands and interactions answer in the ack;
		// Events API envelopes cannot, and carry retry bookkeeping instead.
		"accepts_response_payload": typ != EnvelopeEventsAPI,
	}
	if typ == EnvelopeEventsAPI {
		msg["retry_attempt"] = 0
		msg["retry_reason"] = ""
	}
	b, err := json.Marshal(msg)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: SendEnvelope: %v", err))
	}
	s.mu.Lock()
	s.st.pending = append(s.st.pending, envelope{id: id, raw: b})
	s.notifyLocked()
	s.mu.Unlock()
	return id
}

// SendSlashCommand pushes a slash_commands envelope. Fields left empty that
// Slack always fills are filled in: team, app, channel and user names (from
// the fake's state), a fresh response_url and a fresh trigger_id. It returns
// the envelope ID and the command as sent, so the test can look up
// Responses(cmd.ResponseURL) or the view opened with cmd.TriggerID.
func (s *Server) SendSlashCommand(cmd slack.SlashCommand) (string, slack.SlashCommand) {
	if cmd.ResponseURL == "" {
		cmd.ResponseURL = s.NewResponseURL()
	}
	if cmd.TriggerID == "" {
		cmd.TriggerID = s.NewTriggerID()
	}
	s.mu.Lock()
	if cmd.TeamID == "" {
		cmd.TeamID = DefaultTeamID
	}
	if cmd.TeamDomain == "" {
		cmd.TeamDomain = "warroom-test"
	}
	if cmd.APIAppID == "" {
		cmd.APIAppID = DefaultAppID
	}
	if c, ok := s.st.channels[cmd.ChannelID]; ok && cmd.ChannelName == "" {
		cmd.ChannelName = c.Name
	}
	if u, ok := s.st.users[cmd.UserID]; ok && cmd.UserName == "" {
		cmd.UserName = u.Name
	}
	s.mu.Unlock()
	return s.SendEnvelope(EnvelopeSlashCommands, cmd), cmd
}

// SendEvent pushes an events_api envelope wrapping event (an inner event
// object with a "type", e.g. an app_mention) in the event_callback shape
// slackevents.ParseEvent expects. It returns the envelope ID.
func (s *Server) SendEvent(event any) string {
	inner, err := json.Marshal(event)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: SendEvent: marshal event: %v", err))
	}
	s.mu.Lock()
	n := s.st.nextSeq()
	s.mu.Unlock()
	return s.SendEnvelope(EnvelopeEventsAPI, reply{
		"token":      "fakeslack-verification-token",
		"team_id":    DefaultTeamID,
		"api_app_id": DefaultAppID,
		"event":      json.RawMessage(inner),
		"type":       "event_callback",
		"event_id":   fmt.Sprintf("Ev%08X", n),
		"event_time": time.Now().Unix(),
		"authorizations": []reply{{
			"team_id": DefaultTeamID, "user_id": DefaultBotUser, "is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
	})
}

// WaitAck waits until the client acknowledges envelopeID and returns the
// ack's payload (nil when the client acked without one).
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (json.RawMessage, error) {
	var ack Ack
	err := s.WaitFor(ctx, func(st *State) bool {
		var ok bool
		ack, ok = st.Ack(envelopeID)
		return ok
	})
	if err != nil {
		return nil, fmt.Errorf("fakeslack: no ack for envelope %s: %w", envelopeID, err)
	}
	return ack.Payload, nil
}

// WaitSocket waits until at least n Socket Mode connections have received
// their hello, i.e. the client is ready for envelopes.
func (s *Server) WaitSocket(ctx context.Context, n int) error {
	return s.WaitFor(ctx, func(st *State) bool { return st.SocketConnections() >= n })
}

// Disconnect sends Slack's {"type":"disconnect"} message on every open
// Socket Mode connection, asking clients to reconnect; reason is typically
// "refresh_requested", "warning" or "link_disabled".
func (s *Server) Disconnect(reason string) {
	b, _ := json.Marshal(reply{"type": "disconnect", "reason": reason, "debug_info": reply{"host": "applink-fakeslack"}})
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.st.sockets {
		c.outbox = append(c.outbox, b)
		// The client drops whatever arrives after the disconnect, so new
		// envelopes wait for the replacement connection instead.
		c.draining = true
	}
	s.notifyLocked()
}

// DropSockets abruptly closes every Socket Mode connection without a
// disconnect message, simulating a network failure.
func (s *Server) DropSockets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.st.sockets {
		c.close()
	}
}

// newUUID returns a random version 4 UUID, the format Slack uses for
// envelope IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
