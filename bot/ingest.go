package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
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

// Ingest folds alerts into incidents and returns once they are committed: a
// caller that acknowledges after Ingest never loses an alert. Repeats of a
// fingerprint attach to the open incident that has it; new fingerprints
// with a group key join an open incident of that group that saw an alert
// within the group window; anything else opens an incident. Rooms hear at
// most one short notice a minute, never one message per alert.
//
// Concurrent callers share transactions: while one batch commits, the next
// gathers, and within a batch the repeats of one fingerprint are counted
// and written once (one row update, one case-log entry with the count).
// That is what lets a storm of repeats be taken durably at the rate a
// monitoring system sends them.
func (s *Service) Ingest(ctx context.Context, alerts []Alert) ([]IngestResult, error) {
	for i := range alerts {
		a := &alerts[i]
		if a.Status == "" {
			a.Status = "firing"
		}
		if a.Fingerprint == "" || a.Title == "" || !valid(Severities, a.Severity) || (a.Status != "firing" && a.Status != "resolved") {
			return nil, fmt.Errorf("ingest: alert %d (%s): alert is incomplete: fingerprint, title, severity and status are required", i, a.Fingerprint)
		}
	}
	results, err := s.submit(&ingestReq{ctx: ctx, alerts: alerts})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return results, nil
}

// submit queues a request for the next batch and waits for its outcome.
func (s *Service) submit(req *ingestReq) ([]IngestResult, error) {
	req.done = make(chan ingestDone, 1)
	s.ingestMu.Lock()
	s.ingestQueue = append(s.ingestQueue, req)
	start := !s.ingestBusy
	s.ingestBusy = true
	s.ingestMu.Unlock()
	if start {
		go s.drainIngest()
	}
	var d ingestDone
	select {
	case d = <-req.done:
	case <-req.ctx.Done():
		// The batch may still commit; the caller must not acknowledge.
		return nil, req.ctx.Err()
	}
	return d.results, d.err
}

// ingestReq is one caller's alerts waiting for a batch.
type ingestReq struct {
	ctx    context.Context
	alerts []Alert
	// repeatsBy, when set, asks for the summaries of repeats that began
	// by then, due or not (see logRepeats).
	repeatsBy time.Time
	done      chan ingestDone
}

type ingestDone struct {
	results []IngestResult
	err     error
}

// drainIngest writes queued requests, a batch at a time, until none is left.
// It runs only while there is work, so an idle service holds no goroutine.
func (s *Service) drainIngest() {
	for {
		// Handlers that are ready to run have alerts on their way: let
		// them queue first, so that they share this batch's commit
		// rather than wait for the next. Yielding costs nothing when no
		// one else is ready.
		runtime.Gosched()
		s.ingestMu.Lock()
		batch := s.ingestQueue
		s.ingestQueue = nil
		if len(batch) == 0 {
			s.ingestBusy = false
			s.ingestMu.Unlock()
			return
		}
		s.ingestMu.Unlock()
		s.ingestBatch(batch)
	}
}

