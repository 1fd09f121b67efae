package bench

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Memory is how much memory a process holds, in bytes.
type Memory struct {
	// RSS is its resident set size now (VmRSS).
	RSS uint64
	// Peak is the highest resident set size it ever had (VmHWM).
	Peak uint64
}

// ProcessMemory reads the memory of process pid from /proc (Linux only).
func ProcessMemory(pid int) (Memory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	rss, err := procField(string(raw), "VmRSS")
	if err != nil {
		return Memory{}, err
	}
	peak, err := procField(string(raw), "VmHWM")
	if err != nil {
		return Memory{}, err
	}
	return Memory{RSS: rss, Peak: peak}, nil
}

// procField finds "name:   1234 kB" in a /proc file and returns it in bytes.
func procField(content, name string) (uint64, error) {
	for line := range strings.Lines(content) {
		value, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected /proc line %q", strings.TrimSpace(line))
		}
		kib, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc line %q: %w", strings.TrimSpace(line), err)
		}
		return kib * 1024, nil
	}
	return 0, fmt.Errorf("no %s in /proc", name)
}

// MemoryGoal is the most a `tether serve` with 100,000 connections may hold
// resident, in bytes (150 MB).
const MemoryGoal = 150_000_000

// WriteMemoryVerdict writes the memory of serve against MemoryGoal, judged
// by the peak, which is the larger of the two.
func WriteMemoryVerdict(w io.Writer, m Memory) {
	fmt.Fprintf(w, "- `tether serve` memory: RSS %s, peak %s, goal ≤ %s: **%s**\n",
		megabytes(m.RSS), megabytes(m.Peak), megabytes(MemoryGoal), metOrMissed(m.Peak <= MemoryGoal))
}

// megabytes writes a size in MB (10^6 bytes, the unit of the goal) and MiB.
func megabytes(n uint64) string {
	return fmt.Sprintf("%.1f MB (%.1f MiB)", float64(n)/1e6, float64(n)/(1<<20))
}
