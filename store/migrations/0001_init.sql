-- Incidents: the human id is INC-<id>. AUTOINCREMENT so an id is never reused.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    commander       TEXT    NOT NULL DEFAULT '',
    created_by      TEXT    NOT NULL,
    private         INTEGER NOT NULL DEFAULT 0,
    summary         TEXT    NOT NULL DEFAULT '',
    alert_count     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL, -- unix nanoseconds, UTC
    updated_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    contained_at    INTEGER,
    resolved_at     INTEGER,
    closed_at       INTEGER
);
CREATE INDEX incidents_status ON incidents(status, id);

-- Rooms: the chat channel of an incident on one platform.
CREATE TABLE rooms (
    platform    TEXT    NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    channel_id  TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    url         TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (platform, incident_id)
);
CREATE UNIQUE INDEX rooms_channel ON rooms(platform, channel_id);

-- Messages the bot posted and may edit later, by a stable key.
CREATE TABLE messages (
    platform    TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    channel_id  TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (platform, key)
);

-- The case log: append-only, hash-chained over the whole table.
CREATE TABLE case_log (
    seq         INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX case_log_incident ON case_log(incident_id, seq);

CREATE TRIGGER case_log_no_update BEFORE UPDATE ON case_log
BEGIN
    SELECT RAISE(ABORT, 'case_log is append-only');
END;
CREATE TRIGGER case_log_no_delete BEFORE DELETE ON case_log
BEGIN
    SELECT RAISE(ABORT, 'case_log is append-only');
END;

-- The outbox: chat calls waiting to be made. Rows of one lane are delivered in id order.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    platform    TEXT    NOT NULL,
    lane        TEXT    NOT NULL,
    op          TEXT    NOT NULL,
    incident_id INTEGER REFERENCES incidents(id),
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending', -- pending, done, dead
    attempts    INTEGER NOT NULL DEFAULT 0,
    inflight    INTEGER NOT NULL DEFAULT 0,          -- a call was started and not yet settled
    next_at     INTEGER NOT NULL,
    last_error  TEXT    NOT NULL DEFAULT '',
    result      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    done_at     INTEGER
);
CREATE INDEX outbox_pending ON outbox(lane, id) WHERE state = 'pending';
