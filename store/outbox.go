package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Outbox row states.
const (
	OutboxPending = "pending"
	OutboxDone    = "done"
	OutboxDead    = "dead" // failed for good; kept for inspection
)

// OutboxRow is one chat call waiting to be made. Rows that share a Lane are
// delivered strictly in ID order, so a message is posted before it is edited
// and a channel exists before anything is posted into it.
type OutboxRow struct {
	ID         int64
	Platform   string
	Lane       string
	Op         string
	IncidentID int64 // zero when the call belongs to no incident
	Payload    json.RawMessage
	State      string
	Attempts   int
	Inflight   bool // a call was started and its outcome never recorded
	// MsgKey names the message the row posts or edits, if any.
	MsgKey    string
	NextAt    time.Time
	LastError string
	CreatedAt time.Time
}

// Enqueue adds a row to the outbox and returns its id.
func (tx *Tx) Enqueue(ctx context.Context, r OutboxRow) (int64, error) {
	var incident sql.NullInt64
	if r.IncidentID != 0 {
		incident = sql.NullInt64{Int64: r.IncidentID, Valid: true}
	}
	res, err := tx.exec(ctx, `INSERT INTO outbox(platform, lane, op, incident_id, payload, next_at, created_at, msg_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.Platform, r.Lane, r.Op, incident, string(r.Payload), nanos(r.NextAt), nanos(r.CreatedAt), r.MsgKey)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", r.Op, err)
	}
	return res.LastInsertId()
}

// ReplaceQueued gives a newer payload to an edit of the same message that
// is still queued behind other rows of its lane, instead of queueing a
// second edit: only the latest state of a message matters, and chat.update
// is rate limited. A row at the head of its lane may already be in the
// dispatcher's hands and is never touched. It reports whether a row was
// replaced.
func (tx *Tx) ReplaceQueued(ctx context.Context, lane, op, key string, payload []byte) (bool, error) {
	// The candidate is the newest pending row for the key, whatever it does:
	// an edit queued before a later post of the same key (a reopened
	// incident's new summary) must not take the newer state.
	res, err := tx.exec(ctx, `UPDATE outbox SET payload = ? WHERE id = (
		SELECT id FROM outbox WHERE lane = ? AND msg_key = ? AND state = 'pending' ORDER BY id DESC LIMIT 1)
		AND op = ? AND inflight = 0
		AND id > (SELECT MIN(id) FROM outbox WHERE lane = ? AND state = 'pending')`, string(payload), lane, key, op, lane)
	if err != nil {
		return false, fmt.Errorf("replace queued %s: %w", key, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

const outboxCols = `id, platform, lane, op, COALESCE(incident_id, 0), payload, state, attempts, inflight, next_at, last_error, created_at`

func scanOutbox(s scanner) (OutboxRow, error) {
	var r OutboxRow
	var payload string
	var next, created int64
	if err := s.Scan(&r.ID, &r.Platform, &r.Lane, &r.Op, &r.IncidentID, &payload, &r.State, &r.Attempts, &r.Inflight,
		&next, &r.LastError, &created); err != nil {
		return OutboxRow{}, err
	}
	r.Payload, r.NextAt, r.CreatedAt = json.RawMessage(payload), fromNanos(next), fromNanos(created)
	return r, nil
}

// DueOutbox returns the head row of every lane whose head is due at now,
// earliest first, at most limit rows.
func (db *DB) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxRow, error) {
	rows, err := db.query(ctx, `SELECT `+outboxCols+` FROM outbox
		WHERE id IN (SELECT MIN(id) FROM outbox WHERE state = 'pending' GROUP BY lane) AND next_at <= ?
		ORDER BY next_at, id LIMIT ?`, nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		r, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LaneHead returns the first pending row of a lane, and false when the
// lane has none.
func (db *DB) LaneHead(ctx context.Context, lane string) (OutboxRow, bool, error) {
	r, err := scanOutbox(db.queryRow(ctx, `SELECT `+outboxCols+` FROM outbox
		WHERE lane = ? AND state = 'pending' ORDER BY id LIMIT 1`, lane))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxRow{}, false, nil
	}
	if err != nil {
		return OutboxRow{}, false, fmt.Errorf("read lane %s: %w", lane, err)
	}
	return r, true, nil
}

// NextOutboxAt returns when the earliest lane head becomes due, and false
// when nothing is pending.
func (db *DB) NextOutboxAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := db.queryRow(ctx, `SELECT MIN(next_at) FROM outbox
		WHERE id IN (SELECT MIN(id) FROM outbox WHERE state = 'pending' GROUP BY lane)`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read outbox: %w", err)
	}
	return fromNull(next), next.Valid, nil
}

// OutboxCounts returns how many rows are pending and dead.
func (db *DB) OutboxCounts(ctx context.Context) (pending, dead int, err error) {
	err = db.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM outbox WHERE state = 'pending'),
		(SELECT COUNT(*) FROM outbox WHERE state = 'dead')`).Scan(&pending, &dead)
	if err != nil {
		return 0, 0, fmt.Errorf("count outbox: %w", err)
	}
	return pending, dead, nil
}

