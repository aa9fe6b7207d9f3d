package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"tend/internal/api"
	"tend/internal/blob"
	"tend/internal/calendar"
	"tend/internal/demo"
	"tend/internal/idle"
	"tend/internal/jobs"
	"tend/internal/obs"
	"tend/internal/sla"
	"tend/internal/store"
	"tend/internal/web"
)

// calendarPoll is how often a server checks whether another replica has
// imported a production calendar.
const calendarPoll = 30 * time.Second

func obsHandler(h slog.Handler) slog.Handler { return obs.Handler{Handler: h} }

// ServeCmd runs the server until SIGTERM or SIGINT.
type ServeCmd struct {
	Addr            string        `help:"Address to listen on." env:"TEND_ADDR" default:"127.0.0.1:8080"`
	BaseURL         string        `help:"The address people use to reach tend (https://… behind a proxy); sets Secure cookies when https." env:"TEND_BASE_URL" placeholder:"URL"`
	MaxBody         int64         `help:"Largest JSON body accepted, in bytes." env:"TEND_MAX_BODY" default:"1048576"`
	MaxUpload       int64         `help:"Largest attachment accepted, in bytes." env:"TEND_MAX_UPLOAD" default:"67108864"`
	ShutdownTimeout time.Duration `help:"How long to let requests in flight finish on shutdown." env:"TEND_SHUTDOWN_TIMEOUT" default:"30s"`

	RemindAfter          time.Duration `help:"Remind a customer who has not answered a question or a proposal after this long." env:"TEND_REMIND_AFTER" default:"48h"`
	CloseUnansweredAfter time.Duration `help:"Close a request whose question stays unanswered this long." env:"TEND_CLOSE_UNANSWERED_AFTER" default:"336h"`
	AutoCloseAfter       time.Duration `help:"Close a resolved request the customer neither confirms nor reopens after this long." env:"TEND_AUTO_CLOSE_AFTER" default:"120h"`

	Mail    MailFlags   `embed:"" group:"E-mail"`  // mail.go
	Secrets SecretFlags `embed:"" group:"Secrets"` // secret.go
	Pprof   PprofFlags  `embed:""`                 // pprof.go
}

func (c *ServeCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	return c.serve(ctx, g, log, out, false)
}

// DemoCmd is serve with the demo vendor loaded.
type DemoCmd struct {
	ServeCmd
}

func (c *DemoCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	return c.serve(ctx, g, log, out, true)
}

// openStore opens and migrates the database named by the globals.
func openStore(ctx context.Context, g *Globals, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{DSN: g.DB, DataDir: g.Data, Log: log})
	if err != nil {
		return nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, m := range applied {
		log.Info("migration applied", "file", m)
	}
	return st, nil
}

