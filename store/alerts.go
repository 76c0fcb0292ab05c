package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Alert is one alert fingerprint attached to an incident. Repeats of the
// same fingerprint bump Count and LastSeen instead of adding rows.
type Alert struct {
	ID          int64
	IncidentID  int64
	Source      string
	Fingerprint string
	GroupKey    string
	Status      string // firing, resolved
	Title       string
	Severity    string
	Labels      string // JSON object
	Observables string // JSON array
	URL         string
	Raw         string
	Count       int
	FirstSeen   time.Time
	LastSeen    time.Time
	ResolvedAt  time.Time
}

const alertCols = `a.id, a.incident_id, a.source, a.fingerprint, a.group_key, s.status, a.title, a.severity, a.labels,
	a.observables, a.url, a.raw, s.count, a.first_seen, s.last_seen, s.resolved_at`

// alertFrom joins an alert to its state.
const alertFrom = ` FROM alerts a JOIN alert_state s ON s.alert_id = a.id`

func scanAlert(s scanner) (Alert, error) {
	var a Alert
	var first, last int64
	var resolved sql.NullInt64
	err := s.Scan(&a.ID, &a.IncidentID, &a.Source, &a.Fingerprint, &a.GroupKey, &a.Status, &a.Title, &a.Severity,
		&a.Labels, &a.Observables, &a.URL, &a.Raw, &a.Count, &first, &last, &resolved)
	if errors.Is(err, sql.ErrNoRows) {
		return Alert{}, ErrNotFound
	}
	if err != nil {
		return Alert{}, err
	}
	a.FirstSeen, a.LastSeen, a.ResolvedAt = fromNanos(first), fromNanos(last), fromNull(resolved)
	return a, nil
}

// AlertRef is the little that intake needs to know of a stored alert.
type AlertRef struct {
	ID         int64
	IncidentID int64
	Status     string
	Count      int
	// IncidentStatus and IncidentSeverity are the incident's, read with
	// the alert so that a plain repeat needs no full incident read.
	IncidentStatus   string
	IncidentSeverity string
	// Logged is Count as of the alert's last case-log entry; the
	// sightings since, from UnloggedSince on, await a summary entry.
	Logged        int
	UnloggedSince time.Time
}

// OpenIncidentInGroup returns the newest incident that is not closed, holds
// group key, and received an alert at or after since.
func (tx *Tx) OpenIncidentInGroup(ctx context.Context, groupKey string, since time.Time) (Incident, error) {
	return scanIncident(tx.queryRow(ctx, `SELECT `+incidentCols+` FROM incidents
		WHERE group_key = ? AND group_key != '' AND status != 'closed' AND last_alert_at >= ?
		ORDER BY id DESC LIMIT 1`, groupKey, nanos(since)))
}

// InsertAlert attaches a new alert fingerprint to an incident.
func (tx *Tx) InsertAlert(ctx context.Context, a Alert) (int64, error) {
	res, err := tx.exec(ctx, `INSERT INTO alerts(incident_id, source, fingerprint, group_key, title,
		severity, labels, observables, url, raw, first_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.IncidentID, a.Source, a.Fingerprint, a.GroupKey, a.Title, a.Severity, a.Labels, a.Observables,
		a.URL, a.Raw, nanos(a.FirstSeen))
	if err != nil {
		return 0, fmt.Errorf("insert alert: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert alert: %w", err)
	}
	// The caller logs the new alert in the same transaction: its count is
	// logged.
	if _, err := tx.exec(ctx, `INSERT INTO alert_state(alert_id, fingerprint, incident_id, status, count, last_seen, resolved_at, logged)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, a.Fingerprint, a.IncidentID, a.Status, max(a.Count, 1), nanos(a.LastSeen), nullTime(a.ResolvedAt), max(a.Count, 1)); err != nil {
		return 0, fmt.Errorf("insert alert: %w", err)
	}
	return id, nil
}