// ingestBatch writes a batch of requests in one transaction.
func (s *Service) ingestBatch(reqs []*ingestReq) {
	live := reqs[:0:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done <- ingestDone{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	now := s.opts.Clock.Now().UTC()
	results := make([][]IngestResult, len(live))
	var opened []Incident
	// The batch is written for every caller in it, so no one caller's
	// cancellation may abort it.
	ctx := context.WithoutCancel(live[0].ctx)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		opened = opened[:0]
		if err := s.intake.check(ctx, tx, s.db.NoticeEpoch(), s.db.IncidentEpoch()); err != nil {
			return err
		}
		b := &repeats{byFingerprint: map[string]*repeat{}}
		var fps []string
		seen := map[string]bool{}
		for _, r := range live {
			for _, a := range r.alerts {
				if !seen[a.Fingerprint] {
					seen[a.Fingerprint] = true
					fps = append(fps, a.Fingerprint)
				}
			}
		}
		// Summaries that fell due ride along, before the batch reads
		// what they change.
		var dueBy time.Time
		if s.repeatLogDue(now) {
			dueBy = now.Add(-repeatLogEvery)
		}
		for _, r := range live {
			if r.repeatsBy.After(dueBy) {
				dueBy = r.repeatsBy
			}
		}
		if !dueBy.IsZero() {
			if err := s.logRepeats(ctx, tx, now, dueBy); err != nil {
				return err
			}
		}
		// One read for the whole batch instead of one per alert.
		var err error
		if b.known, err = s.lookup(ctx, tx, fps); err != nil {
			return err
		}
		for i, r := range live {
			results[i] = make([]IngestResult, len(r.alerts))
			for j, a := range r.alerts {
				res, in, isNew, err := s.ingestOne(ctx, tx, now, a, b)
				if err != nil {
					return fmt.Errorf("alert %d (%s): %w", j, a.Fingerprint, err)
				}
				results[i][j] = res
				if isNew {
					opened = append(opened, in)
				}
			}
		}
		return s.flushRepeats(ctx, tx, now, b.order)
	})
	if err != nil {
		// What the batch remembered may have rolled back with it.
		s.repeatDue.Store(0)
		s.intake.drop()
	}
	for i, r := range live {
		if err != nil {
			r.done <- ingestDone{err: err}
			continue
		}
		r.done <- ingestDone{results: results[i]}
	}
	if err != nil {
		return
	}
	for _, in := range opened {
		s.opts.Logger.Info("incident opened from alert", "incident", in.Ref(), "severity", in.Severity)
	}
	s.opts.Notify()
}

// repeat counts the sightings of one firing fingerprint in a batch that
// change nothing but the count; they are written once, at the end.
type repeat struct {
	ref  store.AlertRef // the stored alert as the batch found it
	in   Incident       // its incident as the batch found it (id, status, severity)
	n    int
	last Alert
}

type repeats struct {
	byFingerprint map[string]*repeat
	order         []*repeat
	// known holds the stored alert of each fingerprint as the batch
	// found it, read up front; an entry is used once, by the first alert
	// of its fingerprint, because the batch may change it after that.
	known map[string]store.AlertRef
}

// quiet reports whether a sighting of a firing alert changes nothing but
// the count: still firing, and no more urgent than its incident.
func quiet(a Alert, known store.AlertRef, in Incident) bool {
	return a.Status == "firing" && known.Status == "firing" && SeverityRank(a.Severity) >= SeverityRank(in.Severity)
}

// flushRepeat writes the counted sightings of one fingerprint before a
// sighting that changes more than the count is taken the long way.
func (s *Service) flushRepeat(ctx context.Context, tx *store.Tx, now time.Time, r *repeat) error {
	return s.flushRepeats(ctx, tx, now, []*repeat{r})
}

// flushRepeats writes the counted sightings of each fingerprint: the
// alerts' counts and the incidents' (one statement each for all of them),
// the first unlogged sighting of alerts that had none, and a notice for
// the rooms. The case log hears of them later, summed up (see logRepeats).
func (s *Service) flushRepeats(ctx context.Context, tx *store.Tx, now time.Time, rs []*repeat) error {
	var alerts, incidents []store.Count
	perIncident := map[int64]int{}
	var ids, fresh []int64
	for _, r := range rs {
		if r.n == 0 {
			continue
		}
		alerts = append(alerts, store.Count{ID: r.ref.ID, N: r.n})
		if _, ok := perIncident[r.in.ID]; !ok {
			ids = append(ids, r.in.ID)
		}
		perIncident[r.in.ID] += r.n
		if r.ref.UnloggedSince.IsZero() {
			fresh = append(fresh, r.ref.ID)
			r.ref.UnloggedSince = now
		}
		r.ref.Count += r.n
		r.ref.Status = "firing"
		r.n = 0
		s.intake.alerts[r.last.Fingerprint] = r.ref
	}
	if len(alerts) == 0 {
		return nil
	}
	for _, id := range ids {
		incidents = append(incidents, store.Count{ID: id, N: perIncident[id]})
	}
	if err := tx.RepeatFiring(ctx, alerts, now); err != nil {
		return err
	}
	if err := tx.AddIncidentsAlerts(ctx, incidents, now); err != nil {
		return err
	}
	if len(fresh) > 0 {
		if err := tx.MarkUnlogged(ctx, fresh, now); err != nil {
			return err
		}
		s.repeatLogDueBy(now.Add(repeatLogEvery))
	}
	return s.queueNotices(ctx, tx, now, ids...)
}

