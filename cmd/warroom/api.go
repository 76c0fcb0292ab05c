package main

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/warroom-bot/warroom/store"
)

// api registers the JSON API endpoints kept here; the web package serves
// the rest of /api/. Every call needs a web room session or one of the
// bearer tokens in api.tokens.
func (a *app) api(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/alerts", a.web.srv.API(a.apiAlerts))
}

type alertJSON struct {
	Source      string          `json:"source"`
	Fingerprint string          `json:"fingerprint"`
	Status      string          `json:"status"`
	Title       string          `json:"title"`
	Severity    string          `json:"severity"`
	Labels      json.RawMessage `json:"labels"`
	Observables json.RawMessage `json:"observables"`
	URL         string          `json:"url,omitempty"`
	Count       int             `json:"count"`
	FirstSeen   time.Time       `json:"first_seen"`
	LastSeen    time.Time       `json:"last_seen"`
	ResolvedAt  *time.Time      `json:"resolved_at,omitempty"`
}

// apiAlerts answers GET /api/alerts?incident=INC-N.
func (a *app) apiAlerts(w http.ResponseWriter, r *http.Request) {
	id, ok := store.ParseRef(r.URL.Query().Get("incident"))
	if !ok {
		apiError(w, http.StatusBadRequest, "incident=INC-N is required")
		return
	}
	if in, err := a.db.Incident(r.Context(), id); err != nil || !a.web.srv.CanSee(r, in) {
		apiError(w, http.StatusNotFound, store.FormatRef(id)+" does not exist")
		return
	}
	rows, err := a.db.Alerts(r.Context(), id)
	if err != nil {
		a.log.Error("list alerts", "err", err)
		apiError(w, http.StatusInternalServerError, "could not list alerts")
		return
	}
	out := make([]alertJSON, 0, len(rows))
	for _, al := range rows {
		j := alertJSON{Source: al.Source, Fingerprint: al.Fingerprint, Status: al.Status, Title: al.Title, Severity: al.Severity,
			Labels: json.RawMessage(al.Labels), Observables: json.RawMessage(al.Observables), URL: al.URL, Count: al.Count,
			FirstSeen: al.FirstSeen, LastSeen: al.LastSeen}
		if !al.ResolvedAt.IsZero() {
			j.ResolvedAt = &al.ResolvedAt
		}
		out = append(out, j)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
