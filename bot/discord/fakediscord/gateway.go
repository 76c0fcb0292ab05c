package fakediscord

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// gwConn is one gateway connection.
type gwConn struct {
	ws         *websocket.Conn
	mu         sync.Mutex // serialises writes
	seq        int
	identified bool
}

func (c *gwConn) send(op int, t string, d any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := map[string]any{"op": op, "d": d}
	if op == 0 {
		c.seq++
		p["s"], p["t"] = c.seq, t
	}
	return c.ws.WriteJSON(p)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveGateway speaks enough of the gateway for a bot: Hello, Identify
// (checked against the token) answered with Ready, heartbeats acknowledged,
// and dispatches sent by Dispatch.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	s.wg.Add(1)
	defer s.wg.Done()
	defer ws.Close()
	if err := c.send(10, "", map[string]any{"heartbeat_interval": 41250}); err != nil {
		return
	}
	defer func() {
		s.mu.Lock()
		delete(s.sockets, c)
		s.notifyLocked()
		s.mu.Unlock()
	}()
	for {
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := ws.ReadJSON(&p); err != nil {
			return
		}
		switch p.Op {
		case 1: // heartbeat
			if c.send(11, "", nil) != nil {
				return
			}
		case 2: // identify
			var id struct {
				Token string `json:"token"`
			}
			json.Unmarshal(p.D, &id)
			if id.Token != "Bot "+BotToken {
				c.mu.Lock()
				ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), deadline())
				c.mu.Unlock()
				return
			}
			ready := map[string]any{
				"v": 10, "user": userOut(BotUserID), "session_id": "fake-session", "guilds": []any{},
				"application": map[string]any{"id": AppID}, "resume_gateway_url": "ws://" + r.Host + "/gateway",
			}
			if c.send(0, "READY", ready) != nil {
				return
			}
			s.mu.Lock()
			c.identified = true
			s.sockets[c] = true
			s.notifyLocked()
			s.mu.Unlock()
		}
	}
}

// Connected reports how many bots have identified on the gateway.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sockets)
}

// WaitConnected blocks until a bot has identified on the gateway.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitFor(ctx, func(s *Server) bool { return len(s.sockets) > 0 })
}

// Dispatch sends a gateway event (e.g. "INTERACTION_CREATE") to every
// identified connection.
func (s *Server) Dispatch(event string, data any) error {
	s.mu.Lock()
	conns := make([]*gwConn, 0, len(s.sockets))
	for c := range s.sockets {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if len(conns) == 0 {
		return errors.New("fakediscord: no bot is connected to the gateway")
	}
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.send(0, event, data))
	}
	return errors.Join(errs...)
}

func deadline() (t time.Time) { return time.Now().Add(time.Second) }
