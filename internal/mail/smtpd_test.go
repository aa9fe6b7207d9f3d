package mail_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/mail"
	"tend/internal/store"
)

// needTool finds a Debian tool a test drives: skipped locally when it is
// not installed, a failure in CI (.ci/run installs it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		// Daemons live in sbin, which a user's PATH may lack.
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; CI must have it (.ci/run installs it)", name)
		}
		t.Skipf("%s is not installed (apt-get install %s)", name, name)
	}
	return path
}

// startSMTP runs tend's SMTP listener on a free loopback port.
func startSMTP(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mail.NewSMTPServer(e.rc, "tend.test", quiet)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// Debian's swaks sends real messages over SMTP to tend's listener.
func TestSMTPListenerWithSwaks(t *testing.T) {
	swaks := needTool(t, "swaks")
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, mail.Config{})
			addr := startSMTP(t, e)
			host, port, _ := net.SplitHostPort(addr)
			run := func(args ...string) (string, error) {
				cmd := exec.Command(swaks, append([]string{"--server", host, "--port", port, "--helo", "client.test", "--timeout", "30"}, args...)...)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}

			// A contact of alfa's writes in Russian with a log attached.
			logFile := filepath.Join(t.TempDir(), "журнал.log")
			os.WriteFile(logFile, []byte("2026-03-02 10:00:00 ERROR gateway: connection refused\n"), 0o644)
			out, err := run("--from", "operator@alfa.example", "--to", "support@vendor.example",
				"--header", "Subject: =?UTF-8?B?"+b64("Не работает шлюз")+"?=",
				"--header", "Message-ID: <swaks-1@alfa.example>",
				"--body", "Шлюз перестал отвечать после перезагрузки.",
				"--attach-type", "text/plain", "--attach-name", "gateway.log", "--attach", "@"+logFile)
			if err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			if !strings.Contains(out, "250 2.0.0 OK: request REQ-") {
				t.Errorf("the reply to DATA should carry the registration number:\n%s", out)
			}
			all, err := e.app.Store.ListMail(e.ctx, auth.System, store.MailFilter{Page: store.Page{Limit: 10}})
			if err != nil || len(all.Items) != 1 {
				t.Fatalf("messages: %+v %v", all, err)
			}
			rec := all.Items[0]
			if rec.Outcome != store.MailRequest || rec.Source != "smtp" || rec.From != "operator@alfa.example" || !rec.HasOriginal {
				t.Errorf("record %+v", rec)
			}
			v := e.view(rec.RequestID)
			if v.Subject != "Не работает шлюз" || !strings.Contains(v.Description, "Шлюз перестал отвечать") {
				t.Errorf("request %q / %q", v.Subject, v.Description)
			}
			if len(v.Attachments) != 1 || v.Attachments[0].Name != "gateway.log" || !strings.HasPrefix(v.Attachments[0].ContentType, "text/plain") {
				t.Errorf("attachments %+v", v.Attachments)
			}

			// Mail for another domain is refused: tend is no relay.
			out, err = run("--from", "x@alfa.example", "--to", "victim@elsewhere.example")
			if err == nil || !strings.Contains(out, "550 5.7.1") {
				t.Errorf("relaying was not refused (err %v):\n%s", err, out)
			}
			// A bounce (MAIL FROM:<>) is recorded and ignored.
			out, err = run("--from", "", "--to", "support@vendor.example", "--header", "Subject: Undelivered Mail Returned to Sender",
				"--header", "Message-ID: <bounce-1@mx.example>", "--body", "The message could not be delivered.")
			if err != nil {
				t.Fatalf("swaks bounce: %v\n%s", err, out)
			}
			ignored, _ := e.app.Store.ListMail(e.ctx, auth.System, store.MailFilter{Outcome: store.MailIgnored})
			if ignored.Total != 1 {
				t.Errorf("bounce: %+v", ignored)
			}
		})
	}
}
