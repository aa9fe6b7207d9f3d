package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The machine may be shared: every measurement reports how much of the
// CPU other processes used while it ran (other_cpu, a share of all
// cores), and -wait-quiet holds each measurement back until the others
// have been quiet for a second.

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// cpuNow reads the machine's busy time and this process's (with the tend
// server's, when pid is not 0), in ticks.
func cpuNow(pid int) (busy, own int64, ok bool) {
	busy, own, _, ok = cpuSteal(pid)
	return busy, own, ok
}

// cpuSteal is cpuNow with the time the hypervisor gave to other machines.
func cpuSteal(pid int) (busy, own, steal int64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0, false
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i == 7 {
			steal = n
		}
		if i >= 7 { // steal, guest: not ours to count
			break
		}
		busy += n
	}
	own = procTicks(os.Getpid())
	if pid != 0 {
		own += procTicks(pid)
	}
	if countPostgres {
		own += postgresTicks()
	}
	return busy, own, steal, true
}

// countPostgres counts the PostgreSQL server's processes as the
// benchmark's own: they are part of what is measured (-engine postgres).
var countPostgres bool

// postgresTicks is the CPU time of the processes named postgres.
func postgresTicks() int64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(b)) != "postgres" {
			continue
		}
		n += procTicks(pid)
	}
	return n
}

func procTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0
	}
	var n int64
	for _, k := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
		v, _ := strconv.ParseInt(f[k], 10, 64)
		n += v
	}
	return n
}

// cpuWatch measures the others' share of the CPU between start and stop.
type cpuWatch struct {
	pid              int
	busy, own, steal int64
	at               time.Time
	ok               bool
}

func watchCPU(pid int) cpuWatch {
	busy, own, steal, ok := cpuSteal(pid)
	return cpuWatch{pid: pid, busy: busy, own: own, steal: steal, at: time.Now(), ok: ok}
}

// stolen is the share (0–1) of all cores the hypervisor gave to other
// machines since w.
func (w cpuWatch) stolen() float64 {
	_, _, steal, ok := cpuSteal(w.pid)
	secs := time.Since(w.at).Seconds()
	if !ok || !w.ok || secs <= 0 {
		return 0
	}
	return round(float64(steal-w.steal)/clockTicks/(secs*float64(runtime.NumCPU())), 2)
}

// ownMs is the CPU time this process (and the server) used since w, in
// milliseconds.
func (w cpuWatch) ownMs() float64 {
	_, own, ok := cpuNow(w.pid)
	if !ok || !w.ok {
		return 0
	}
	return float64(own-w.own) * 1000 / clockTicks
}

// others is the share (0–1) of all cores used by other processes since w.
func (w cpuWatch) others() float64 {
	busy, own, ok := cpuNow(w.pid)
	secs := time.Since(w.at).Seconds()
	if !ok || !w.ok || secs <= 0 {
		return 0
	}
	other := float64((busy-w.busy)-(own-w.own)) / clockTicks
	return max(0, round(other/(secs*float64(runtime.NumCPU())), 2))
}

// waitQuiet waits, up to limit, for a second in which other processes
// used less than a tenth of the machine.
func waitQuiet(ctx context.Context, limit time.Duration, pid int, logf func(string, ...any)) {
	if limit <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	said := false
	for time.Now().Before(deadline) {
		w := watchCPU(pid)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if o := w.others(); o < 0.1 {
			return
		} else if !said {
			logf("  waiting for the machine to be quiet (others use %.0f%%)", 100*o)
			said = true
		}
	}
	logf("  the machine stayed busy; measuring anyway")
}
