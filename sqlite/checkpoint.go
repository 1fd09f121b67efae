package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// In WAL mode every commit appends the pages it changed to the WAL file, and
// a checkpoint copies them back into the database file (with an fsync). By
// default the connection whose commit pushes the WAL past 1,000 pages runs
// the checkpoint itself: here that is the single writer, so every few
// call-log batches one commit took 40-60 ms longer and held every other
// write behind it (docs/performance.md). Instead a checkpointer of its own,
// on its own connection, runs passive checkpoints in the background, which
// SQLite lets proceed beside the writer; the writer checkpoints only if the
// WAL still grows past writerCheckpointPages (the checkpointer stopped or
// cannot keep up).
//
// Under a sustained stream of batches the checkpointer does fall behind for
// good: the WAL starts over from its beginning only when a write transaction
// begins with every frame copied, and the writer begins the next batch as
// soon as one commits. The WAL then grows until the writer checkpoints it;
// the larger writerCheckpointPages, the rarer that stall (with its fsyncs)
// and the fewer copies of the same hot pages it writes.
const (
	// checkpointInterval is how often the checkpointer looks at the WAL: a
	// passive checkpoint with nothing to copy costs a few microseconds.
	checkpointInterval = 100 * time.Millisecond
	// writerCheckpointPages is the writer's wal_autocheckpoint (about 200 MB
	// of 4 KiB pages): the safety net, not the normal path. At 10,000 pages
	// the writer spent a ninth of a backlog of reported calls checkpointing
	// (docs/performance.md).
	writerCheckpointPages = 50_000
	// walSizeLimit is the size the WAL file is cut back to when it starts
	// over having grown beyond it (journal_size_limit): a reader holding an
	// old snapshot can keep it from starting over past writerCheckpointPages.
	// Below it the file keeps the size a burst gave it until the store closes
	// (which deletes it): a 64 MB limit cost an ftruncate of about 150 MB each
	// time the WAL started over, 4 % of the writer's time under a backlog.
	walSizeLimit = 256 << 20
)

// checkpointer runs passive WAL checkpoints on its own connection until
// stopped.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// startCheckpointer opens a connection to the database at path and starts
// checkpointing its WAL every interval.
func startCheckpointer(path string, interval time.Duration) (*checkpointer, error) {
	db, err := openDB(path, roleCheckpointer)
	if err != nil {
		return nil, fmt.Errorf("open checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: stop, done: make(chan struct{})}
	go c.run(ctx, interval)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context, interval time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// A failed checkpoint (a reader holding old pages, the disk)
			// leaves the pages in the WAL for the next one; nothing is lost.
			_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Close stops the checkpointer and closes its connection.
func (c *checkpointer) Close() error {
	var err error
	c.once.Do(func() {
		c.stop()
		<-c.done
		err = c.db.Close()
	})
	return err
}