// RepeatAlert records one more sighting of an attached alert, at at, that
// the caller logs in the same transaction (after the summary of any
// sightings still unlogged, see UnloggedRepeats); see RepeatFiring for many
// firing alerts at once.
func (tx *Tx) RepeatAlert(ctx context.Context, id int64, status string, at time.Time) error {
	resolved := sql.NullInt64{}
	if status == "resolved" {
		resolved = nullTime(at)
	}
	_, err := tx.exec(ctx, `UPDATE alert_state SET count = count + 1, last_seen = ?, status = ?, resolved_at = ?,
		logged = count + 1, unlogged_since = NULL WHERE alert_id = ?`, nanos(at), status, resolved, id)
	if err != nil {
		return fmt.Errorf("repeat alert %d: %w", id, err)
	}
	return nil
}

// Alerts lists the alerts attached to an incident, oldest first.
func (db *DB) Alerts(ctx context.Context, incidentID int64) ([]Alert, error) {
	rows, err := db.query(ctx, `SELECT `+alertCols+alertFrom+` WHERE a.incident_id = ? ORDER BY a.id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Notice is what one room was last told about an incident's alerts.
type Notice struct {
	Noticed int       // AlertCount at the last notice
	At      time.Time // when it was posted
	Pending bool      // a notice is queued
}

// Notice returns the alert-notice state of an incident's room on a platform.
func (tx *Tx) Notice(ctx context.Context, platform string, incidentID int64) (Notice, error) {
	return noticeOf(ctx, tx, platform, incidentID)
}

// Notice returns the alert-notice state of an incident's room on a platform.
func (db *DB) Notice(ctx context.Context, platform string, incidentID int64) (Notice, error) {
	return noticeOf(ctx, db, platform, incidentID)
}

func noticeOf(ctx context.Context, q querier, platform string, incidentID int64) (Notice, error) {
	var n Notice
	var at sql.NullInt64
	err := q.queryRow(ctx, `SELECT noticed, notice_at, pending FROM alert_notices
		WHERE platform = ? AND incident_id = ?`, platform, incidentID).Scan(&n.Noticed, &at, &n.Pending)
	if errors.Is(err, sql.ErrNoRows) {
		return Notice{}, nil
	}
	n.At = fromNull(at)
	return n, err
}

// SaveNotice stores the alert-notice state of an incident's room on a
// platform. Saving a notice as no longer pending moves NoticeEpoch on.
func (tx *Tx) SaveNotice(ctx context.Context, platform string, incidentID int64, n Notice) error {
	if !n.Pending {
		tx.db.noticeEpoch.Add(1)
	}
	_, err := tx.exec(ctx, `INSERT INTO alert_notices(platform, incident_id, noticed, notice_at, pending)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT(platform, incident_id) DO UPDATE SET
		noticed = excluded.noticed, notice_at = excluded.notice_at, pending = excluded.pending`,
		platform, incidentID, n.Noticed, nullTime(n.At), n.Pending)
	if err != nil {
		return fmt.Errorf("save alert notice: %w", err)
	}
	return nil
}

// NoticeEpoch counts the saves of notice state that is no longer pending.
// Intake remembers which rooms have a notice queued; when the epoch has
// moved since, a notice may have gone out, and it reads the state again.
func (db *DB) NoticeEpoch() int64 { return db.noticeEpoch.Load() }

// chunk is how many values one IN (...) list carries; SQLite's limit on
// bound parameters is far above it, and the statements stay cacheable.
const chunk = 256

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string { return "?" + strings.Repeat(", ?", n-1) }

// LatestAlerts finds, for each fingerprint, the alert on the newest
// incident that holds it, in as few reads as the list allows: alert intake
// looks up a whole batch before it writes. Fingerprints with no alert are
// absent from the map. Callers check the incident's status: only an open
// one takes repeats. (Indexed single-table reads and no join, SQLite
// spending more on a join than on both reads; and a fingerprint is on one
// or a few incidents, so reading them all and keeping the newest is
// cheaper than ORDER BY ... LIMIT 1.)
func (tx *Tx) LatestAlerts(ctx context.Context, fingerprints []string) (map[string]AlertRef, error) {
	out := make(map[string]AlertRef, len(fingerprints))
	for start := 0; start < len(fingerprints); start += chunk {
		part := fingerprints[start:min(start+chunk, len(fingerprints))]
		args := make([]any, len(part))
		for i, f := range part {
			args[i] = f
		}
		rows, err := tx.query(ctx, `SELECT fingerprint, alert_id, incident_id, status, count, logged, unlogged_since
			FROM alert_state WHERE fingerprint IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("look up alerts: %w", err)
		}
		for rows.Next() {
			var fp string
			var a AlertRef
			var since sql.NullInt64
			if err := rows.Scan(&fp, &a.ID, &a.IncidentID, &a.Status, &a.Count, &a.Logged, &since); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up alerts: %w", err)
			}
			a.UnloggedSince = fromNull(since)
			if a.IncidentID > out[fp].IncidentID {
				out[fp] = a
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("look up alerts: %w", err)
		}
	}
	ids := make([]int64, 0, len(out))
	for _, a := range out {
		ids = append(ids, a.IncidentID)
	}
	states, err := tx.IncidentStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	for fp, a := range out {
		st := states[a.IncidentID]
		a.IncidentStatus, a.IncidentSeverity = st.Status, st.Severity
		out[fp] = a
	}
	return out, nil
}

