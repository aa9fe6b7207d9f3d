// Command bench measures tend at the size of a vendor years into business:
// it generates a realistic, deterministic dataset (a million requests by
// default) through the store's bulk path, starts the real HTTP server on
// loopback and measures the hot operations, then runs the real `tend serve`
// binary against the same database for start-up time, memory and a 1 GiB
// upload. It ends by printing one JSON line per measurement.
//
//	go run ./bench -engine sqlite -data /var/tmp/tend-bench
//	go run ./bench -engine postgres -pg 'postgres://postgres@127.0.0.1:5432/tend_bench?sslmode=disable'
//
// See bench/RESULTS.md for the figures and README.md for the flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"tend/internal/api"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/calendar"
	"tend/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	engine      string
	pg          string
	requests    int
	concurrency int
	seed        uint64
	data        string
	reuse       bool
	duration    time.Duration
	ops         []string
	cpuProfile  string
	memProfile  string
	uploadSize  int64
	rssLoad     time.Duration
	idle        time.Duration
	startups    int
	tendBinary  string
	progress    bool
	waitQuiet   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.engine, "engine", "sqlite", "sqlite or postgres")
	fs.StringVar(&c.pg, "pg", "postgres://postgres@127.0.0.1:5432/tend_bench?sslmode=disable", "PostgreSQL database for -engine postgres (empty, or with -reuse the dataset of an earlier run)")
	fs.IntVar(&c.requests, "requests", 1_000_000, "requests in the dataset (customers and contacts scale with it up to 1000 and 10000)")
	fs.IntVar(&c.concurrency, "concurrency", 8, "concurrent HTTP clients")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the dataset")
	fs.StringVar(&c.data, "data", "", "folder for the SQLite database, files and the tend binary (default: a temporary folder, removed at the end)")
	fs.BoolVar(&c.reuse, "reuse", false, "measure the dataset already in -data / -pg instead of generating one")
	fs.DurationVar(&c.duration, "duration", 15*time.Second, "how long each HTTP measurement runs")
	ops := fs.String("ops", strings.Join(allOps, ","), "measurements to run")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the in-process measurements to this file")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a heap profile after the in-process measurements to this file")
	fs.Int64Var(&c.uploadSize, "upload-size", 1<<30, "bytes of the attachment upload")
	fs.DurationVar(&c.rssLoad, "rss-load", 20*time.Second, "how long the mixed load against the tend binary runs (peak RSS)")
	fs.DurationVar(&c.idle, "idle", 30*time.Second, "how long the tend binary idles after the load before its idle RSS is read")
	fs.IntVar(&c.startups, "startups", 3, "start-up runs of the tend binary (the median is reported)")
	fs.StringVar(&c.tendBinary, "tend", "", "the tend binary to run (default: go build ./cmd/tend)")
	fs.BoolVar(&c.progress, "progress", true, "show a progress bar while generating")
	fs.DurationVar(&c.waitQuiet, "wait-quiet", 0, "before each measurement, wait up to this long for other processes to leave the CPU idle")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.engine != "sqlite" && c.engine != "postgres" {
		return c, fmt.Errorf("-engine must be sqlite or postgres, not %q", c.engine)
	}
	if c.requests < 100 {
		return c, errors.New("-requests must be at least 100")
	}
	if c.concurrency < 1 {
		return c, errors.New("-concurrency must be at least 1")
	}
	for _, op := range strings.Split(*ops, ",") {
		op = strings.TrimSpace(op)
		if op == "" {
			continue
		}
		if !slices.Contains(allOps, op) {
			return c, fmt.Errorf("unknown measurement %q; known: %s", op, strings.Join(allOps, ", "))
		}
		c.ops = append(c.ops, op)
	}
	return c, nil
}

// allOps are the measurements in the order they run.
// Registration comes after the reads: the requests it adds (thousands)
// would otherwise crowd the queues the reads measure.
var allOps = []string{"queue_first", "queue_deep", "customer_list", "request_page", "search", "search_customer", "comment", "recompute_clocks", "register", "startup", "rss", "upload"}

func (c config) want(op string) bool { return slices.Contains(c.ops, op) }