// OutboxRows lists outbox rows of a state, oldest first (for inspection and tests).
func (db *DB) OutboxRows(ctx context.Context, state string) ([]OutboxRow, error) {
	rows, err := db.query(ctx, `SELECT `+outboxCols+` FROM outbox WHERE state = ? ORDER BY id`, state)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		r, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StartAttempt claims row id for a call: it must still be pending and the
// head of its lane. It records the attempt so that a crash during the call
// is known at restart, and reports false when the row was delivered or
// overtaken meanwhile (a stale read), in which case nothing may be called.
func (tx *Tx) StartAttempt(ctx context.Context, id int64) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE outbox SET inflight = 1, attempts = attempts + 1
		WHERE id = ? AND state = 'pending'
		AND id = (SELECT MIN(o.id) FROM outbox o WHERE o.lane = outbox.lane AND o.state = 'pending')`, id)
	if err != nil {
		return false, fmt.Errorf("start outbox %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CompleteOutbox marks row id delivered and stores the platform's answer.
func (tx *Tx) CompleteOutbox(ctx context.Context, id int64, result string, at time.Time) error {
	_, err := tx.exec(ctx, `UPDATE outbox SET state = 'done', inflight = 0, result = ?, last_error = '', done_at = ?
		WHERE id = ?`, result, nanos(at), id)
	if err != nil {
		return fmt.Errorf("complete outbox %d: %w", id, err)
	}
	return nil
}

// RetryOutbox leaves row id pending, to be tried again at next.
func (tx *Tx) RetryOutbox(ctx context.Context, id int64, next time.Time, reason string) error {
	_, err := tx.exec(ctx, `UPDATE outbox SET inflight = 0, next_at = ?, last_error = ? WHERE id = ?`,
		nanos(next), reason, id)
	if err != nil {
		return fmt.Errorf("retry outbox %d: %w", id, err)
	}
	return nil
}

// PaceOutbox makes row id due later without counting an attempt: the
// platform's rate limit, not a failure, holds it back.
func (tx *Tx) PaceOutbox(ctx context.Context, id int64, next time.Time) error {
	_, err := tx.exec(ctx, `UPDATE outbox SET next_at = ? WHERE id = ? AND state = 'pending'`, nanos(next), id)
	if err != nil {
		return fmt.Errorf("pace outbox %d: %w", id, err)
	}
	return nil
}

// KillOutbox gives up on row id; it stays in the table as dead with its reason.
func (tx *Tx) KillOutbox(ctx context.Context, id int64, reason string, at time.Time) error {
	_, err := tx.exec(ctx, `UPDATE outbox SET state = 'dead', inflight = 0, last_error = ?, done_at = ? WHERE id = ?`,
		reason, nanos(at), id)
	if err != nil {
		return fmt.Errorf("kill outbox %d: %w", id, err)
	}
	return nil
}

// PruneOutbox deletes up to limit delivered rows that finished before
// cutoff. A delivered row is history the case log already holds; keeping
// every one forever would grow the outbox without end.
func (tx *Tx) PruneOutbox(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM outbox WHERE id IN (
		SELECT id FROM outbox WHERE state = 'done' AND done_at < ? ORDER BY id LIMIT ?)`, nanos(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	return res.RowsAffected()
}

// RequeueDead makes dead rows pending again, due now and with their
// attempts reset: the rows named by ids, or every dead row when ids is
// empty. It returns how many rows it requeued.
func (tx *Tx) RequeueDead(ctx context.Context, ids []int64, now time.Time) (int64, error) {
	q := `UPDATE outbox SET state = 'pending', attempts = 0, inflight = 0, next_at = ?, done_at = NULL WHERE state = 'dead'`
	args := []any{nanos(now)}
	if len(ids) > 0 {
		q += ` AND id IN (` + placeholders(len(ids)) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("requeue dead outbox rows: %w", err)
	}
	return res.RowsAffected()
}