// IncidentState is the little of an incident that decides how an alert
// joins it.
type IncidentState struct{ Status, Severity string }

// IncidentStates reads the status and severity of incidents by id.
func (tx *Tx) IncidentStates(ctx context.Context, ids []int64) (map[int64]IncidentState, error) {
	out := make(map[int64]IncidentState, len(ids))
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := tx.query(ctx, `SELECT id, status, severity FROM incidents WHERE id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("look up alerts' incidents: %w", err)
		}
		for rows.Next() {
			var id int64
			var st IncidentState
			if err := rows.Scan(&id, &st.Status, &st.Severity); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up alerts' incidents: %w", err)
			}
			out[id] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("look up alerts' incidents: %w", err)
		}
	}
	return out, nil
}

// DataVersion returns SQLite's data_version of the writer connection: it
// changes when another connection, in this process or another, commits a
// change to the database. Whoever remembers rows across transactions
// compares it to know whether someone else may have changed them.
func (tx *Tx) DataVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := tx.queryRow(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read data version: %w", err)
	}
	return v, nil
}

// Count is a number of sightings for one row: an alert or an incident.
type Count struct {
	ID int64
	N  int
}

// RepeatFiring records more sightings of many firing alerts, the last at
// at, in one statement per chunk.
func (tx *Tx) RepeatFiring(ctx context.Context, counts []Count, at time.Time) error {
	return tx.addCounts(ctx, counts, at, 1, `UPDATE alert_state SET count = count + CASE alert_id %s END,
		last_seen = ?, status = 'firing', resolved_at = NULL WHERE alert_id IN (%s)`)
}

// MarkUnlogged records since as the first unlogged sighting of alerts that
// had none; their summary entry is due a while later (see UnloggedRepeats).
func (tx *Tx) MarkUnlogged(ctx context.Context, ids []int64, since time.Time) error {
	return tx.execIDs(ctx, "mark unlogged sightings", `UPDATE alert_state SET unlogged_since = ?
		WHERE unlogged_since IS NULL AND alert_id IN (%s)`, ids, nanos(since))
}

// execIDs runs query, whose %s takes the id list, once per chunk of ids,
// with lead bound before them.
func (tx *Tx) execIDs(ctx context.Context, what, query string, ids []int64, lead ...any) error {
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := append(make([]any, 0, len(lead)+len(part)), lead...)
		for _, id := range part {
			args = append(args, id)
		}
		if _, err := tx.exec(ctx, fmt.Sprintf(query, placeholders(len(part))), args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// Unlogged is an alert whose latest sightings are counted but not yet
// summarised in the case log.
type Unlogged struct {
	Alert  Alert // its stored alert; Count is the total so far
	Logged int   // Count as of its last case-log entry
	Since  time.Time
}

// UnloggedRepeats returns the alerts whose first unlogged sighting is at
// or before dueBy (or, given ids, those of them with any), oldest first.
func (tx *Tx) UnloggedRepeats(ctx context.Context, dueBy time.Time, ids ...int64) ([]Unlogged, error) {
	q := `SELECT ` + alertCols + `, s.logged, s.unlogged_since` + alertFrom + ` WHERE s.unlogged_since IS NOT NULL`
	args := []any{}
	if len(ids) > 0 {
		q += ` AND s.alert_id IN (` + placeholders(len(ids)) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	} else {
		q += ` AND s.unlogged_since <= ?`
		args = append(args, nanos(dueBy))
	}
	rows, err := tx.query(ctx, q+` ORDER BY s.unlogged_since, s.alert_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read unlogged sightings: %w", err)
	}
	defer rows.Close()
	var out []Unlogged
	for rows.Next() {
		var u Unlogged
		var since int64
		var scan scanFunc = func(dest ...any) error { return rows.Scan(append(dest, &u.Logged, &since)...) }
		if u.Alert, err = scanAlert(scan); err != nil {
			return nil, fmt.Errorf("read unlogged sightings: %w", err)
		}
		u.Since = fromNanos(since)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read unlogged sightings: %w", err)
	}
	return out, nil
}

// MarkLogged records that the alerts' counts are all in the case log.
func (tx *Tx) MarkLogged(ctx context.Context, ids []int64) error {
	return tx.execIDs(ctx, "mark sightings logged", `UPDATE alert_state SET logged = count, unlogged_since = NULL
		WHERE alert_id IN (%s)`, ids)
}

// NextUnlogged returns the earliest first unlogged sighting of any alert,
// and false when every sighting is logged.
func (tx *Tx) NextUnlogged(ctx context.Context) (time.Time, bool, error) {
	var since sql.NullInt64
	if err := tx.queryRow(ctx, `SELECT MIN(unlogged_since) FROM alert_state WHERE unlogged_since IS NOT NULL`).Scan(&since); err != nil {
		return time.Time{}, false, fmt.Errorf("read next unlogged sighting: %w", err)
	}
	return fromNull(since), since.Valid, nil
}

// AddIncidentsAlerts counts more alerts on many incidents at once. It
// increments in SQL rather than writing whole rows, so it is right whatever
// else the transaction changed on the incidents.
func (tx *Tx) AddIncidentsAlerts(ctx context.Context, counts []Count, at time.Time) error {
	return tx.addCounts(ctx, counts, at, 2, `UPDATE incidents SET alert_count = alert_count + CASE id %s END,
		last_alert_at = ?, updated_at = ? WHERE id IN (%s)`)
}

// addCounts runs query, a template with the CASE arms and the id list to
// fill in, once per chunk; at fills the times placeholders in between.
func (tx *Tx) addCounts(ctx context.Context, counts []Count, at time.Time, times int, query string) error {
	for start := 0; start < len(counts); start += chunk {
		part := counts[start:min(start+chunk, len(counts))]
		var cases strings.Builder
		args := make([]any, 0, 3*len(part)+1)
		for _, c := range part {
			cases.WriteString("WHEN ? THEN ? ")
			args = append(args, c.ID, c.N)
		}
		for range times {
			args = append(args, nanos(at))
		}
		for _, c := range part {
			args = append(args, c.ID)
		}
		q := fmt.Sprintf(query, cases.String(), placeholders(len(part)))
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("count alerts: %w", err)
		}
	}
	return nil
}

