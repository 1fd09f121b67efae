package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// CPUMeter tells who used the machine's CPU while a benchmark ran: this
// process (server and load generator), the database server's processes,
// and everything else. On a machine shared with other work, "everything
// else" is what makes one run slower than the next, so the report shows it.
type CPUMeter struct {
	database string // process name of the database server, e.g. "postgres"
	servers  []int  // pids of the servers measured, when they are not this process
	start    time.Time
	before   cpuTimes
}

// CPUUse is the CPU each party used, in cores on average over the run.
type CPUUse struct {
	Self, Database, Servers, Others float64
	DatabaseName                    string
	// ServersApart says that the servers measured ran as processes of their
	// own (Servers), not in this one.
	ServersApart bool
}

// cpuTimes are CPU times in clock ticks; database has one entry per process
// of the database server, by processKey.
type cpuTimes struct {
	machine, self, servers int64
	database               map[string]int64
}

// StartCPUMeter starts measuring. database names the database server's
// processes ("postgres"), or is empty for an embedded database; servers are
// the pids of the servers measured when they run as processes of their own.
func StartCPUMeter(database string, servers ...int) (*CPUMeter, error) {
	m := &CPUMeter{database: database, servers: servers, start: time.Now()}
	var err error
	m.before, err = m.read()
	return m, err
}

// Stop returns the CPU used since the meter started.
func (m *CPUMeter) Stop() (CPUUse, error) {
	after, err := m.read()
	if err != nil {
		return CPUUse{}, err
	}
	wall := time.Since(m.start).Seconds() * clockTicks
	cores := func(before, after int64) float64 { return float64(after-before) / wall }
	self := cores(m.before.self, after.self)
	database := cores(0, cpuSince(m.before.database, after.database))
	servers := cores(m.before.servers, after.servers)
	machine := cores(m.before.machine, after.machine)
	return CPUUse{Self: self, Database: database, Servers: servers, Others: max(0, machine-self-database-servers),
		DatabaseName: m.database, ServersApart: len(m.servers) > 0}, nil
}

func (m *CPUMeter) read() (cpuTimes, error) {
	var t cpuTimes
	var err error
	if t.machine, err = machineBusy(); err != nil {
		return t, err
	}
	if t.self, err = ownCPU("/proc/self/stat"); err != nil {
		return t, err
	}
	if m.database != "" {
		t.database = processesCPU(m.database)
	}
	for _, pid := range m.servers {
		ticks, err := ownCPU(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return t, err
		}
		t.servers += ticks
	}
	return t, nil
}

// machineBusy is the CPU time all processes used, from /proc/stat: user,
// nice and system time. Interrupt time is left out: the kernel charges it to
// no process, and much of it is this benchmark's own loopback traffic.
func machineBusy() (int64, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read machine CPU time: %w", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 4 || fields[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var busy int64
	for _, f := range fields[1:4] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
		}
		busy += n
	}
	return busy, nil
}

// processesCPU returns the CPU time of each running process named name, by
// processKey.
func processesCPU(name string) map[string]int64 {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	byProcess := make(map[string]int64)
	for _, stat := range stats {
		if p, err := readProcessStat(stat); err == nil && p.comm == name {
			byProcess[p.key] = p.ticks
		}
	}
	return byProcess
}

// cpuSince is the CPU time the processes of after used since before: all of
// it for a process that started meanwhile. A process that ended meanwhile is
// missed (its time shows as everything else's), never subtracted: the
// database server's backends come and go as its clients connect.
func cpuSince(before, after map[string]int64) int64 {
	var total int64
	for key, ticks := range after {
		total += ticks - before[key]
	}
	return total
}

// processStat is what the meter reads of a process's /proc/PID/stat.
type processStat struct {
	ticks int64  // user and system CPU time
	comm  string // the process's name
	key   string // pid and start time: a pid used again is another process
}

// ownCPU reads the CPU time of the process of statPath.
func ownCPU(statPath string) (int64, error) {
	p, err := readProcessStat(statPath)
	return p.ticks, err
}

// readProcessStat reads the user and system CPU time, the name and the
// identity of a process from its /proc/PID/stat.
func readProcessStat(statPath string) (processStat, error) {
	raw, err := os.ReadFile(statPath)
	if err != nil {
		return processStat{}, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces, so split at the last ')'.
	open, end := strings.IndexByte(string(raw), '('), strings.LastIndexByte(string(raw), ')')
	if open < 0 || end < open {
		return processStat{}, fmt.Errorf("unexpected %s", statPath)
	}
	// From state on: utime and stime are the 12th and 13th, starttime the 20th.
	fields := strings.Fields(string(raw[end+1:]))
	if len(fields) < 20 {
		return processStat{}, fmt.Errorf("unexpected %s", statPath)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return processStat{}, fmt.Errorf("unexpected %s", statPath)
	}
	pid := strings.TrimSpace(string(raw[:open]))
	return processStat{ticks: utime + stime, comm: string(raw[open+1 : end]), key: pid + "@" + fields[19]}, nil
}

// String says who used the CPU, in cores on average.
func (u CPUUse) String() string {
	s := fmt.Sprintf("this process (server and load generator) %.2f", u.Self)
	if u.ServersApart {
		s = fmt.Sprintf("Tether, the bare reverse proxy and the TCP relay %.2f, this process (upstream and load generator) %.2f", u.Servers, u.Self)
	}
	if u.DatabaseName != "" {
		s += fmt.Sprintf(", %s %.2f", u.DatabaseName, u.Database)
	}
	return s + fmt.Sprintf(", other processes %.2f", u.Others)
}
