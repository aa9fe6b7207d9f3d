package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tend/internal/store"
)

// The real binary: `tend serve` built with go build and run in its own
// process against the generated database, so that its start-up time and
// memory are its own and not the benchmark's.

// server is a running tend serve.
type server struct {
	cmd  *exec.Cmd
	base string
	done chan error
}

func (b *bench) binary(ctx context.Context) (string, error) {
	if b.cfg.tendBinary != "" {
		return b.cfg.tendBinary, nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(b.cfg.data, "tend")
	b.logf("building %s", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tend")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tend: %w\n%s", err, out)
	}
	return bin, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs tend serve and waits until /readyz answers 200; it returns
// the time from starting the process to that answer.
func (b *bench) start(ctx context.Context, bin string) (*server, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	args := []string{"--data", b.cfg.data}
	if b.cfg.engine == "postgres" {
		args = append(args, "--db", b.cfg.pg)
	}
	args = append(args, "serve", "--addr", addr, "--max-upload", strconv.FormatInt(max(b.cfg.uploadSize, 1<<26), 10))
	logFile, err := os.OpenFile(filepath.Join(b.cfg.data, "tend-serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	s := &server{cmd: cmd, base: "http://" + addr, done: make(chan error, 1)}
	poll := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	go func() { s.done <- cmd.Wait() }()
	for time.Since(t0) < time.Minute {
		select {
		case err := <-s.done:
			return nil, 0, fmt.Errorf("tend serve exited before it was ready (%v); see %s", err, logFile.Name())
		case <-ctx.Done():
			s.stop()
			return nil, 0, ctx.Err()
		default:
		}
		resp, err := poll.Get(s.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, time.Since(t0), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	s.stop()
	return nil, 0, errors.New("tend serve was not ready within a minute")
}

// stop ends the server with SIGTERM, as a service manager does.
func (s *server) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		return errors.New("tend serve did not stop within a minute of SIGTERM")
	}
}

// memory reads the process's resident set (VmRSS) and its peak (VmHWM).
func memory(pid int) (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak, sc.Err()
}

func mib(n int64) float64 { return round(float64(n)/(1<<20), 1) }

// measureProcess measures the binary: start-up (median of several), peak
// RSS under a mixed load, idle RSS after it, and the upload.
func (b *bench) measureProcess(ctx context.Context, emit func(result)) error {
	bin, err := b.binary(ctx)
	if err != nil {
		return err
	}
	if b.cfg.want("startup") {
		var runs []time.Duration
		var rssAtReady int64
		waitQuiet(ctx, b.cfg.waitQuiet, 0, b.logf)
		w := watchCPU(0)
		for range max(1, b.cfg.startups) {
			s, took, err := b.start(ctx, bin)
			if err != nil {
				return err
			}
			rssAtReady, _, _ = memory(s.cmd.Process.Pid)
			if err := s.stop(); err != nil {
				return fmt.Errorf("stop tend serve: %w", err)
			}
			runs = append(runs, took)
		}
		slices.Sort(runs)
		ms := make([]float64, len(runs))
		for i, r := range runs {
			ms[i] = round(float64(r)/float64(time.Millisecond), 1)
		}
		emit(result{"op": "startup", "startup_ms": ms[len(ms)/2], "runs_ms": ms, "rss_at_ready_mib": mib(rssAtReady), "other_cpu": w.others(), "steal": w.stolen()})
	}
	if !b.cfg.want("rss") && !b.cfg.want("upload") {
		return nil
	}
	s, _, err := b.start(ctx, bin)
	if err != nil {
		return err
	}
	defer s.stop()
	pid := s.cmd.Process.Pid
	t := newTarget(s.base, b.cfg.concurrency)
	if b.cfg.want("rss") {
		startRSS, _, _ := memory(pid)
		b.logf("mixed load on tend serve (pid %d) for %v", pid, b.cfg.rssLoad)
		waitQuiet(ctx, b.cfg.waitQuiet, pid, b.logf)
		w := watchCPU(pid)
		st, err := load(ctx, t, b.cfg.concurrency, b.cfg.rssLoad, b.cfg.seed+100, b.mixed())
		if err != nil {
			return fmt.Errorf("mixed load: %w", err)
		}
		_, peak, _ := memory(pid)
		t.hc.CloseIdleConnections()
		b.logf("idle for %v", b.cfg.idle)
		select {
		case <-time.After(b.cfg.idle):
		case <-ctx.Done():
			return ctx.Err()
		}
		idle, _, err := memory(pid)
		if err != nil {
			return err
		}
		r := result{"op": "rss", "peak_rss_mib": mib(peak), "idle_rss_mib": mib(idle), "start_rss_mib": mib(startRSS),
			"load_seconds": round(b.cfg.rssLoad.Seconds(), 0), "idle_seconds": round(b.cfg.idle.Seconds(), 0), "load_ops_per_s": round(float64(st.n)/st.took.Seconds(), 1),
			"other_cpu": w.others(), "steal": w.stolen()}
		emit(r)
	}
	if b.cfg.want("upload") {
		if err := b.upload(ctx, t, pid, emit); err != nil {
			return err
		}
	}
	return nil
}

// mixed is the load of a working day: mostly reading pages and queues,
// some registrations and replies, a few searches.
func (b *bench) mixed() op {
	ops := b.ops()
	var table []op
	for _, w := range []struct {
		name   string
		weight int
	}{{"request_page", 30}, {"queue_first", 20}, {"register", 15}, {"comment", 15}, {"customer_list", 10}, {"queue_deep", 5}, {"search", 5}} {
		for range w.weight {
			table = append(table, ops[w.name])
		}
	}
	return func(ctx context.Context, t *target, r *rand.Rand, i int) error {
		return table[r.IntN(len(table))](ctx, t, r, i)
	}
}

// genReader streams n bytes of a fixed random block: a file generated as
// it is sent, never held.
type genReader struct {
	block []byte
	n     int64
	off   int64
}

func newGen(seed uint64, n int64) *genReader {
	block := make([]byte, 1<<20)
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), 't', 'e', 'n', 'd'}))
	for i := 0; i < len(block); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			block[i+j] = byte(v >> (8 * j))
		}
	}
	return &genReader{block: block, n: n}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.off)]
	k := 0
	for k < len(p) {
		pos := (g.off + int64(k)) % int64(len(g.block))
		k += copy(p[k:], g.block[pos:])
	}
	g.off += int64(k)
	return k, nil
}