// NoticesOf returns the alert-notice state of many incidents' rooms on the
// platforms, by incident and platform.
func (tx *Tx) NoticesOf(ctx context.Context, incidentIDs []int64, platforms []string) (map[int64]map[string]Notice, error) {
	out := make(map[int64]map[string]Notice, len(incidentIDs))
	if len(platforms) == 0 {
		return out, nil
	}
	for start := 0; start < len(incidentIDs); start += chunk {
		part := incidentIDs[start:min(start+chunk, len(incidentIDs))]
		args := make([]any, 0, len(platforms)+len(part))
		for _, p := range platforms {
			args = append(args, p)
		}
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := tx.query(ctx, `SELECT incident_id, platform, noticed, notice_at, pending FROM alert_notices
			WHERE platform IN (`+placeholders(len(platforms))+`) AND incident_id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read alert notices: %w", err)
		}
		for rows.Next() {
			var id int64
			var p string
			var n Notice
			var noticeAt sql.NullInt64
			if err := rows.Scan(&id, &p, &n.Noticed, &noticeAt, &n.Pending); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read alert notices: %w", err)
			}
			n.At = fromNull(noticeAt)
			if out[id] == nil {
				out[id] = map[string]Notice{}
			}
			out[id][p] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read alert notices: %w", err)
		}
	}
	return out, nil
}
