package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/warroom-bot/warroom/store"
)

// Outcomes of ingesting one alert.
const (
	AlertOpened   = "opened"   // it opened a new incident
	AlertAttached = "attached" // a new fingerprint joined an open incident of its group
	AlertRepeated = "repeated" // a known fingerprint fired again
	AlertResolved = "resolved" // a known fingerprint resolved
	AlertIgnored  = "ignored"  // a resolved alert with no open incident
)

// IngestResult says what became of one alert.
type IngestResult struct {
	Incident string `json:"incident,omitempty"` // INC-N
	Outcome  string `json:"outcome"`
}

// noticeEvery is how often at most a room hears "N more alerts".
const noticeEvery = time.Minute

// Ingest folds alerts into incidents, all in one transaction that is
// committed before Ingest returns: a caller that acknowledges after Ingest
// never loses an alert. Repeats of a fingerprint attach to the open incident
// that has it; new fingerprints with a group key join an open incident of
// that group that saw an alert within the group window; anything else opens
// an incident. Rooms hear at most one short notice a minute, never one
// message per alert.
func (s *Service) Ingest(ctx context.Context, alerts []Alert) ([]IngestResult, error) {
	now := s.opts.Clock.Now().UTC()
	results := make([]IngestResult, len(alerts))
	var opened []Incident
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		opened = opened[:0]
		for i, a := range alerts {
			res, in, isNew, err := s.ingestOne(ctx, tx, now, a)
			if err != nil {
				return fmt.Errorf("alert %d (%s): %w", i, a.Fingerprint, err)
			}
			results[i] = res
			if isNew {
				opened = append(opened, in)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	for _, in := range opened {
		s.opts.Logger.Info("incident opened from alert", "incident", in.Ref(), "severity", in.Severity)
	}
	s.opts.Notify()
	return results, nil
}

func (s *Service) ingestOne(ctx context.Context, tx *store.Tx, now time.Time, a Alert) (IngestResult, Incident, bool, error) {
	if a.Status == "" {
		a.Status = "firing"
	}
	if a.Fingerprint == "" || a.Title == "" || !valid(Severities, a.Severity) || (a.Status != "firing" && a.Status != "resolved") {
		return IngestResult{}, Incident{}, false, errors.New("alert is incomplete: fingerprint, title, severity and status are required")
	}
	known, err := tx.LatestAlert(ctx, a.Fingerprint)
	var in Incident
	if err == nil {
		if in, err = tx.Incident(ctx, known.IncidentID); err == nil && in.Status == "closed" {
			err = store.ErrNotFound // a closed incident takes no more alerts: open a new one
		}
	}
	switch {
	case err == nil:
		outcome := AlertRepeated
		if a.Status == "resolved" && known.Status != "resolved" {
			outcome = AlertResolved
		}
		if err := tx.RepeatAlert(ctx, known.ID, a.Status, now); err != nil {
			return IngestResult{}, Incident{}, false, err
		}
		kind := "alert.repeated"
		if outcome == AlertResolved {
			kind = "alert.resolved"
		}
		if err := s.alertJoined(ctx, tx, now, &in, a, kind, known.Count+1); err != nil {
			return IngestResult{}, Incident{}, false, err
		}
		if outcome == AlertResolved {
			msg := Message{Text: "✅ Alert resolved at the source: " + a.Title + ". The incident stays open until someone closes it."}
			for _, p := range s.opts.Platforms {
				if err := enqueue(ctx, tx, now, p, in.ID, OpPost, call{Message: &msg}); err != nil {
					return IngestResult{}, Incident{}, false, err
				}
			}
		}
		return IngestResult{Incident: in.Ref(), Outcome: outcome}, in, false, nil
	case !errors.Is(err, store.ErrNotFound):
		return IngestResult{}, Incident{}, false, err
	}
	if a.Status == "resolved" {
		return IngestResult{Outcome: AlertIgnored}, Incident{}, false, nil
	}
	if a.GroupKey != "" {
		in, err := tx.OpenIncidentInGroup(ctx, a.GroupKey, now.Add(-s.opts.GroupWindow))
		switch {
		case err == nil:
			if err := s.attachAlert(ctx, tx, now, in.ID, a); err != nil {
				return IngestResult{}, Incident{}, false, err
			}
			if err := s.alertJoined(ctx, tx, now, &in, a, "alert.attached", 1); err != nil {
				return IngestResult{}, Incident{}, false, err
			}
			return IngestResult{Incident: in.Ref(), Outcome: AlertAttached}, in, false, nil
		case !errors.Is(err, store.ErrNotFound):
			return IngestResult{}, Incident{}, false, err
		}
	}
	in, err = s.openFromAlert(ctx, tx, now, a)
	if err != nil {
		return IngestResult{}, Incident{}, false, err
	}
	return IngestResult{Incident: in.Ref(), Outcome: AlertOpened}, in, true, nil
}

// openFromAlert opens an incident for an alert nothing open holds.
func (s *Service) openFromAlert(ctx context.Context, tx *store.Tx, now time.Time, a Alert) (Incident, error) {
	title := a.Title
	if r := []rune(title); len(r) > maxTitle {
		title = string(r[:maxTitle-1]) + "…"
	}
	in, err := tx.CreateIncident(ctx, Incident{
		Title: title, Severity: a.Severity, Status: "open", CreatedBy: System, Private: s.opts.Private,
		AlertCount: 1, CreatedAt: now, UpdatedAt: now, GroupKey: a.GroupKey, LastAlertAt: now,
	})
	if err != nil {
		return Incident{}, err
	}
	if _, err := tx.Append(ctx, in.ID, now, System, "incident.opened", map[string]any{
		"title": in.Title, "severity": in.Severity, "private": in.Private, "source": a.Source,
	}); err != nil {
		return Incident{}, err
	}
	if err := s.attachAlert(ctx, tx, now, in.ID, a); err != nil {
		return Incident{}, err
	}
	if _, err := tx.Append(ctx, in.ID, now, System, "alert.attached", alertBody(a, 1)); err != nil {
		return Incident{}, err
	}
	for _, p := range s.opts.Platforms {
		if err := s.openRoom(ctx, tx, now, p, in, System); err != nil {
			return Incident{}, err
		}
		// The summary already counts this alert: nothing to notice yet.
		if err := tx.SaveNotice(ctx, p, in.ID, store.Notice{Noticed: 1, At: now}); err != nil {
			return Incident{}, err
		}
	}
	if err := s.onOpen(ctx, tx, now, in, &a); err != nil {
		return Incident{}, err
	}
	if s.opts.OnAlertIncident != nil {
		events, err := s.opts.OnAlertIncident(ctx, tx, in, a)
		if err != nil {
			return Incident{}, err
		}
		if err := s.recordEvents(ctx, tx, now, events); err != nil {
			return Incident{}, err
		}
	}
	return in, nil
}

func (s *Service) attachAlert(ctx context.Context, tx *store.Tx, now time.Time, incidentID int64, a Alert) error {
	labels, _ := json.Marshal(a.Labels)
	observables, _ := json.Marshal(a.Observables)
	if a.Observables == nil {
		observables = []byte("[]")
	}
	_, err := tx.InsertAlert(ctx, store.Alert{
		IncidentID: incidentID, Source: a.Source, Fingerprint: a.Fingerprint, GroupKey: a.GroupKey, Status: a.Status,
		Title: a.Title, Severity: a.Severity, Labels: string(labels), Observables: string(observables), URL: a.URL,
		Raw: string(a.Raw), Count: 1, FirstSeen: now, LastSeen: now,
	})
	return err
}

// alertJoined records an alert on an existing incident: the count, the
// case-log entry, a severity raise if the alert is more urgent, and a
// queued notice for the rooms.
func (s *Service) alertJoined(ctx context.Context, tx *store.Tx, now time.Time, in *Incident, a Alert, kind string, count int) error {
	in.AlertCount++
	in.LastAlertAt, in.UpdatedAt = now, now
	raised := in.Status != "closed" && SeverityRank(a.Severity) < SeverityRank(in.Severity)
	from := in.Severity
	if raised {
		in.Severity = a.Severity
	}
	if err := tx.UpdateIncident(ctx, *in); err != nil {
		return err
	}
	if _, err := tx.Append(ctx, in.ID, now, System, kind, alertBody(a, count)); err != nil {
		return err
	}
	if raised {
		if _, err := tx.Append(ctx, in.ID, now, System, "severity.changed", map[string]string{"from": from, "to": in.Severity, "by": "alert"}); err != nil {
			return err
		}
		c := change{announce: announcement(System, fmt.Sprintf("raised the severity to %s (was %s): %s", in.Severity, from, a.Title))}
		for _, p := range s.opts.Platforms {
			if err := s.show(ctx, tx, now, p, *in, System, c); err != nil {
				return err
			}
		}
	}
	for _, p := range s.opts.Platforms {
		if err := queueNotice(ctx, tx, now, p, in.ID); err != nil {
			return err
		}
	}
	return nil
}

func alertBody(a Alert, count int) map[string]any {
	body := map[string]any{
		"source": a.Source, "fingerprint": a.Fingerprint, "title": a.Title, "severity": a.Severity, "status": a.Status,
	}
	if count > 1 {
		body["count"] = count
	}
	if a.URL != "" {
		body["url"] = a.URL
	}
	return body
}

// queueNotice makes sure one "N more alerts" notice is queued for a room,
// due no sooner than a minute after the last one.
func queueNotice(ctx context.Context, tx *store.Tx, now time.Time, platform string, incidentID int64) error {
	n, err := tx.Notice(ctx, platform, incidentID)
	if err != nil || n.Pending {
		return err
	}
	due := now
	if !n.At.IsZero() && n.At.Add(noticeEvery).After(now) {
		due = n.At.Add(noticeEvery)
	}
	n.Pending = true
	if err := tx.SaveNotice(ctx, platform, incidentID, n); err != nil {
		return err
	}
	// Its own lane: a notice waiting for its minute must not hold back the
	// incident's other messages.
	_, err = tx.Enqueue(ctx, store.OutboxRow{
		Platform: platform, Lane: incidentLane(platform, incidentID) + "/notice", Op: string(OpAlertNotice),
		IncidentID: incidentID, Payload: []byte("{}"), NextAt: due, CreatedAt: now,
	})
	return err
}

// noticeText is the line a room gets about alerts since the last notice.
func noticeText(delta, total int) string {
	if delta == 1 {
		return "📈 1 more alert (" + strconv.Itoa(total) + " in all)"
	}
	return "📈 " + strconv.Itoa(delta) + " more alerts (" + strconv.Itoa(total) + " in all)"
}
