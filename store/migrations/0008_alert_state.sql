-- An alert's changing state moves out of the alerts row into a narrow row
-- of its own. A repeat updates only this row, and finding a fingerprint's
-- alert reads only the fingerprint index and this row, never the stored
-- payload: alert storms are mostly repeats, and rewriting a kilobyte of raw
-- JSON per repeat was most of their cost. (A join costs SQLite more per
-- lookup than two single-table reads, hence the copied keys.)
CREATE TABLE alert_state (
    alert_id    INTEGER PRIMARY KEY REFERENCES alerts(id),
    fingerprint TEXT    NOT NULL,           -- copied, so the lookup needs no join
    incident_id INTEGER NOT NULL,
    status      TEXT    NOT NULL,           -- firing, resolved
    count       INTEGER NOT NULL DEFAULT 1, -- times received
    last_seen   INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX alert_state_fingerprint ON alert_state(fingerprint);
INSERT INTO alert_state (alert_id, fingerprint, incident_id, status, count, last_seen, resolved_at)
    SELECT id, fingerprint, incident_id, status, count, last_seen, resolved_at FROM alerts;
ALTER TABLE alerts DROP COLUMN status;
ALTER TABLE alerts DROP COLUMN count;
ALTER TABLE alerts DROP COLUMN last_seen;
ALTER TABLE alerts DROP COLUMN resolved_at;
