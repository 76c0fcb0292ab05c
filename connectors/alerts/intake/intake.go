// Package intake serves POST /alerts/{source}: it authenticates the sender,
// bounds the body, parses it with the source's parser and hands the alerts
// to the incident service, answering 202 only once they are committed.
package intake

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/alerts"
)

// Ingester takes parsed alerts and commits them; bot.Service is the real one.
type Ingester interface {
	Ingest(ctx context.Context, alerts []bot.Alert) ([]bot.IngestResult, error)
}

// Auth is how one source proves itself: a bearer token, an HMAC-SHA256
// signature of the body in a header, or either.
type Auth struct {
	Token      string
	HMACSecret string
	HMACHeader string // default X-Warroom-Signature
}

// Config configures intake.
type Config struct {
	// Token is accepted from every source that has no Auth of its own.
	Token string
	// Sources holds per-source credentials that replace Token, keyed by
	// source name ("splunk"; "generic" covers every generic mapping).
	Sources map[string]Auth
	// MaxBody caps a request body (default 1 MiB).
	MaxBody int64
	// GroupBy names the labels that fold different alerts into one incident.
	GroupBy []string
}

// Handler serves the alert webhooks.
type Handler struct {
	cfg     Config
	parsers map[string]alerts.Parser
	ing     Ingester
	log     *slog.Logger
	warned  sync.Once
}

// New returns the intake handler.
func New(cfg Config, parsers map[string]alerts.Parser, ing Ingester, log *slog.Logger) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, parsers: parsers, ing: ing, log: log.With("component", "intake")}
}

// Routes registers the webhook endpoints.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /alerts/{source}", h)
	mux.Handle("POST /alerts/generic/{name}", h)
}

// Response is the JSON answer to a webhook.
type Response struct {
	Accepted int                `json:"accepted"`
	Results  []bot.IngestResult `json:"results,omitempty"`
	Rejected []alerts.Rejection `json:"rejected,omitempty"`
	Error    string             `json:"error,omitempty"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	if strings.Contains(source, "/") {
		// An escaped slash (generic%2Fname) must not dodge the credentials
		// of the generic sources.
		reply(w, http.StatusNotFound, Response{Error: "unknown alert source"})
		return
	}
	authKey := source
	if name := r.PathValue("name"); name != "" {
		source, authKey = alerts.SourceGeneric+"/"+name, alerts.SourceGeneric
	}
	parser, ok := h.parsers[source]
	if !ok {
		reply(w, http.StatusNotFound, Response{Error: fmt.Sprintf("unknown alert source %q; known: %s", source, strings.Join(h.known(), ", "))})
		return
	}
	auth := h.auth(authKey)
	if auth.Token == "" && auth.HMACSecret == "" {
		h.warned.Do(func() {
			h.log.Warn("alert intake is closed because no token is configured: set alerts.token (for example token: ${WARROOM_ALERT_TOKEN}) or alerts.sources.<source>.token")
		})
		reply(w, http.StatusForbidden, Response{Error: "alert intake is not configured: no token is set for this source"})
		return
	}
	body, err := readBody(w, r, h.cfg.MaxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("body is larger than the %d-byte limit (alerts.max_body)", h.cfg.MaxBody)})
			return
		}
		reply(w, http.StatusBadRequest, Response{Error: "could not read body"})
		return
	}
	if !authorized(auth, r, body) {
		h.log.Warn("rejected unauthenticated alert", "source", source, "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, Response{Error: "missing or wrong token or signature"})
		return
	}
	batch, err := parser.Parse(body)
	if err != nil {
		reply(w, http.StatusBadRequest, Response{Error: err.Error()})
		return
	}
	if len(batch.Alerts) == 0 && len(batch.Rejected) > 0 {
		reply(w, http.StatusBadRequest, Response{Error: "no alert in the body was usable", Rejected: batch.Rejected})
		return
	}
	for i := range batch.Alerts {
		batch.Alerts[i].GroupKey = alerts.GroupKey(batch.Alerts[i], h.cfg.GroupBy)
	}
	var results []bot.IngestResult
	if len(batch.Alerts) > 0 {
		results, err = h.ing.Ingest(r.Context(), batch.Alerts)
		if err != nil {
			ref := newRef()
			h.log.Error("ingest failed", "ref", ref, "source", source, "err", err)
			reply(w, http.StatusInternalServerError, Response{Error: "alerts not stored (reference " + ref + "); retry"})
			return
		}
	}
	reply(w, http.StatusAccepted, Response{Accepted: len(results), Results: results, Rejected: batch.Rejected})
}

func (h *Handler) auth(key string) Auth {
	if a, ok := h.cfg.Sources[key]; ok && (a.Token != "" || a.HMACSecret != "") {
		return a
	}
	return Auth{Token: h.cfg.Token}
}

func (h *Handler) known() []string {
	names := make([]string, 0, len(h.parsers))
	for n := range h.parsers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// authorized checks the HMAC signature or the bearer token, in constant time.
func authorized(a Auth, r *http.Request, body []byte) bool {
	if a.HMACSecret != "" {
		header := a.HMACHeader
		if header == "" {
			header = "X-Warroom-Signature"
		}
		if sig := r.Header.Get(header); sig != "" {
			got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
			mac := hmac.New(sha256.New, []byte(a.HMACSecret))
			mac.Write(body)
			if err == nil && hmac.Equal(got, mac.Sum(nil)) {
				return true
			}
		}
	}
	if a.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.Token)) == 1 {
			return true
		}
	}
	return false
}

// readBody reads at most limit bytes of the body, in one allocation when
// the sender said how long it is (net/http stops a body at its declared
// length).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength < 0 || r.ContentLength > limit {
		return io.ReadAll(body)
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func reply(w http.ResponseWriter, status int, resp Response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(resp)
}

func newRef() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}
