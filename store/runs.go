package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run is one run of a playbook on an incident.
type Run struct {
	ID         int64
	IncidentID int64
	Playbook   string
	Digest     string
	Trigger    string
	StartedBy  string
	Inputs     json.RawMessage
	Alert      json.RawMessage
	Status     string
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

// RunStep is the state of one step of a run.
type RunStep struct {
	RunID      int64
	Step       string
	Status     string
	Attempts   int
	Inputs     json.RawMessage
	Outputs    json.RawMessage
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Approval is a request for leads to approve a step of a run.
type Approval struct {
	ID          int64
	RunID       int64
	Step        string
	Token       string
	Roles       []string
	Required    int
	Votes       []string
	RequestedBy string
	Message     string
	Deadline    time.Time
	EscalateAt  time.Time
	Escalated   bool
	Decision    string
	DecidedBy   string
	DecidedAt   time.Time
}

const runCols = `id, incident_id, playbook, digest, trigger, started_by, inputs, alert, status, error, created_at, updated_at, finished_at`

func scanRun(s scanner) (Run, error) {
	var r Run
	var inputs, alert string
	var created, updated int64
	var finished sql.NullInt64
	err := s.Scan(&r.ID, &r.IncidentID, &r.Playbook, &r.Digest, &r.Trigger, &r.StartedBy, &inputs, &alert, &r.Status,
		&r.Error, &created, &updated, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, err
	}
	r.Inputs, r.Alert = json.RawMessage(inputs), json.RawMessage(alert)
	r.CreatedAt, r.UpdatedAt, r.FinishedAt = fromNanos(created), fromNanos(updated), fromNull(finished)
	return r, nil
}

// CreateRun inserts a run and returns its id.
func (tx *Tx) CreateRun(ctx context.Context, r Run) (int64, error) {
	if len(r.Alert) == 0 {
		r.Alert = json.RawMessage("{}")
	}
	res, err := tx.exec(ctx, `INSERT INTO runs(incident_id, playbook, digest, trigger, started_by, inputs, alert, status,
		error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.IncidentID, r.Playbook, r.Digest, r.Trigger, r.StartedBy, string(r.Inputs), string(r.Alert), r.Status, r.Error,
		nanos(r.CreatedAt), nanos(r.UpdatedAt))
	if err != nil {
		return 0, fmt.Errorf("create run: %w", err)
	}
	return res.LastInsertId()
}

// SetRunStatus moves a run to status; a final status records when it finished.
func (tx *Tx) SetRunStatus(ctx context.Context, id int64, status, errMsg string, at time.Time, final bool) error {
	finished := sql.NullInt64{}
	if final {
		finished = nullTime(at)
	}
	_, err := tx.exec(ctx, `UPDATE runs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
		status, errMsg, nanos(at), finished, id)
	if err != nil {
		return fmt.Errorf("update run %d: %w", id, err)
	}
	return nil
}

// Run reads one run.
func (tx *Tx) Run(ctx context.Context, id int64) (Run, error) {
	return scanRun(tx.queryRow(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
}

// Run reads one run.
func (db *DB) Run(ctx context.Context, id int64) (Run, error) {
	return scanRun(db.queryRow(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
}

// Runs lists runs, newest first: of one incident when incidentID is not
// zero, and of the given statuses when any are named.
func (db *DB) Runs(ctx context.Context, incidentID int64, limit int, statuses ...string) ([]Run, error) {
	q := `SELECT ` + runCols + ` FROM runs WHERE 1 = 1`
	var args []any
	if incidentID != 0 {
		q += ` AND incident_id = ?`
		args = append(args, incidentID)
	}
	if len(statuses) > 0 {
		q += ` AND status IN (?` + strings.Repeat(", ?", len(statuses)-1) + `)`
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveRunStep writes the state of one step of a run.
func (tx *Tx) SaveRunStep(ctx context.Context, s RunStep) error {
	if len(s.Inputs) == 0 {
		s.Inputs = json.RawMessage("{}")
	}
	if len(s.Outputs) == 0 {
		s.Outputs = json.RawMessage("{}")
	}
	_, err := tx.exec(ctx, `INSERT INTO run_steps(run_id, step, status, attempts, inputs, outputs, error, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, step) DO UPDATE SET status = excluded.status,
		attempts = excluded.attempts, inputs = excluded.inputs, outputs = excluded.outputs, error = excluded.error,
		started_at = excluded.started_at, finished_at = excluded.finished_at`,
		s.RunID, s.Step, s.Status, s.Attempts, string(s.Inputs), string(s.Outputs), s.Error, nullTime(s.StartedAt), nullTime(s.FinishedAt))
	if err != nil {
		return fmt.Errorf("save step %s of run %d: %w", s.Step, s.RunID, err)
	}
	return nil
}

// RunSteps returns the recorded steps of a run, by step id.
func (db *DB) RunSteps(ctx context.Context, runID int64) (map[string]RunStep, error) {
	rows, err := db.query(ctx, `SELECT run_id, step, status, attempts, inputs, outputs, error, started_at, finished_at
		FROM run_steps WHERE run_id = ?`, runID)
	if err != nil {
		return nil, fmt.Errorf("read steps of run %d: %w", runID, err)
	}
	defer rows.Close()
	out := map[string]RunStep{}
	for rows.Next() {
		var s RunStep
		var inputs, outputs string
		var started, finished sql.NullInt64
		if err := rows.Scan(&s.RunID, &s.Step, &s.Status, &s.Attempts, &inputs, &outputs, &s.Error, &started, &finished); err != nil {
			return nil, err
		}
		s.Inputs, s.Outputs = json.RawMessage(inputs), json.RawMessage(outputs)
		s.StartedAt, s.FinishedAt = fromNull(started), fromNull(finished)
		out[s.Step] = s
	}
	return out, rows.Err()
}

const approvalCols = `id, run_id, step, token, roles, required, votes, requested_by, message, deadline, escalate_at,
	escalated, decision, decided_by, decided_at`

func scanApproval(s scanner) (Approval, error) {
	var a Approval
	var roles, votes string
	var deadline int64
	var escalateAt, decidedAt sql.NullInt64
	err := s.Scan(&a.ID, &a.RunID, &a.Step, &a.Token, &roles, &a.Required, &votes, &a.RequestedBy, &a.Message, &deadline,
		&escalateAt, &a.Escalated, &a.Decision, &a.DecidedBy, &decidedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Approval{}, ErrNotFound
	}
	if err != nil {
		return Approval{}, err
	}
	json.Unmarshal([]byte(roles), &a.Roles)
	json.Unmarshal([]byte(votes), &a.Votes)
	a.Deadline, a.EscalateAt, a.DecidedAt = fromNanos(deadline), fromNull(escalateAt), fromNull(decidedAt)
	return a, nil
}

// CreateApproval inserts an approval request and returns its id.
func (tx *Tx) CreateApproval(ctx context.Context, a Approval) (int64, error) {
	roles, _ := json.Marshal(a.Roles)
	res, err := tx.exec(ctx, `INSERT INTO approvals(run_id, step, token, roles, required, requested_by, message, deadline, escalate_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.RunID, a.Step, a.Token, string(roles), a.Required, a.RequestedBy, a.Message,
		nanos(a.Deadline), nullTime(a.EscalateAt))
	if err != nil {
		return 0, fmt.Errorf("create approval: %w", err)
	}
	return res.LastInsertId()
}

// UpdateApproval writes the mutable fields of an approval.
func (tx *Tx) UpdateApproval(ctx context.Context, a Approval) error {
	roles, _ := json.Marshal(a.Roles)
	votes, _ := json.Marshal(a.Votes)
	if a.Votes == nil {
		votes = []byte("[]")
	}
	_, err := tx.exec(ctx, `UPDATE approvals SET roles = ?, votes = ?, escalated = ?, decision = ?, decided_by = ?, decided_at = ?
		WHERE id = ?`, string(roles), string(votes), a.Escalated, a.Decision, a.DecidedBy, nullTime(a.DecidedAt), a.ID)
	if err != nil {
		return fmt.Errorf("update approval %d: %w", a.ID, err)
	}
	return nil
}

// ApprovalByToken finds an approval by the token its buttons carry.
func (tx *Tx) ApprovalByToken(ctx context.Context, token string) (Approval, error) {
	return scanApproval(tx.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE token = ?`, token))
}

// ApprovalOf returns the approval of a run's step.
func (db *DB) ApprovalOf(ctx context.Context, runID int64, step string) (Approval, error) {
	return scanApproval(db.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE run_id = ? AND step = ?
		ORDER BY id DESC LIMIT 1`, runID, step))
}

// DueApprovals lists pending approvals whose deadline or escalation time is at or before now.
func (db *DB) DueApprovals(ctx context.Context, now time.Time) ([]Approval, error) {
	rows, err := db.query(ctx, `SELECT `+approvalCols+` FROM approvals WHERE decision = ''
		AND (deadline <= ? OR (escalated = 0 AND escalate_at IS NOT NULL AND escalate_at <= ?)) ORDER BY id`, nanos(now), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("due approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PendingApprovals lists every approval still waiting for a decision.
func (db *DB) PendingApprovals(ctx context.Context) ([]Approval, error) {
	rows, err := db.query(ctx, `SELECT `+approvalCols+` FROM approvals WHERE decision = '' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DecidedWaitingRuns lists runs still waiting on an approval that has been
// decided: the decision was committed but the run did not go on (the
// process stopped in between), so the engine must pick them up.
func (db *DB) DecidedWaitingRuns(ctx context.Context) ([]int64, error) {
	rows, err := db.query(ctx, `SELECT DISTINCT r.id FROM runs r
		JOIN run_steps s ON s.run_id = r.id AND s.status = 'waiting'
		JOIN approvals a ON a.run_id = r.id AND a.step = s.step AND a.decision != ''
		WHERE r.status = 'waiting'`)
	if err != nil {
		return nil, fmt.Errorf("decided waiting runs: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ApprovalByToken finds an approval by the token its buttons carry.
func (db *DB) ApprovalByToken(ctx context.Context, token string) (Approval, error) {
	return scanApproval(db.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE token = ?`, token))
}