// repeatLogEvery is how long the repeats of a firing alert are counted
// before the case log gets one entry that sums them up. The count itself
// is exact and durable from the first sighting; the entry is the story
// the timeline tells, and one line per alert every few seconds reads
// better than thousands during a storm (and costs intake far less).
const repeatLogEvery = 10 * time.Second

// repeatLogDueBy notes that a summary entry falls due at t at the latest.
// It runs inside write transactions, which the store runs one after the
// other, so the hint follows the order of the writes.
func (s *Service) repeatLogDueBy(t time.Time) {
	for {
		cur := s.repeatDue.Load()
		if cur <= t.UnixNano() || s.repeatDue.CompareAndSwap(cur, t.UnixNano()) {
			return
		}
	}
}

// repeatLogDue reports whether a summary entry may be due at now. The
// hint starts at zero, so a new process looks once for what a crash left.
func (s *Service) repeatLogDue(now time.Time) bool {
	return now.UnixNano() >= s.repeatDue.Load()
}

// logRepeats writes one "alert.repeated" entry per alert whose unlogged
// sightings began at or before dueBy (or, given ids, for those alerts),
// with the total count and the sightings it sums up, and marks them
// logged. Without ids it also moves the hint to the next one due.
func (s *Service) logRepeats(ctx context.Context, tx *store.Tx, now, dueBy time.Time, ids ...int64) error {
	us, err := tx.UnloggedRepeats(ctx, dueBy, ids...)
	if err != nil {
		return err
	}
	entries := make([]store.NewEntry, 0, len(us))
	logged := make([]int64, 0, len(us))
	for _, u := range us {
		logged = append(logged, u.Alert.ID)
		delete(s.intake.alerts, u.Alert.Fingerprint)
		n := u.Alert.Count - u.Logged
		if n <= 0 {
			continue
		}
		body := alertBody(Alert{Source: u.Alert.Source, Fingerprint: u.Alert.Fingerprint, Title: u.Alert.Title,
			Severity: u.Alert.Severity, Status: u.Alert.Status, URL: u.Alert.URL}, u.Alert.Count)
		body["count"], body["repeats"] = u.Alert.Count, n
		body["first_seen"], body["last_seen"] = u.Since.Format(time.RFC3339Nano), u.Alert.LastSeen.Format(time.RFC3339Nano)
		entries = append(entries, store.NewEntry{IncidentID: u.Alert.IncidentID, At: now, Actor: System, Kind: "alert.repeated", Body: body})
	}
	if _, err := tx.AppendAll(ctx, entries); err != nil {
		return err
	}
	if err := tx.MarkLogged(ctx, logged); err != nil {
		return err
	}
	if len(ids) > 0 {
		return nil
	}
	next, pending, err := tx.NextUnlogged(ctx)
	if err != nil {
		return err
	}
	due := int64(math.MaxInt64)
	if pending {
		due = next.Add(repeatLogEvery).UnixNano()
	}
	s.repeatDue.Store(due)
	return nil
}

// FlushRepeats writes the summary entries of every alert's unlogged
// repeats now, due or not: at shutdown, and in tests that read the case
// log.
func (s *Service) FlushRepeats(ctx context.Context) error {
	return s.writeRepeatLog(ctx, time.Unix(0, math.MaxInt64))
}

// writeRepeatLog writes the summaries of repeats that began by dueBy. It
// goes through the intake batches, which alone write alerts' state.
func (s *Service) writeRepeatLog(ctx context.Context, dueBy time.Time) error {
	if _, err := s.submit(&ingestReq{ctx: ctx, repeatsBy: dueBy}); err != nil {
		return fmt.Errorf("log alert repeats: %w", err)
	}
	return nil
}

