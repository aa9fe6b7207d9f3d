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
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/mail"
	"tend/internal/store"
)

// dovecot is a real Dovecot IMAP server on loopback, started with its own
// configuration in a temp folder: passwd-file sign-in, Maildir, free ports,
// STARTTLS and implicit TLS with a certificate made for the test.
type dovecot struct {
	imapPort, imapsPort int
	user, password      string
	roots               *x509.CertPool
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startDovecot(t *testing.T) *dovecot {
	t.Helper()
	bin := needTool(t, "dovecot")
	dir, err := os.MkdirTemp("", "dc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	d := &dovecot{imapPort: freePort(t), imapsPort: freePort(t), user: "support", password: "s3cret-pass"}

	// A certificate for 127.0.0.1, trusted by the test's TLS config.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	d.roots = x509.NewCertPool()
	d.roots.AddCert(cert)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)

	// Mail belongs to an unprivileged user: nobody when the test runs as
	// root, else the user running it.
	uid, gid, extra := 65534, 65534, ""
	if os.Geteuid() != 0 {
		uid, gid = os.Getuid(), os.Getgid()
		u, _ := user.Current()
		extra = fmt.Sprintf("default_internal_user = %s\ndefault_login_user = %s\n", u.Username, u.Username)
	}
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0o755)
	os.Chown(home, uid, gid)
	os.WriteFile(filepath.Join(dir, "passwd"), []byte(fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s\n", d.user, d.password, uid, gid, home)), 0o644)
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/passwd
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[3]d
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
%[4]s`, dir, d.imapPort, d.imapsPort, extra)
	cfg := filepath.Join(dir, "dovecot.conf")
	os.WriteFile(cfg, []byte(conf), 0o644)
	cmd := exec.Command(bin, "-F", "-c", cfg)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(d.imapPort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not start: %v\n%s\n%s", err, out, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// appendMessage puts a message into the INBOX over IMAP, as an MTA's
// delivery would.
func (d *dovecot) appendMessage(t *testing.T, raw []byte) {
	t.Helper()
	c, err := imapclient.DialInsecure("127.0.0.1:"+strconv.Itoa(d.imapPort), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(d.user, d.password).Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append: %v", err)
	}
	c.Logout().Wait()
}

// seenCount is how many messages of the INBOX are \Seen.
func (d *dovecot) seenCount(t *testing.T) int {
	t.Helper()
	c, err := imapclient.DialInsecure("127.0.0.1:"+strconv.Itoa(d.imapPort), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Login(d.user, d.password).Wait()
	c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	data, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return len(data.AllUIDs())
}

func (d *dovecot) mailbox(name, security string) store.Mailbox {
	port := d.imapPort
	if security == "tls" {
		port = d.imapsPort
	}
	return store.Mailbox{Name: name, Host: "127.0.0.1", Port: port, Security: security, Username: d.user, Password: d.password, Folder: "INBOX", PollSeconds: 5}
}

func (e *env) addMailbox(m store.Mailbox) store.Mailbox {
	e.t.Helper()
	admin := e.account("admin@vendor.example")
	out, err := e.app.Store.CreateMailbox(e.ctx, admin.Principal(), m)
	if err != nil {
		e.t.Fatal(err)
	}
	out.Password = m.Password
	return out
}

func (e *env) countMail(outcome string) int {
	e.t.Helper()
	l, err := e.app.Store.ListMail(e.ctx, auth.System, store.MailFilter{Outcome: outcome, Direction: "in"})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Total
}

// waitFor polls the database until cond holds; the deadline only stops a
// hung test, it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIMAPWithDovecot(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			d := startDovecot(t)
			e := newEnv(t, engine, mail.Config{})
			poller := mail.NewPoller(e.app.Store, e.rc, quiet)
			poller.TLSConfig = &tls.Config{RootCAs: d.roots}

			d.appendMessage(t, msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: IMAP one", "Message-ID: <imap1@beta.example>"}, "First by IMAP."))
			d.appendMessage(t, msg([]string{"From: stranger@nowhere.example", "To: support@vendor.example", "Subject: IMAP two", "Message-ID: <imap2@nowhere.example>"}, "Second."))
			d.appendMessage(t, msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: Out of office", "Auto-Submitted: auto-replied"}, "Away."))

			// Each security mode against the real server: plain, STARTTLS, TLS.
			for i, sec := range []string{"plain", "starttls", "tls"} {
				box := e.addMailbox(d.mailbox("support "+sec, sec))
				n, err := poller.PollOnce(e.ctx, box)
				if err != nil {
					t.Fatalf("%s: %v", sec, err)
				}
				want := 0
				if i == 0 {
					want = 3
				}
				// Every mailbox reads all three (each has its own position),
				// but only the first takes them: the rest are duplicates.
				if n != 3 {
					t.Errorf("%s: delivered %d, want 3", sec, n)
				}
				_ = want
				uv, last, _ := e.app.Store.MailboxPosition(e.ctx, box.ID)
				if uv == 0 || last != 3 {
					t.Errorf("%s: position %d/%d", sec, uv, last)
				}
				if n, _ := poller.PollOnce(e.ctx, box); n != 0 {
					t.Errorf("%s: second poll delivered %d", sec, n)
				}
			}
			if got := e.countMail(store.MailRequest) + e.countMail(store.MailTriage); got != 2 {
				t.Errorf("requests from mail: %d, want 2", got)
			}
			if got := e.countMail(store.MailIgnored); got != 1 {
				t.Errorf("ignored: %d", got)
			}
			if got := d.seenCount(t); got != 3 {
				t.Errorf("messages marked seen: %d", got)
			}

			// Two pollers on one fresh mailbox at once (two replicas): each
			// message is still taken once.
			for k := 4; k <= 8; k++ {
				d.appendMessage(t, msg([]string{"From: admin@beta.example", "To: support@vendor.example", fmt.Sprintf("Subject: race %d", k), fmt.Sprintf("Message-ID: <race%d@beta.example>", k)}, "race"))
			}
			box := e.addMailbox(d.mailbox("replica", "plain"))
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					if _, err := poller.PollOnce(e.ctx, box); err != nil {
						t.Errorf("replica poll: %v", err)
					}
				})
			}
			wg.Wait()
			if got := e.countMail(store.MailRequest); got != 1+5 {
				t.Errorf("requests after two replicas: %d, want 6", got)
			}

			// IDLE: the watcher hears of new mail without polling.
			for _, mode := range []string{"idle", "poll"} {
				ctx, cancel := context.WithCancel(e.ctx)
				e.app.Clock.Advance(time.Second)
				start := e.app.Clock.Now()
				w := mail.NewPoller(e.app.Store, e.rc, quiet)
				w.Reload = time.Hour
				w.NoIdle = mode == "poll"
				w.TLSConfig = poller.TLSConfig
				done := make(chan struct{})
				go func() { w.Run(ctx); close(done) }()
				// Let the watcher catch up (nothing new), then add a message.
				waitFor(t, "the watcher's first pass", func() bool {
					m, _ := e.app.Store.MailboxesToRead(e.ctx)
					for _, b := range m {
						if b.LastPolledAt == nil || b.LastPolledAt.Before(start) || b.LastError != "" {
							return false
						}
					}
					return true
				})
				before := e.countMail(store.MailRequest)
				d.appendMessage(t, msg([]string{"From: admin@beta.example", "To: support@vendor.example", "Subject: " + mode, "Message-ID: <" + mode + "@beta.example>"}, mode))
				waitFor(t, "the message to become a request ("+mode+")", func() bool { return e.countMail(store.MailRequest) == before+1 })
				cancel()
				<-done
			}
		})
	}
}
