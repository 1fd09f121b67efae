-- +goose Up
-- The call log (API.md "Classification"): one row per provider call, written
-- in batches by calllog.Batcher, listed newest first, and kept
-- TETHER_CALL_LOG_RETENTION. It is partitioned by day on started_at so that
-- retention drops whole partitions instead of deleting (and vacuuming)
-- millions of rows. The store creates the daily partitions ahead of time
-- (yesterday to the day after tomorrow, at start and hourly); rows outside
-- them (a reported call with an odd started_at, a long outage) land in the
-- default partition, which retention prunes row by row. Rows are never
-- updated.
CREATE TABLE call_logs (
    id               TEXT NOT NULL,    -- call_...; time-ordered, so newest first is ORDER BY id DESC
    connection_id    TEXT,             -- NULL: credential test of a connection not saved (yet)
    integration_name TEXT NOT NULL,
    source           TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    url              TEXT NOT NULL DEFAULT '',
    resource         TEXT,             -- NULL: the call matches no resource
    status_code      INTEGER,          -- NULL: no answer came
    duration_ms      BIGINT NOT NULL,
    outcome          TEXT NOT NULL,
    signal           TEXT NOT NULL,
    error            TEXT,
    started_at       BIGINT NOT NULL,  -- Unix ms, the partition key
    request_headers  JSONB NOT NULL,   -- redacted
    response_headers JSONB NOT NULL,   -- redacted
    response_body    TEXT,             -- failures only, at most 4 KiB, redacted
    -- A unique key of a partitioned table must contain the partition key.
    PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);
CREATE TABLE call_logs_default PARTITION OF call_logs DEFAULT;
-- Every filter of GET /v1/calls has an index that ends with id, so a filtered
-- page is one index range read backwards from the cursor, however many rows
-- match. Failures are few: a partial index finds them without costing the
-- many successful inserts anything; a success filter walks the primary key.
-- Indexes made here are created on every partition, present and future.
CREATE INDEX call_logs_connection ON call_logs (connection_id, id);
CREATE INDEX call_logs_resource ON call_logs (resource, id);
CREATE INDEX call_logs_status_code ON call_logs (status_code, id);
CREATE INDEX call_logs_source ON call_logs (source, id);
CREATE INDEX call_logs_failures ON call_logs (id) WHERE outcome = 'failure';
-- since/until, and retention in the default partition.
CREATE INDEX call_logs_started_at ON call_logs (started_at);

-- +goose Down
DROP TABLE call_logs;
