-- +goose Up
-- Every call-log batch rewrites the health columns of the connections it
-- touches (a success moves last_healthy_at). None of those columns is
-- indexed, so PostgreSQL can write the new row version on the same page
-- without new index entries (a HOT update), if the page has room; at the
-- default fillfactor of 100 it has none, and each such update added an entry
-- to all five indexes of connections. Pages written from now on keep 30 %
-- free; rows on older pages move to such pages as they are updated (or at
-- once with VACUUM FULL connections). See docs/performance.md.
ALTER TABLE connections SET (fillfactor = 70);

-- +goose Down
ALTER TABLE connections RESET (fillfactor);
