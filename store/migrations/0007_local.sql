-- The built-in local platform: the web room's channels and the messages the
-- bot posted there, each message kept as the neutral bot.Message in JSON.
CREATE TABLE local_rooms (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL DEFAULT 0, -- 0 for a room that belongs to no incident
    name        TEXT    NOT NULL UNIQUE,
    topic       TEXT    NOT NULL DEFAULT '{}', -- JSON bot.Topic
    members     TEXT    NOT NULL DEFAULT '[]', -- JSON list of invited user names
    archived    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX local_rooms_incident ON local_rooms(incident_id, id);

CREATE TABLE local_messages (
    id          INTEGER PRIMARY KEY,
    room_id     INTEGER NOT NULL REFERENCES local_rooms(id),
    tag         TEXT    NOT NULL DEFAULT '', -- the dispatcher's outbox tag: a retried post finds its first attempt
    body        TEXT    NOT NULL,            -- JSON bot.Message
    pinned      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX local_messages_room ON local_messages(room_id, id);
CREATE UNIQUE INDEX local_messages_tag ON local_messages(room_id, tag) WHERE tag != '';

-- Web room accounts that warroom made itself (the first-start admin), so
-- that they survive restarts. Accounts from the config file are not stored.
CREATE TABLE local_accounts (
    name          TEXT    PRIMARY KEY,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
