-- Playbook runs, their steps and their approvals.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    playbook    TEXT    NOT NULL,
    digest      TEXT    NOT NULL,          -- of the playbook file the run started with
    trigger     TEXT    NOT NULL,          -- command, alert, button
    started_by  TEXT    NOT NULL,          -- actor id, or system
    inputs      TEXT    NOT NULL,          -- JSON
    alert       TEXT    NOT NULL DEFAULT '{}', -- JSON of the alert that started it
    status      TEXT    NOT NULL,          -- queued, running, waiting, succeeded, failed, denied
    error       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX runs_incident ON runs(incident_id, id);
CREATE INDEX runs_active ON runs(status) WHERE status IN ('queued', 'running');

CREATE TABLE run_steps (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    step        TEXT    NOT NULL,          -- step id ("approve", "steps[2]", "on_failure[0]")
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    inputs      TEXT    NOT NULL DEFAULT '{}', -- rendered with:, redacted
    outputs     TEXT    NOT NULL DEFAULT '{}',
    error       TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (run_id, step)
);

CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs(id),
    step         TEXT    NOT NULL,
    token        TEXT    NOT NULL UNIQUE, -- carried by the buttons; dies with the decision
    roles        TEXT    NOT NULL,        -- JSON list; widened on escalation
    required     INTEGER NOT NULL,
    votes        TEXT    NOT NULL DEFAULT '[]', -- JSON list of approving actors
    requested_by TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    deadline     INTEGER NOT NULL,
    escalate_at  INTEGER,
    escalated    INTEGER NOT NULL DEFAULT 0,
    decision     TEXT    NOT NULL DEFAULT '', -- approve, deny; empty while pending
    decided_by   TEXT    NOT NULL DEFAULT '',
    decided_at   INTEGER
);
CREATE INDEX approvals_pending ON approvals(deadline) WHERE decision = '';
