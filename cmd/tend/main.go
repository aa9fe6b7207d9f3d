// Command tend runs the support and lifecycle platform: `tend serve` for
// production, `tend demo` to look around, and admin commands beside them.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
)

// Globals are the settings every command shares.
type Globals struct {
	DB        string `help:"PostgreSQL URL (postgres://…); empty for SQLite in --data." env:"TEND_DB" placeholder:"URL"`
	Data      string `help:"Folder for the SQLite database and files." env:"TEND_DATA" default:"./tend-data" type:"path"`
	LogLevel  string `help:"Log level: debug, info, warn, error." env:"TEND_LOG_LEVEL" default:"info" enum:"debug,info,warn,error"`
	LogFormat string `help:"Log format: text or json." env:"TEND_LOG_FORMAT" default:"text" enum:"text,json"`
}

// CLI is the whole command line.
type CLI struct {
	Globals

	Serve    ServeCmd    `cmd:"" help:"Run the server."`
	Demo     DemoCmd     `cmd:"" help:"Run the server with a demo vendor loaded."`
	Migrate  MigrateCmd  `cmd:"" help:"Bring the database schema up to date and exit."`
	User     UserCmd     `cmd:"" help:"Add accounts and reset passwords."`
	Calendar CalendarCmd `cmd:"" help:"Show and import the production calendar."`
	SLA      SLACmd      `cmd:"" name:"sla" help:"Working-time arithmetic on the production calendar."`
	Version  VersionCmd  `cmd:"" help:"Print the version."`
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type VersionCmd struct{}

func (VersionCmd) Run(g *Globals, out io.Writer) error {
	_, err := fmt.Fprintln(out, "tend", version)
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tend:", err)
		os.Exit(1)
	}
}

// run is main without the process: tests call it with their own args,
// streams and context.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("tend"),
		kong.Description("tend: requests, SLA clocks, releases and rollouts for a software vendor."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		// --help and --version end the command here, not the process:
		// run returns instead of going on to start a server.
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
	)
	if err != nil {
		return err
	}
	var kctx *kong.Context
	exited, err := catchExit(func() error {
		var perr error
		kctx, perr = parser.Parse(args)
		return perr
	})
	if exited || err != nil {
		return err
	}
	if kctx.Command() == "" {
		return nil
	}
	log := newLogger(stderr, cli.LogLevel, cli.LogFormat)
	kctx.Bind(&cli.Globals, log)
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.BindTo(stdin, (*io.Reader)(nil))
	kctx.BindTo(stdout, (*io.Writer)(nil))
	return kctx.Run()
}

// exitRequest is how kong's Exit reaches run.
type exitRequest int

func catchExit(fn func() error) (exited bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			code, ok := v.(exitRequest)
			if !ok {
				panic(v)
			}
			exited = true
			if code != 0 {
				err = fmt.Errorf("exit status %d", int(code))
			}
		}
	}()
	return false, fn()
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(obsHandler(h))
}
