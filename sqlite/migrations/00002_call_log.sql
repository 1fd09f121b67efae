-- +goose Up
-- The call log (API.md "Classification"): one row per provider call, written
-- in batches by calllog.Batcher, listed newest first, pruned by age in
-- bounded batches of rows (calllog.Retention). Rows are never updated.
CREATE TABLE call_logs (
    id               TEXT PRIMARY KEY, -- call_...; time-ordered, so newest first is ORDER BY id DESC
    connection_id    TEXT,             -- NULL: credential test of a connection not saved (yet)
    integration_name TEXT NOT NULL,
    source           TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    url              TEXT NOT NULL DEFAULT '',
    resource         TEXT,             -- NULL: the call matches no resource
    status_code      INTEGER,          -- NULL: no answer came
    duration_ms      INTEGER NOT NULL,
    outcome          TEXT NOT NULL,
    signal           TEXT NOT NULL,
    error            TEXT,
    started_at       INTEGER NOT NULL,
    request_headers  BLOB NOT NULL,    -- JSON object, redacted
    response_headers BLOB NOT NULL,    -- JSON object, redacted
    response_body    TEXT              -- failures only, at most 4 KiB, redacted
) STRICT;
-- Every filter of GET /v1/calls has an index that ends with id, so a filtered
-- page is one index range read backwards from the cursor, however many rows
-- match. Failures are few: a partial index finds them without costing the
-- many successful inserts anything; a success filter walks the primary key.
CREATE INDEX call_logs_connection ON call_logs (connection_id, id);
CREATE INDEX call_logs_resource ON call_logs (resource, id);
CREATE INDEX call_logs_status_code ON call_logs (status_code, id);
CREATE INDEX call_logs_source ON call_logs (source, id);
CREATE INDEX call_logs_failures ON call_logs (id) WHERE outcome = 'failure';
-- since/until, and retention, which deletes the oldest rows.
CREATE INDEX call_logs_started_at ON call_logs (started_at);

-- +goose Down
DROP TABLE call_logs;
