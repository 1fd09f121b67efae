package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	tether "github.com/tetherhq/tether"
)

// On a database in this process the call log's INSERTs run without the
// batch context's cancellation (see eachInsertChunk); on a server they keep
// it. Either way the batch stops at the next statement once that context
// ends: a writer that is closed or timed out may not go on.
func TestInsertsStopOnceTheBatchContextEnds(t *testing.T) {
	for _, inProcess := range []bool{true, false} {
		t.Run(fmt.Sprintf("in_process=%v", inProcess), func(t *testing.T) {
			s := &Store{dialect: Dialect{Name: "test", InProcess: inProcess, Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) }}}
			calls := make([]*tether.Call, 3*callsPerInsert)
			for i := range calls {
				calls[i] = &tether.Call{ID: fmt.Sprintf("call_%d", i)}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			statements := 0
			err := s.eachInsertChunk(ctx, calls, "INSERT", "", func(statementCtx context.Context, _ string, _ []any) error {
				statements++
				if cancellable := statementCtx.Done() != nil; cancellable == inProcess {
					t.Errorf("the statement's context can end: %v, want %v", cancellable, !inProcess)
				}
				cancel()
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if statements != 1 {
				t.Errorf("%d statements ran, want 1: the inserts went on after the context ended", statements)
			}
		})
	}
}
