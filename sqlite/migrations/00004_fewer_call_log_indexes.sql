-- +goose Up
-- Every call-log insert paid for six indexes; these three served only the
-- rarer filters of GET /v1/calls (resource, status_code, source alone), which
-- now walk the id order (newest first) and stop at the page's end. Writing the
-- log is the hot path: about a third of PostgreSQL's insert time went here.
DROP INDEX call_logs_resource;
DROP INDEX call_logs_status_code;
DROP INDEX call_logs_source;

-- +goose Down
CREATE INDEX call_logs_resource ON call_logs (resource, id);
CREATE INDEX call_logs_status_code ON call_logs (status_code, id);
CREATE INDEX call_logs_source ON call_logs (source, id);
