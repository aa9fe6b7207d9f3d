package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// PprofFlags let a staff admin profile a running server: net/http/pprof
// on a separate address that only this machine can reach (an SSH tunnel
// brings it to the admin), never on the public port.
type PprofFlags struct {
	PprofAddr string `name:"pprof-addr" help:"Serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060 (off when empty)." env:"TEND_PPROF_ADDR" placeholder:"HOST:PORT"`
}

// checkLoopback refuses an address other machines could reach.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof-addr %q: profiles reveal the server's internals, so they are served only on a loopback address (127.0.0.1, ::1 or localhost)", addr)
	}
	return nil
}

// start serves the profiles when an address is set; stop ends that.
func (f PprofFlags) start(log *slog.Logger) (stop func(), err error) {
	if f.PprofAddr == "" {
		return func() {}, nil
	}
	if err := checkLoopback(f.PprofAddr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: listen on %s: %w", f.PprofAddr, err)
	}
	// A listener that resolved "localhost" to something else is refused too.
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("--pprof-addr %q is not a loopback address", f.PprofAddr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("profiles served (net/http/pprof)", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}, nil
}
