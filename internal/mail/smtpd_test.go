package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	smtpclient "net/smtp"
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

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Written beside and renamed, as certbot replaces a certificate.
	for f, b := range map[string][]byte{certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyFile: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})} {
		if err := os.WriteFile(f+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f+".new", f); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// swaks --tls against the listener with a certificate made for the test:
// STARTTLS is offered, the message arrives over TLS; without a
// certificate STARTTLS is not offered; a renewed certificate is used
// without a restart.
func TestSMTPListenerSTARTTLSWithSwaks(t *testing.T) {
	swaks := needTool(t, "swaks")
	e := newEnv(t, apptest.Engines(t)[0], mail.Config{}) // TLS is the same on either
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir, "first.tend.test")
	cert, err := mail.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	withTLS := startSMTPWith(t, e, cert.TLSConfig())
	plain := startSMTP(t, e)
	run := func(addr string, args ...string) (string, error) {
		host, port, _ := net.SplitHostPort(addr)
		out, err := exec.Command(swaks, append([]string{"--server", host, "--port", port, "--helo", "client.test", "--timeout", "30",
			"--from", "admin@gamma.example", "--to", "support@vendor.example"}, args...)...).CombinedOutput()
		return string(out), err
	}

	out, err := run(withTLS, "--tls", "--header", "Subject: Over TLS", "--header", "Message-ID: <tls-1@gamma.example>", "--body", "Sent over STARTTLS.")
	if err != nil {
		t.Fatalf("swaks --tls: %v\n%s", err, out)
	}
	if !strings.Contains(out, "STARTTLS") || !strings.Contains(out, "TLS started") || !strings.Contains(out, "250 2.0.0 OK: request REQ-") {
		t.Errorf("no request over TLS:\n%s", out)
	}
	if e.countMail(store.MailRequest) != 1 {
		t.Errorf("requests: %d", e.countMail(store.MailRequest))
	}
	if out, err := run(plain, "--tls"); err == nil || !strings.Contains(out, "STARTTLS") {
		t.Errorf("a listener without a certificate went along with --tls (err %v):\n%s", err, out)
	}

	// The certificate is renewed on disk: the next session gets the new one.
	peer := func() string {
		c, err := smtpclient.Dial(withTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
		st, _ := c.TLSConnectionState()
		return st.PeerCertificates[0].Subject.CommonName
	}
	if got := peer(); got != "first.tend.test" {
		t.Errorf("certificate %q", got)
	}
	later := time.Now().Add(time.Minute)
	selfSigned(t, dir, "renewed.tend.test")
	os.Chtimes(certFile, later, later) // a renewal within the same second still counts
	if got := peer(); got != "renewed.tend.test" {
		t.Errorf("after renewal: certificate %q", got)
	}
}

// startSMTPWith runs the listener with STARTTLS offered.
func startSMTPWith(t *testing.T, e *env, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mail.NewSMTPServer(e.rc, "tend.test", quiet)
	srv.OfferSTARTTLS(cfg)
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
