package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ActiveIncident is an incident with the time of its last case-log entry.
type ActiveIncident struct {
	Incident
	LastActivity time.Time
}

func inList(col string, vals []string, args *[]any) string {
	if len(vals) == 0 {
		return "1 = 1"
	}
	for _, v := range vals {
		*args = append(*args, v)
	}
	return col + " IN (" + placeholders(len(vals)) + ")"
}

// FilteredIncidents returns incidents in the given statuses and severities
// (empty means any), most severe first and oldest first within a severity,
// at most limit of them, with the number that matched in all. Closed
// incidents are never returned: a digest is about open work.
func (db *DB) FilteredIncidents(ctx context.Context, statuses, severities []string, limit int) ([]ActiveIncident, int, error) {
	var args []any
	where := `status != 'closed' AND ` + inList("status", statuses, &args) + ` AND ` + inList("severity", severities, &args)
	var total int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count incidents: %w", err)
	}
	rank := `CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END`
	rows, err := db.query(ctx, `SELECT `+incidentCols+`,
		(SELECT at FROM case_log c WHERE c.incident_id = incidents.id AND c.kind NOT LIKE 'reminder.%' ORDER BY seq DESC LIMIT 1)
		FROM incidents WHERE `+where+` ORDER BY `+rank+`, created_at LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var out []ActiveIncident
	for rows.Next() {
		var last sql.NullInt64
		in, err := scanIncident(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &last)...) }))
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ActiveIncident{Incident: in, LastActivity: fromNull(last)})
	}
	return out, total, rows.Err()
}

// scanFunc is a scanner made of a function, so that one row's leading
// columns can be read by a scan function of their own.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// IncidentTotals counts open incidents by severity and status.
func (db *DB) IncidentTotals(ctx context.Context, statuses, severities []string) (map[string]map[string]int, error) {
	var args []any
	rows, err := db.query(ctx, `SELECT severity, status, COUNT(*) FROM incidents WHERE status != 'closed' AND `+
		inList("status", statuses, &args)+` AND `+inList("severity", severities, &args)+` GROUP BY severity, status`, args...)
	if err != nil {
		return nil, fmt.Errorf("count incidents: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var sev, status string
		var n int
		if err := rows.Scan(&sev, &status, &n); err != nil {
			return nil, err
		}
		if out[sev] == nil {
			out[sev] = map[string]int{}
		}
		out[sev][status] = n
	}
	return out, rows.Err()
}

// PeriodCounts counts incidents opened, resolved and closed in (from, to].
func (db *DB) PeriodCounts(ctx context.Context, from, to time.Time) (opened, resolved, closed int, err error) {
	err = db.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM incidents WHERE created_at > ?1 AND created_at <= ?2),
		(SELECT COUNT(*) FROM incidents WHERE resolved_at > ?1 AND resolved_at <= ?2),
		(SELECT COUNT(*) FROM incidents WHERE closed_at > ?1 AND closed_at <= ?2)`, nanos(from), nanos(to)).Scan(&opened, &resolved, &closed)
	if err != nil {
		err = fmt.Errorf("count period: %w", err)
	}
	return
}

// Milestone is a case-log entry that may mark a response milestone, with
// its incident's opening time.
type Milestone struct {
	IncidentID int64
	At         time.Time
	Actor      string
	Kind       string
	Body       string
	Opened     time.Time
}

// Milestones calls fn, in order, for every entry in (from, to] that a
// person made or that changed an incident's status or closed it: the
// entries response times are made of.
func (db *DB) Milestones(ctx context.Context, from, to time.Time, fn func(Milestone) error) error {
	rows, err := db.query(ctx, `SELECT c.incident_id, c.at, c.actor, c.kind, c.body, i.created_at
		FROM case_log c JOIN incidents i ON i.id = c.incident_id
		WHERE c.at > ? AND c.at <= ? AND (c.actor != 'system' OR c.kind IN ('status.changed', 'incident.closed'))
		ORDER BY c.seq`, nanos(from), nanos(to))
	if err != nil {
		return fmt.Errorf("read case log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Milestone
		var at, opened int64
		if err := rows.Scan(&m.IncidentID, &at, &m.Actor, &m.Kind, &m.Body, &opened); err != nil {
			return err
		}
		m.At, m.Opened = fromNanos(at), fromNanos(opened)
		if err := fn(m); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FirstEntry returns an incident's first case-log entry matching cond,
// a SQL condition over actor, kind and body (fixed by the caller, never
// user input).
func (db *DB) FirstEntry(ctx context.Context, incidentID int64, cond string, args ...any) (Entry, error) {
	e, err := scanEntry(db.queryRow(ctx, `SELECT `+entryCols+` FROM case_log WHERE incident_id = ? AND (`+cond+`) ORDER BY seq LIMIT 1`,
		append([]any{incidentID}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	return e, err
}

// ClaimDigest records that digest name posts its tick, unless this or
// another process already did: it reports whether the caller owns the tick.
func (tx *Tx) ClaimDigest(ctx context.Context, name string, tick time.Time) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO digest_state(name, last_tick) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET last_tick = excluded.last_tick WHERE digest_state.last_tick < excluded.last_tick`,
		name, nanos(tick))
	if err != nil {
		return false, fmt.Errorf("claim digest %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// LastDigest returns the last tick digest name posted, and false if never.
func (db *DB) LastDigest(ctx context.Context, name string) (time.Time, bool, error) {
	var t int64
	err := db.queryRow(ctx, `SELECT last_tick FROM digest_state WHERE name = ?`, name).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return fromNanos(t), true, nil
}

// ClaimReminder records that a reminder of kind fires for an incident now,
// unless one fired less than repeat ago; it reports whether it may fire.
func (tx *Tx) ClaimReminder(ctx context.Context, incidentID int64, kind string, now time.Time, repeat time.Duration) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO reminders(incident_id, kind, last_at) VALUES (?, ?, ?)
		ON CONFLICT(incident_id, kind) DO UPDATE SET last_at = excluded.last_at WHERE reminders.last_at <= ?`,
		incidentID, kind, nanos(now), nanos(now.Add(-repeat)))
	if err != nil {
		return false, fmt.Errorf("claim reminder: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
