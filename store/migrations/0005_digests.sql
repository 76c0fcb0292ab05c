-- Digests and reminders: the last tick each digest posted, and when each
-- reminder last fired, so that replicas and restarts never repeat them.
CREATE TABLE digest_state (
    name      TEXT PRIMARY KEY,
    last_tick INTEGER NOT NULL
);
CREATE TABLE reminders (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    kind        TEXT    NOT NULL, -- quiet, unassigned
    last_at     INTEGER NOT NULL,
    PRIMARY KEY (incident_id, kind)
);
-- Digest figures read the case log of a period, and counts of a period.
CREATE INDEX case_log_at ON case_log(at);
CREATE INDEX incidents_created ON incidents(created_at);
CREATE INDEX incidents_resolved ON incidents(resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX incidents_closed ON incidents(closed_at) WHERE closed_at IS NOT NULL;
