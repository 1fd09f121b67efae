-- +goose Up
-- PostgreSQL's migration 00005 leaves room on the pages of connections for
-- in-place updates of the health columns; SQLite has no such setting, and
-- rewrites a row in place anyway.
SELECT 1;

-- +goose Down
SELECT 1;
