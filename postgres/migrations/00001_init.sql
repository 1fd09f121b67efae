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
    last_healthy_at   BIGINT,
    last_unhealthy_at BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    installed_at      BIGINT NOT NULL,
    metadata          JSONB NOT NULL,
    account_id        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX connections_integration_status ON connections (integration_name, status, id);
CREATE INDEX connections_status ON connections (status, id);
CREATE INDEX connections_customer ON connections (customer_id, id);
CREATE INDEX connections_state ON connections (state, id);

-- Credentials live apart from connections so that listing connections never
-- reads ciphertexts.
CREATE TABLE credentials (
    connection_id TEXT PRIMARY KEY,
    key_id        TEXT NOT NULL,
    ciphertext    BYTEA NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE connection_errors (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL,
    error_type    TEXT NOT NULL,
    resource      TEXT NOT NULL DEFAULT '', -- '' is "no resource" (JSON null)
    message       TEXT NOT NULL,
    blocking      BOOLEAN NOT NULL,
    resolution    TEXT NOT NULL,
    http_status   INTEGER,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    occurrences   BIGINT NOT NULL
);
CREATE UNIQUE INDEX connection_errors_identity ON connection_errors (connection_id, error_type, resource);
CREATE INDEX connection_errors_type ON connection_errors (error_type, connection_id);

CREATE TABLE resource_states (
    connection_id  TEXT NOT NULL,
    name           TEXT NOT NULL,
    access         TEXT NOT NULL,
    sync_status    TEXT,
    last_synced_at BIGINT,
    records        BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    PRIMARY KEY (connection_id, name)
);

-- The outbox and event feed. seq orders the feed; id is the public id.
CREATE TABLE events (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    connection_id TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    data          JSONB NOT NULL
);
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_connection ON events (connection_id, seq);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hint       TEXT NOT NULL,
    hash       BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- One-time facts about this installation (e.g. that the first API key was
-- issued), claimed with INSERT ... ON CONFLICT DO NOTHING.
CREATE TABLE installation_flags (
    name       TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE installation_flags;
DROP TABLE api_keys;
DROP TABLE events;
DROP TABLE resource_states;
DROP TABLE connection_errors;
DROP TABLE credentials;
DROP TABLE connections;
