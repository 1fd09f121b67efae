-- +goose Up
-- The current run of transient failures of each connection (health engine):
-- a system_error opens once the run is long enough, a success resets it.
ALTER TABLE connections ADD COLUMN transient_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN transient_since BIGINT;
ALTER TABLE connections ADD COLUMN transient_resource TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections DROP COLUMN transient_resource;
ALTER TABLE connections DROP COLUMN transient_since;
ALTER TABLE connections DROP COLUMN transient_count;