// RunRepeatLog writes the summaries of alert repeats as they fall due when
// no alert arrives to carry them, checking every interval, until ctx ends;
// then it writes what is left, so a clean stop leaves nothing unsummarised.
func (s *Service) RunRepeatLog(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.FlushRepeats(final); err != nil {
				s.opts.Logger.Error("log alert repeats at stop", "err", err)
			}
			return
		case <-t.C:
			if now := s.opts.Clock.Now().UTC(); s.repeatLogDue(now) {
				if err := s.writeRepeatLog(ctx, now.Add(-repeatLogEvery)); err != nil {
					s.opts.Logger.Error("log alert repeats", "err", err)
				}
			}
		}
	}
}

func (s *Service) ingestOne(ctx context.Context, tx *store.Tx, now time.Time, a Alert, b *repeats) (IngestResult, Incident, bool, error) {
	if r, ok := b.byFingerprint[a.Fingerprint]; ok {
		if quiet(a, r.ref, r.in) {
			r.n++
			r.last = a
			return IngestResult{Incident: r.in.Ref(), Outcome: AlertRepeated}, r.in, false, nil
		}
		// Something changes: write what was counted, then take this one
		// the long way, reading the state the batch has written.
		if err := s.flushRepeat(ctx, tx, now, r); err != nil {
			return IngestResult{}, Incident{}, false, err
		}
		delete(b.byFingerprint, a.Fingerprint)
	}
	known, ok := b.known[a.Fingerprint]
	var err error
	if ok {
		delete(b.known, a.Fingerprint)
	} else {
		// Read again: the batch may have written this fingerprint since.
		var refs map[string]store.AlertRef
		if refs, err = tx.LatestAlerts(ctx, []string{a.Fingerprint}); err == nil {
			if known, ok = refs[a.Fingerprint]; !ok {
				err = store.ErrNotFound
			}
		}
	}
	if err == nil && known.IncidentStatus == "closed" {
		err = store.ErrNotFound // a closed incident takes no more alerts: open a new one
	}
	var in Incident
	if err == nil {
		in = Incident{ID: known.IncidentID, Status: known.IncidentStatus, Severity: known.IncidentSeverity}
		if quiet(a, known, in) {
			r := &repeat{ref: known, in: in, n: 1, last: a}
			b.byFingerprint[a.Fingerprint] = r
			b.order = append(b.order, r)
			return IngestResult{Incident: in.Ref(), Outcome: AlertRepeated}, in, false, nil
		}
		in, err = tx.Incident(ctx, known.IncidentID)
	}
	switch {
	case err == nil:
		outcome := AlertRepeated
		if a.Status == "resolved" && known.Status != "resolved" {
			outcome = AlertResolved
		}
		if known.Count > known.Logged {
			// The summary of the sightings before this one goes first.
			if err := s.logRepeats(ctx, tx, now, now, known.ID); err != nil {
				return IngestResult{}, Incident{}, false, err
			}
		}
		delete(s.intake.alerts, a.Fingerprint)
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
			if err := s.attachAlert(ctx, tx, now, in.ID, &a); err != nil {
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
	if err := s.attachAlert(ctx, tx, now, in.ID, &a); err != nil {
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
	return in, nil
}

// attachAlert stores a new fingerprint of an incident, with its
// observables, derived now that they are needed.
func (s *Service) attachAlert(ctx context.Context, tx *store.Tx, now time.Time, incidentID int64, a *Alert) error {
	a.Observe()
	// The fingerprint's newest alert is this one now.
	delete(s.intake.alerts, a.Fingerprint)
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
	return s.queueNotices(ctx, tx, now, in.ID)
}

// queueNotices makes sure every room of the incidents has a notice queued,
// reading the rooms' notice state in one go.
func (s *Service) queueNotices(ctx context.Context, tx *store.Tx, now time.Time, incidentIDs ...int64) error {
	if len(s.opts.Platforms) == 0 {
		return nil
	}
	unknown := incidentIDs[:0:0]
	for _, id := range incidentIDs {
		if !s.intake.noticed[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	notices, err := tx.NoticesOf(ctx, unknown, s.opts.Platforms)
	if err != nil {
		return err
	}
	for _, id := range unknown {
		for _, p := range s.opts.Platforms {
			if err := queueNoticeFrom(ctx, tx, now, p, id, notices[id][p]); err != nil {
				return err
			}
		}
		s.intake.noticed[id] = true
	}
	return nil
}

// intakeCache is what alert intake remembers of the store from one batch
// to the next, so that a storm of repeats reads almost nothing: the stored
// state of each fingerprint's alert, which only intake writes, and the
// incidents' status and severity, and the incidents whose rooms all have
// a notice queued. Only the write functions of intake batches use it, and
// the store runs those one at a time. It is dropped whenever it may be
// wrong: after a batch that failed, when another connection has committed
// (data_version); the incidents when one was written in this process
// (store.DB.IncidentEpoch: a command, a playbook, a raise by an alert);
// the notices when one has gone out (store.DB.NoticeEpoch).
type intakeCache struct {
	version int64                     // the data_version it is good for; -1 when dropped
	alerts  map[string]store.AlertRef // by fingerprint; their incident fields are stale, incidents has those
	// incidents holds status and severity, good for IncidentEpoch incidentEpoch.
	incidentEpoch int64
	incidents     map[int64]store.IncidentState
	// noticed: incident id → every room has a notice queued, good for
	// NoticeEpoch noticeEpoch.
	noticeEpoch int64
	noticed     map[int64]bool
}

// maxCachedAlerts bounds the fingerprints remembered; past it the cache
// starts again, which costs a read per fingerprint once.
const maxCachedAlerts = 100_000

// check drops what may have changed since the last batch.
func (c *intakeCache) check(ctx context.Context, tx *store.Tx, noticeEpoch, incidentEpoch int64) error {
	v, err := tx.DataVersion(ctx)
	if err != nil {
		return err
	}
	if v != c.version || c.alerts == nil || len(c.alerts) > maxCachedAlerts {
		c.version, c.alerts = v, map[string]store.AlertRef{}
		c.incidents, c.noticed = map[int64]store.IncidentState{}, map[int64]bool{}
	}
	if incidentEpoch != c.incidentEpoch {
		c.incidentEpoch, c.incidents = incidentEpoch, map[int64]store.IncidentState{}
	}
	if noticeEpoch != c.noticeEpoch {
		c.noticeEpoch, c.noticed = noticeEpoch, map[int64]bool{}
	}
	return nil
}

// drop forgets everything; the next batch reads afresh.
func (c *intakeCache) drop() { c.version = -1 }

// lookup returns the stored alert of each fingerprint that has one, with
// its incident's status and severity, from the cache where it can and
// from the store for the rest.
func (s *Service) lookup(ctx context.Context, tx *store.Tx, fps []string) (map[string]store.AlertRef, error) {
	c := &s.intake
	out := make(map[string]store.AlertRef, len(fps))
	var miss []string
	var ids []int64
	for _, fp := range fps {
		a, ok := c.alerts[fp]
		if !ok {
			miss = append(miss, fp)
			continue
		}
		out[fp] = a
		if _, ok := c.incidents[a.IncidentID]; !ok {
			ids = append(ids, a.IncidentID)
		}
	}
	if len(ids) > 0 {
		states, err := tx.IncidentStates(ctx, ids)
		if err != nil {
			return nil, err
		}
		maps.Copy(c.incidents, states)
	}
	for fp, a := range out {
		st := c.incidents[a.IncidentID]
		a.IncidentStatus, a.IncidentSeverity = st.Status, st.Severity
		out[fp] = a
	}
	if len(miss) > 0 {
		got, err := tx.LatestAlerts(ctx, miss)
		if err != nil {
			return nil, err
		}
		for fp, a := range got {
			out[fp] = a
			c.alerts[fp] = a
			c.incidents[a.IncidentID] = store.IncidentState{Status: a.IncidentStatus, Severity: a.IncidentSeverity}
		}
	}
	return out, nil
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
	if err != nil {
		return err
	}
	return queueNoticeFrom(ctx, tx, now, platform, incidentID, n)
}

// queueNoticeFrom is queueNotice given the room's notice state.
func queueNoticeFrom(ctx context.Context, tx *store.Tx, now time.Time, platform string, incidentID int64, n store.Notice) error {
	if n.Pending {
		return nil
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
	_, err := tx.Enqueue(ctx, store.OutboxRow{
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
