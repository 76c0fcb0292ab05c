package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Indicator is an indicator an incident saw. The store keeps its fields as
// strings: what they mean is the ioc package's business.
type Indicator struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	Scope string `json:"scope,omitempty"`
}

// EnrichJob is a batch of lookups for one incident.
type EnrichJob struct {
	ID         int64
	IncidentID int64
	Message    string
	Indicators []Indicator
	State      string
	CreatedAt  time.Time
}

// EnrichResult is one source's stored answer about one indicator.
type EnrichResult struct {
	ID         int64
	JobID      int64
	IncidentID int64
	Type       string
	Value      string
	Source     string
	Result     json.RawMessage
	At         time.Time
}

// SawIndicators records the indicators an incident saw.
func (tx *Tx) SawIndicators(ctx context.Context, incidentID int64, at time.Time, inds []Indicator) error {
	for _, in := range inds {
		if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO incident_indicators (incident_id, type, value, scope, at) VALUES (?, ?, ?, ?, ?)`,
			incidentID, in.Type, in.Value, in.Scope, nanos(at)); err != nil {
			return fmt.Errorf("record indicators: %w", err)
		}
	}
	return nil
}

// IncidentsWithIndicator lists incidents other than exclude that saw the
// indicator, newest first.
func (db *DB) IncidentsWithIndicator(ctx context.Context, typ, value string, exclude int64, limit int) ([]Incident, error) {
	rows, err := db.query(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id IN (
		SELECT incident_id FROM incident_indicators WHERE value = ? AND type = ? AND incident_id <> ?)
		ORDER BY id DESC LIMIT ?`, value, typ, exclude, limit)
	if err != nil {
		return nil, fmt.Errorf("incidents with indicator: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("incidents with indicator: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// CreateEnrichJob queues lookups for an incident; message names the
// incident message that shows their results.
func (tx *Tx) CreateEnrichJob(ctx context.Context, incidentID int64, message string, inds []Indicator, at time.Time) (int64, error) {
	b, err := json.Marshal(inds)
	if err != nil {
		return 0, fmt.Errorf("create enrichment: %w", err)
	}
	res, err := tx.exec(ctx, `INSERT INTO enrich_jobs (incident_id, message, indicators, created_at) VALUES (?, ?, ?, ?)`,
		incidentID, message, string(b), nanos(at))
	if err != nil {
		return 0, fmt.Errorf("create enrichment: %w", err)
	}
	return res.LastInsertId()
}

// ClaimEnrichJobs takes up to limit jobs that are pending, or running under
// a lease that ran out (the process working on them died), and leases them
// until leaseUntil.
func (tx *Tx) ClaimEnrichJobs(ctx context.Context, now, leaseUntil time.Time, limit int) ([]EnrichJob, error) {
	rows, err := tx.query(ctx, `SELECT id, incident_id, message, indicators, state, created_at FROM enrich_jobs
		WHERE state = 'pending' OR (state = 'running' AND lease_until < ?) ORDER BY id LIMIT ?`, nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim enrichments: %w", err)
	}
	var jobs []EnrichJob
	for rows.Next() {
		var j EnrichJob
		var inds string
		var created int64
		if err := rows.Scan(&j.ID, &j.IncidentID, &j.Message, &inds, &j.State, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim enrichments: %w", err)
		}
		if err := json.Unmarshal([]byte(inds), &j.Indicators); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim enrichments: job %d: %w", j.ID, err)
		}
		j.CreatedAt = fromNanos(created)
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim enrichments: %w", err)
	}
	for i := range jobs {
		if _, err := tx.exec(ctx, `UPDATE enrich_jobs SET state = 'running', lease_until = ? WHERE id = ?`, nanos(leaseUntil), jobs[i].ID); err != nil {
			return nil, fmt.Errorf("claim enrichments: %w", err)
		}
		jobs[i].State = "running"
	}
	return jobs, nil
}

// RenewEnrichJob extends the lease of a running job to leaseUntil: the
// process working on it is still at it, and must not see it claimed again.
func (tx *Tx) RenewEnrichJob(ctx context.Context, id int64, leaseUntil time.Time) error {
	if _, err := tx.exec(ctx, `UPDATE enrich_jobs SET lease_until = ? WHERE id = ? AND state = 'running'`, nanos(leaseUntil), id); err != nil {
		return fmt.Errorf("renew enrichment: %w", err)
	}
	return nil
}

// FinishEnrichJob marks a job done.
func (tx *Tx) FinishEnrichJob(ctx context.Context, id int64, at time.Time) error {
	if _, err := tx.exec(ctx, `UPDATE enrich_jobs SET state = 'done', done_at = ? WHERE id = ?`, nanos(at), id); err != nil {
		return fmt.Errorf("finish enrichment: %w", err)
	}
	return nil
}

// HasOpenEnrichJobs reports whether any job waits or runs.
func (db *DB) HasOpenEnrichJobs(ctx context.Context) (bool, error) {
	var n int
	err := db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM enrich_jobs WHERE state <> 'done')`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("open enrichments: %w", err)
	}
	return n == 1, nil
}

// SaveEnrichResult stores one answer. A repeated answer for the same job,
// indicator and source (a job re-run after a crash) replaces the first.
func (tx *Tx) SaveEnrichResult(ctx context.Context, r EnrichResult) error {
	if _, err := tx.exec(ctx, `INSERT INTO enrich_results (job_id, incident_id, type, value, source, result, at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id, type, value, source) DO UPDATE SET result = excluded.result, at = excluded.at`,
		r.JobID, r.IncidentID, r.Type, r.Value, r.Source, string(r.Result), nanos(r.At)); err != nil {
		return fmt.Errorf("save enrichment result: %w", err)
	}
	return nil
}

// CachedResult returns a cached answer that has not expired.
func (db *DB) CachedResult(ctx context.Context, source, typ, value string, now time.Time) (json.RawMessage, bool, error) {
	var res string
	err := db.queryRow(ctx, `SELECT result FROM enrich_cache WHERE source = ? AND type = ? AND value = ? AND expires_at > ?`,
		source, typ, value, nanos(now)).Scan(&res)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("enrichment cache: %w", err)
	}
	return json.RawMessage(res), true, nil
}

// CacheResult stores an answer until expires.
func (tx *Tx) CacheResult(ctx context.Context, source, typ, value string, result json.RawMessage, expires time.Time) error {
	if _, err := tx.exec(ctx, `INSERT INTO enrich_cache (source, type, value, result, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (source, type, value) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at`,
		source, typ, value, string(result), nanos(expires)); err != nil {
		return fmt.Errorf("enrichment cache: %w", err)
	}
	return nil
}