// result is one JSON line of the output.
type result map[string]any

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	if cfg.data == "" {
		dir, err := os.MkdirTemp("", "tend-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.data = dir
	}
	if cfg.data, err = filepath.Abs(cfg.data); err != nil {
		return err
	}
	var results []result
	emit := func(r result) {
		r["engine"], r["requests"] = cfg.engine, cfg.requests
		results = append(results, r)
		b, _ := json.Marshal(r)
		logf("  %s", b)
	}
	defer func() {
		for _, r := range results {
			b, _ := json.Marshal(orderedResult(r))
			fmt.Fprintln(stdout, string(b))
		}
	}()

	logf("tend bench: %s, %d requests, %d cores, data in %s", cfg.engine, cfg.requests, runtime.NumCPU(), cfg.data)
	countPostgres = cfg.engine == "postgres"
	quiet := slog.New(slog.DiscardHandler)
	opts := store.Options{DataDir: cfg.data, Log: quiet}
	if cfg.engine == "postgres" {
		opts.DSN = cfg.pg
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	cal := calendar.New(st, quiet)
	if err := cal.Load(ctx); err != nil {
		return err
	}
	st.UseCalendar(cal.Current)

	// The dataset.
	var ds *dataset
	existing, err := st.ListRequests(ctx, auth.System, store.RequestFilter{Limit: 1})
	if err != nil {
		return err
	}
	switch {
	case cfg.reuse && len(existing.Items) == 0:
		return errors.New("-reuse: the database holds no dataset; run once without -reuse")
	case cfg.reuse:
		logf("reusing the dataset in the database")
		if ds, err = loadDataset(ctx, st, cfg); err != nil {
			return err
		}
	case len(existing.Items) > 0:
		return errors.New("the database is not empty: give an empty -data folder or PostgreSQL database, or -reuse to measure the dataset in it")
	default:
		if ds, err = generate(ctx, st, cfg, emit, stderr); err != nil {
			return err
		}
	}
	if size, err := dbSize(ctx, st, cfg); err == nil {
		emit(result{"op": "db_size", "bytes": size, "mib": round(float64(size)/(1<<20), 1)})
	} else {
		logf("database size: %v", err)
	}

	// The real server in this process.
	files, err := blob.NewDisk(filepath.Join(cfg.data, "files"))
	if err != nil {
		return err
	}
	// The server logs every request as tend serve does, into the void.
	srvLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.New(api.DefaultConfig(), st, srvLog, cal.Current, api.WithCalendarImport(cal), api.WithBlobs(files))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(nil), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go hs.Serve(ln)
	base := "http://" + ln.Addr().String()
	logf("server on %s", base)

	// Registrations stage their search terms and tend serve moves them
	// into the index every store.SearchFlushInterval: so does the harness,
	// from the start (a reused dataset may hold an earlier run's).
	if _, err := st.FlushSearchIndex(ctx); err != nil {
		hs.Close()
		return err
	}
	flushCtx, cancelFlush := context.WithCancel(ctx)
	flushDone := make(chan struct{})
	stopFlush := sync.OnceFunc(func() { cancelFlush(); <-flushDone })
	defer stopFlush()
	go func() {
		defer close(flushDone)
		tick := time.NewTicker(store.SearchFlushInterval)
		defer tick.Stop()
		for {
			select {
			case <-flushCtx.Done():
				return
			case <-tick.C:
				st.FlushSearchIndex(flushCtx)
			}
		}
	}()
	b := newBench(cfg, ds, st, cal.Current, base, logf)
	if err := b.prepare(ctx); err != nil {
		hs.Close()
		return err
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		logf("CPU profile to %s", cfg.cpuProfile)
	}
	err = b.measureAll(ctx, emit)
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if cfg.memProfile != "" {
		runtime.GC()
		if f, ferr := os.Create(cfg.memProfile); ferr == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	hs.Shutdown(sctx)
	cancel()
	stopFlush()
	if err != nil {
		return err
	}
	st.Close()
	st = nil

	// The real binary, in its own process.
	if cfg.want("startup") || cfg.want("rss") || cfg.want("upload") {
		if err := b.measureProcess(ctx, emit); err != nil {
			return err
		}
	}
	return nil
}

// generate fills the database: the vendor, then the requests in batches,
// generated on one core while the previous batch is written on the other.
func generate(ctx context.Context, st *store.Store, cfg config, emit func(result), stderr io.Writer) (*dataset, error) {
	started := time.Now()
	w := watchCPU(0)
	ds := newDataset(cfg.seed, cfg.requests, time.Now().Truncate(time.Minute))
	bulk, err := st.NewBulk(ctx)
	if err != nil {
		return nil, err
	}
	if err := ds.setup(ctx, st, bulk); err != nil {
		return nil, fmt.Errorf("generate the vendor: %w", err)
	}
	setupTook := time.Since(started)
	fmt.Fprintf(stderr, "vendor set up in %v: %d customers, %d contacts\n", setupTook.Round(time.Millisecond), len(ds.customers), ds.contacts())

	bar := progressbar.NewOptions(cfg.requests, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("generating requests"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("req"), progressbar.OptionThrottle(time.Second),
		progressbar.OptionSetVisibility(cfg.progress), progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(30))
	type batch struct {
		rs []store.BulkRequest
	}
	batches := make(chan batch, 2)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		for from := 0; from < cfg.requests; from += batchSize {
			rs := ds.batch(from, min(from+batchSize, cfg.requests))
			select {
			case batches <- batch{rs}:
			case <-gctx.Done():
				return
			}
		}
	}()
	loadStart := time.Now()
	rowsBefore := bulk.Rows
	for bt := range batches {
		if err := bulk.Requests(ctx, bt.rs); err != nil {
			return nil, err
		}
		bar.Add(len(bt.rs))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bar.Finish()
	fmt.Fprintln(stderr)
	if err := bulk.Finish(ctx); err != nil {
		return nil, err
	}
	took := time.Since(loadStart)
	emit(result{"op": "generate", "rows": bulk.Rows, "seconds": round(time.Since(started).Seconds(), 1),
		"setup_seconds": round(setupTook.Seconds(), 1), "load_seconds": round(took.Seconds(), 1),
		"requests_per_s": round(float64(cfg.requests)/took.Seconds(), 0), "rows_per_s": round(float64(bulk.Rows-rowsBefore)/took.Seconds(), 0),
		"other_cpu": w.others(), "steal": w.stolen()})
	return ds, nil
}

func (d *dataset) contacts() int {
	n := 0
	for _, c := range d.customers {
		n += len(c.contacts)
	}
	return n
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// orderedResult puts op, engine and requests first for readers of the
// JSON lines; encoding/json sorts map keys, so the line is built by hand.
func orderedResult(r result) json.RawMessage {
	keys := make([]string, 0, len(r))
	for k := range r {
		if k != "op" && k != "engine" && k != "requests" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	keys = append([]string{"op", "engine", "requests"}, keys...)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(r[k])
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}
