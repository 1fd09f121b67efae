package catalog

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a definition file, located by line so that an
// operator can jump straight to it.
type Problem struct {
	File   string
	Line   int // 1-based; 0 when the problem is about the whole file
	Reason string
}

// Error renders the problem as FILE:LINE: reason, the shape editors and
// terminals turn into links.
func (p Problem) Error() string {
	if p.Line <= 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
}

// ValidationError carries every problem found, so that one run of
// `tether providers validate` shows them all instead of one per attempt.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// validationError returns nil when there is nothing to report, so callers can
// return its result directly without the typed-nil-in-an-interface trap.
func validationError(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: problems}
}
