package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// WriteTable writes results as a Markdown table, in the order given (each
// baseline just above the endpoints it is the baseline for).
func WriteTable(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| endpoint | mean answer | requests | failed | p50 | p90 | p99 | max | req/s | p99 goal |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range results {
		goal := "baseline"
		if r.Endpoint.Goal > 0 {
			goal = "≤ " + millis(r.Endpoint.Goal)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s | %s | %s | %.0f | %s |\n",
			strings.ReplaceAll(r.Endpoint.Name, "|", `\|`), byteSize(r.MeanAnswer()), r.Requests(), r.Failures,
			millis(r.Percentile(50)), millis(r.Percentile(90)), millis(r.Percentile(99)), millis(r.Max()),
			r.Throughput(), goal)
	}
}

// WriteVerdicts writes one line per endpoint that has a goal, and why a
// result cannot count (failed requests) when it cannot.
func WriteVerdicts(w io.Writer, results []Result) {
	for _, r := range results {
		if r.Endpoint.Goal <= 0 {
			continue
		}
		name := strings.TrimSpace(r.Endpoint.Name)
		fmt.Fprintf(w, "- %s: p99 %s, goal ≤ %s: **%s**", name, millis(r.Percentile(99)), millis(r.Endpoint.Goal), metOrMissed(r.MetGoal()))
		if r.Failures > 0 {
			fmt.Fprintf(w, " (%d requests failed; the first: %v)", r.Failures, r.FirstFailure)
		}
		fmt.Fprintln(w)
	}
}

func metOrMissed(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

// millis writes a latency in milliseconds, to the microsecond.
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

// byteSize writes a size in bytes, KiB or MiB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Machine describes where a benchmark ran: cores, memory, Go version.
func Machine() string {
	memory := "unknown memory"
	if total, err := memTotal(); err == nil {
		memory = fmt.Sprintf("%.0f GiB", float64(total)/(1<<30))
	}
	return fmt.Sprintf("%d cores (GOMAXPROCS %d), %s, %s %s/%s",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), memory, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// memTotal is the machine's memory in bytes, from /proc/meminfo.
func memTotal() (uint64, error) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return procField(string(raw), "MemTotal")
}