func (c *ServeCmd) serve(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer, withDemo bool) error {
	started := time.Now()
	stopPprof, err := c.Pprof.start(log)
	if err != nil {
		return err
	}
	defer stopPprof()
	st, err := openStore(ctx, g, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := c.Secrets.useSecretKey(ctx, st, g.Data, log); err != nil {
		return err
	}
	cal := calendar.New(st, log)
	if err := cal.Load(ctx); err != nil {
		return fmt.Errorf("load the production calendar: %w", err)
	}
	st.UseCalendar(cal.Current)
	// A new calendar moves due instants: recompute the running clocks in the
	// background rather than inside the import request.
	var recompute atomic.Bool
	cal.OnChange = func(*sla.Calendar) { recompute.Store(true) }

	cfg := api.DefaultConfig()
	cfg.MaxBody = c.MaxBody
	cfg.MaxUpload = c.MaxUpload
	cfg.SecureCookies = strings.HasPrefix(c.BaseURL, "https://")
	files, err := blob.NewDisk(filepath.Join(g.Data, "files"))
	if err != nil {
		return err
	}
	if withDemo {
		loaded, err := demo.Load(ctx, st, files, time.Now())
		if err != nil {
			return err
		}
		if loaded {
			log.Info("demo data loaded")
		}
	}
	srv := api.New(cfg, st, log, cal.Current, api.WithCalendarImport(cal), api.WithBlobs(files))
	pages, err := web.New(web.Deps{Store: st, Auth: srv, Calendar: cal.Current, Log: log, Blobs: files, MaxUpload: c.MaxUpload, CalendarImport: cal})
	if err != nil {
		return fmt.Errorf("web pages: %w", err)
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	url := c.BaseURL
	if url == "" {
		url = "http://" + ln.Addr().String()
	}
	var quiet idle.Tracker
	hs := &http.Server{
		Handler:           quiet.Wrap(srv.Handler(pages.Handler())),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("tend is up", "url", url, "engine", st.Engine(), "started_in", time.Since(started).Round(time.Millisecond))
	printWelcome(out, url, withDemo)

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	background := jobs.New(log)
	background.Go(bg, func(ctx context.Context) { cal.Watch(ctx, calendarPoll) })
	background.Every(bg, "session sweep", 10*time.Minute, func(ctx context.Context) error {
		_, err := st.DeleteExpiredSessions(ctx)
		return err
	})
	timers := store.TimerConfig{RemindAfter: c.RemindAfter, CloseUnansweredAfter: c.CloseUnansweredAfter, AutoCloseAfter: c.AutoCloseAfter}
	background.Every(bg, "desk timers", time.Minute, func(ctx context.Context) error {
		rep, err := st.SweepRequestTimers(ctx, timers)
		if rep != (store.TimerReport{}) {
			log.Info("desk timers fired", "reminded", rep.Reminded, "closed_unanswered", rep.ClosedUnanswered, "auto_closed", rep.AutoClosed)
		}
		return err
	})
	background.Every(bg, "sla clocks", 30*time.Second, func(ctx context.Context) error {
		if recompute.Swap(false) {
			n, err := st.RecomputeClocks(ctx, 0)
			if err != nil {
				recompute.Store(true)
				return err
			}
			log.Info("sla clocks recomputed after a calendar change", "requests", n)
		}
		rep, err := st.SweepClocks(ctx)
		if rep != (store.ClockReport{}) {
			log.Info("sla clocks noted", "at_risk", rep.AtRisk, "breached", rep.Breached)
		}
		return err
	})
	background.Go(bg, func(ctx context.Context) { indexSearchBacklog(ctx, st, log) })
	// Ten seconds without a request: give back what the burst left.
	background.Go(bg, func(ctx context.Context) { quiet.Release(ctx, 10*time.Second, st.ReleaseMemory) })
	// Registrations stage their search terms; this moves them into the
	// index in batches (a no-op on PostgreSQL). Searches read the staged
	// terms too, so the interval only sets how much FTS5 merges at once:
	// every second it took 5–10% of SQLite's registration rate, every ten
	// seconds next to nothing (issue 7, bench/RESULTS.md).
	background.Every(bg, "search index", store.SearchFlushInterval, func(ctx context.Context) error {
		_, err := st.FlushSearchIndex(ctx)
		return err
	})
	if err := c.Mail.startMail(bg, st, files, background, log, url, c.MaxUpload); err != nil {
		stopBG()
		background.Wait()
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		stopBG()
		background.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	stopBG()
	background.Wait()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: requests still running after %s", c.ShutdownTimeout)
	}
	log.Info("stopped")
	return nil
}

// indexSearchBacklog indexes for search the requests registered before the
// search index existed (a database from an older tend), beside serving
// rather than before it: a million requests take about a minute, and
// start-up stays as quick as ever. It returns when none is left; on
// failure it tries again a minute later.
func indexSearchBacklog(ctx context.Context, st *store.Store, log *slog.Logger) {
	for {
		started := time.Now()
		// The pause lets other writers in between batches on SQLite.
		n, err := st.DrainSearchBacklog(ctx, 20*time.Millisecond)
		if n > 0 {
			log.Info("requests indexed for search", "requests", n, "took", time.Since(started).Round(time.Millisecond))
		}
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Warn("indexing requests for search failed; trying again in a minute", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}

func printWelcome(out io.Writer, url string, withDemo bool) {
	fmt.Fprintf(out, "\ntend is running at %s\n", url)
	fmt.Fprintf(out, "API: %s/api/v1 (OpenAPI document at %s/api/v1/openapi.json)\n", url, url)
	if withDemo {
		fmt.Fprintf(out, "\nDemo logins (password %q for all):\n", demo.Password)
		for _, l := range demo.Logins {
			fmt.Fprintf(out, "  %-26s %s\n", l.Login, l.Who)
		}
		fmt.Fprintf(out, "\nTry: curl -s %s/api/v1/auth/login -d '{\"login\":\"agent@vendor.example\",\"password\":\"demo\"}'\n", url)
	}
	fmt.Fprintln(out, "\nStop with Ctrl+C.")
}

// MigrateCmd brings the schema up to date.
type MigrateCmd struct{}

func (MigrateCmd) Run(ctx context.Context, g *Globals, log *slog.Logger, out io.Writer) error {
	st, err := store.Open(ctx, store.Options{DSN: g.DB, DataDir: g.Data, Log: log})
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(out, "the schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(out, "applied", m)
	}
	// The requests an older tend registered, indexed for search here
	// rather than by the first tend serve.
	n, err := st.DrainSearchBacklog(ctx, 0)
	if n > 0 {
		fmt.Fprintf(out, "indexed %d requests for search\n", n)
	}
	return err
}