// diskWrite measures the raw sequential write speed of the disk the files
// go to: n bytes in 64 KiB writes, then fsync, as the file store writes.
func diskWrite(dir string, seed uint64, n int64) (float64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, ".disk-test-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	g := newGen(seed, n)
	buf := make([]byte, 64<<10)
	t0 := time.Now()
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{g}, buf); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return float64(n) / (1 << 20) / time.Since(t0).Seconds(), nil
}

// upload sends one large attachment to tend serve and compares its speed
// with the disk's, watching the server's memory while it runs.
func (b *bench) upload(ctx context.Context, t *target, pid int, emit func(result)) error {
	n := b.cfg.uploadSize
	dir := filepath.Join(b.cfg.data, "files")
	waitQuiet(ctx, b.cfg.waitQuiet, pid, b.logf)
	w := watchCPU(pid)
	b.logf("raw disk write of %d MiB", n>>20)
	disk1, err := diskWrite(dir, b.cfg.seed, n)
	if err != nil {
		return fmt.Errorf("disk write test: %w", err)
	}
	before, _, err := memory(pid)
	if err != nil {
		return err
	}
	var peak int64
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if rss, _, err := memory(pid); err == nil {
					mu.Lock()
					peak = max(peak, rss)
					mu.Unlock()
				}
			}
		}
	})
	id := b.openIDs[0]
	req, err := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/api/v1/requests/%d/attachments?name=bench-upload.bin", t.base, id), newGen(b.cfg.seed+1, n))
	if err != nil {
		return err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+b.tokens.Agent)
	b.logf("uploading %d MiB to tend serve", n>>20)
	t0 := time.Now()
	resp, err := t.hc.Do(req)
	took := time.Since(t0)
	close(stop)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return fmt.Errorf("upload: HTTP %d: %s", resp.StatusCode, body)
	}
	b.logf("raw disk write again")
	disk2, err := diskWrite(dir, b.cfg.seed, n)
	if err != nil {
		return fmt.Errorf("disk write test: %w", err)
	}
	disk := max(disk1, disk2)
	server := float64(n) / (1 << 20) / took.Seconds()
	emit(result{"op": "upload", "bytes": n, "server_mib_s": round(server, 1), "disk_mib_s": round(disk, 1), "disk_runs_mib_s": []float64{round(disk1, 1), round(disk2, 1)},
		"ratio": round(server/disk, 2), "rss_before_mib": mib(before), "rss_growth_mib": mib(max(0, peak-before)), "other_cpu": w.others(), "steal": w.stolen()})
	return nil
}

// dbSize is the database's size on disk.
func dbSize(ctx context.Context, st *store.Store, cfg config) (int64, error) {
	if cfg.engine == "postgres" {
		return st.SizeOnDisk(ctx)
	}
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(filepath.Join(cfg.data, "tend.db"+suffix)); err == nil {
			n += fi.Size()
		}
	}
	return n, nil
}
