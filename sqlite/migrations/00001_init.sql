-- +goose Up
-- Times are Unix milliseconds (the API's precision) in both dialects, so the
-- shared queries in internal/sqlstore scan them the same way.
CREATE TABLE connections (
    id                TEXT PRIMARY KEY,
    integration_name  TEXT NOT NULL,
    customer_id       TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    state             TEXT NOT NULL,
    status            TEXT NOT NULL,
    last_healthy_at   INTEGER,
    last_unhealthy_at INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    installed_at      INTEGER NOT NULL,
    metadata          BLOB NOT NULL,
    account_id        TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX connections_integration_status ON connections (integration_name, status, id);
CREATE INDEX connections_status ON connections (status, id);
CREATE INDEX connections_customer ON connections (customer_id, id);
CREATE INDEX connections_state ON connections (state, id);

-- Credentials live apart from connections so that listing connections never
-- reads ciphertexts.
CREATE TABLE credentials (
    connection_id TEXT PRIMARY KEY,
    key_id        TEXT NOT NULL,
    ciphertext    BLOB NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE connection_errors (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL,
    error_type    TEXT NOT NULL,
    resource      TEXT NOT NULL DEFAULT '', -- '' is "no resource" (JSON null)
    message       TEXT NOT NULL,
    blocking      INTEGER NOT NULL,
    resolution    TEXT NOT NULL,
    http_status   INTEGER,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    occurrences   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX connection_errors_identity ON connection_errors (connection_id, error_type, resource);
CREATE INDEX connection_errors_type ON connection_errors (error_type, connection_id);

CREATE TABLE resource_states (
    connection_id  TEXT NOT NULL,
    name           TEXT NOT NULL,
    access         TEXT NOT NULL,
    sync_status    TEXT,
    last_synced_at INTEGER,
    records        INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    PRIMARY KEY (connection_id, name)
) STRICT;

-- The outbox and event feed. seq orders the feed; id is the public id.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    connection_id TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    data          BLOB NOT NULL
) STRICT;
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_connection ON events (connection_id, seq);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hint       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

-- One-time facts about this installation (e.g. that the first API key was
-- issued), claimed with INSERT ... ON CONFLICT DO NOTHING.
CREATE TABLE installation_flags (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE installation_flags;
DROP TABLE api_keys;
DROP TABLE events;
DROP TABLE resource_states;
DROP TABLE connection_errors;
DROP TABLE credentials;
DROP TABLE connections;
