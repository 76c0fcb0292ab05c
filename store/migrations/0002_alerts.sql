-- Alert intake: alerts fold into incidents by fingerprint and group key.
ALTER TABLE incidents ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN last_alert_at INTEGER;
CREATE INDEX incidents_group ON incidents(group_key, id) WHERE group_key != '' AND status != 'closed';

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    source      TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    group_key   TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,           -- firing, resolved
    title       TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    labels      TEXT    NOT NULL DEFAULT '{}',
    observables TEXT    NOT NULL DEFAULT '[]',
    url         TEXT    NOT NULL DEFAULT '',
    raw         TEXT    NOT NULL DEFAULT '',
    count       INTEGER NOT NULL DEFAULT 1, -- times received
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE UNIQUE INDEX alerts_fingerprint ON alerts(fingerprint, incident_id);
CREATE INDEX alerts_incident ON alerts(incident_id, id);

-- Per room: the alert count the room was last told about, when, and whether
-- a notice is queued. Rooms hear at most one "N more alerts" per minute.
CREATE TABLE alert_notices (
    platform    TEXT    NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    noticed     INTEGER NOT NULL DEFAULT 0,
    notice_at   INTEGER,
    pending     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, incident_id)
);
