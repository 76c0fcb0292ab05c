-- Enrichment: the indicators each incident saw (for "earlier incidents with
-- the same indicator"), lookups waiting or running, every source's answer,
-- and a cache of answers so a repeated indicator costs no second call.
CREATE TABLE incident_indicators (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    type        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    scope       TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    PRIMARY KEY (incident_id, type, value)
);
CREATE INDEX incident_indicators_value ON incident_indicators(value, type);

CREATE TABLE enrich_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    message     TEXT    NOT NULL, -- name of the incident message it fills in
    indicators  TEXT    NOT NULL, -- JSON array of {type, value, scope}
    state       TEXT    NOT NULL DEFAULT 'pending', -- pending, running, done
    lease_until INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER
);
CREATE INDEX enrich_jobs_open ON enrich_jobs(state) WHERE state <> 'done';

CREATE TABLE enrich_results (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES enrich_jobs(id),
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    type        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    result      TEXT    NOT NULL, -- JSON
    at          INTEGER NOT NULL,
    UNIQUE (job_id, type, value, source)
);
CREATE INDEX enrich_results_incident ON enrich_results(incident_id, id);

CREATE TABLE enrich_cache (
    source     TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    result     TEXT    NOT NULL, -- JSON
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (source, type, value)
);
