package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tend/internal/blob"
	"tend/internal/jobs"
	"tend/internal/mail"
	"tend/internal/store"
)

// MailFlags configure the e-mail channel of `tend serve` (issue 6).
// Mailboxes can also be added by admins through the API; those given here
// are written to the database at start (named "config: user@host/folder").
type MailFlags struct {
	SMTPAddr    string   `name:"smtp-addr" help:"Take mail over SMTP on this address (host:port) for the support domain; off when empty." env:"TEND_SMTP_ADDR" placeholder:"HOST:PORT"`
	SMTPTLSCert string   `name:"smtp-tls-cert" help:"PEM certificate (with its chain) the SMTP listener offers STARTTLS with; read again when it changes." env:"TEND_SMTP_TLS_CERT" type:"path" placeholder:"FILE"`
	SMTPTLSKey  string   `name:"smtp-tls-key" help:"PEM private key of --smtp-tls-cert." env:"TEND_SMTP_TLS_KEY" type:"path" placeholder:"FILE"`
	MailAddress string   `name:"mail-address" help:"The support address: notices come from it and replies go back to it (support@vendor.example)." env:"TEND_MAIL_ADDRESS" placeholder:"ADDRESS"`
	MailDomains []string `name:"mail-domain" help:"Domains the SMTP listener takes mail for (default: the domain of --mail-address)." env:"TEND_MAIL_DOMAIN" sep:"," placeholder:"DOMAIN"`
	IMAP        []string `name:"imap" help:"A support mailbox to read: imaps://user:password@host[:993]/INBOX, imap+starttls://… or imap://… (plain); repeatable." env:"TEND_IMAP" sep:" " placeholder:"URL"`
	SMTPRelay   string   `name:"smtp-relay" help:"Send notices through this relay: smtp+starttls://user:password@host:587, smtps://…:465, smtp://host:25; notices wait when empty." env:"TEND_SMTP_RELAY" placeholder:"URL"`
	MailSecret  string   `name:"mail-secret" help:"Key that signs reply-to addresses (default: made once and kept in the database, sealed with the secret key)." env:"TEND_MAIL_SECRET"`
	MailMaxSize int64    `name:"mail-max-size" help:"Largest message taken, in bytes." env:"TEND_MAIL_MAX_SIZE" default:"104857600"`
	MailRate    int      `name:"mail-rate" help:"Messages one sender may send in an hour; more are recorded and left alone (0: no limit)." env:"TEND_MAIL_RATE" default:"30"`
}

// parseIMAP reads a mailbox URL.
func parseIMAP(s string) (store.Mailbox, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return store.Mailbox{}, fmt.Errorf("--imap %q: give a URL such as imaps://user:password@imap.example.com/INBOX", redact(s))
	}
	m := store.Mailbox{Host: u.Hostname(), PollSeconds: 60, Folder: strings.TrimPrefix(u.Path, "/")}
	switch u.Scheme {
	case "imaps":
		m.Security = "tls"
	case "imap+starttls":
		m.Security = "starttls"
	case "imap":
		m.Security = "plain"
	default:
		return store.Mailbox{}, fmt.Errorf("--imap %q: the scheme must be imaps, imap+starttls or imap", redact(s))
	}
	if p := u.Port(); p != "" {
		if m.Port, err = strconv.Atoi(p); err != nil {
			return store.Mailbox{}, fmt.Errorf("--imap %q: bad port", redact(s))
		}
	}
	if u.User == nil || u.User.Username() == "" {
		return store.Mailbox{}, fmt.Errorf("--imap %q: say who signs in: imaps://user:password@host/", redact(s))
	}
	m.Username = u.User.Username()
	m.Password, _ = u.User.Password()
	if m.Folder == "" {
		m.Folder = "INBOX"
	}
	if v := u.Query().Get("poll"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return store.Mailbox{}, fmt.Errorf("--imap %q: poll=%s is not a duration such as 60s", redact(s), v)
		}
		m.PollSeconds = int(d.Seconds())
	}
	m.Name = "config: " + m.Username + "@" + m.Host + "/" + m.Folder
	return m, nil
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return s
}

// startMail starts what the flags ask for: the IMAP poller (always: admins
// may add mailboxes while tend runs), the SMTP listener and the notice
// sender. Everything stops when ctx ends.
func (f MailFlags) startMail(ctx context.Context, st *store.Store, files blob.Store, bg *jobs.Runner, log *slog.Logger, baseURL string, maxUpload int64) error {
	boxes := make([]store.Mailbox, 0, len(f.IMAP))
	for _, s := range f.IMAP {
		if strings.TrimSpace(s) == "" {
			continue
		}
		m, err := parseIMAP(s)
		if err != nil {
			return err
		}
		boxes = append(boxes, m)
	}
	var relay mail.Relay
	if f.SMTPRelay != "" {
		var err error
		if relay, err = mail.ParseRelay(f.SMTPRelay); err != nil {
			return fmt.Errorf("--smtp-relay: %w", err)
		}
		if f.MailAddress == "" {
			return fmt.Errorf("--smtp-relay needs --mail-address, the address notices come from")
		}
	}
	if f.SMTPAddr != "" && f.MailAddress == "" && len(f.MailDomains) == 0 {
		return fmt.Errorf("--smtp-addr needs --mail-address or --mail-domain: the listener takes mail for the support domain only")
	}
	var cert *mail.CertificateFiles
	switch {
	case (f.SMTPTLSCert == "") != (f.SMTPTLSKey == ""):
		return fmt.Errorf("--smtp-tls-cert and --smtp-tls-key go together: give both, or neither")
	case f.SMTPTLSCert != "" && f.SMTPAddr == "":
		return fmt.Errorf("--smtp-tls-cert is for the SMTP listener: give --smtp-addr too")
	case f.SMTPTLSCert != "":
		var err error
		if cert, err = mail.LoadCertificate(f.SMTPTLSCert, f.SMTPTLSKey); err != nil {
			return fmt.Errorf("--smtp-tls-cert: %w", err)
		}
	}
	for _, m := range boxes {
		if _, err := st.EnsureMailbox(ctx, m); err != nil {
			return fmt.Errorf("--imap %s: %w", m.Name, err)
		}
	}
	limits := store.MailLimits{PerSender: f.MailRate, Window: time.Hour}
	rc, err := mail.NewReceiver(ctx, st, files, log, mail.Config{Address: f.MailAddress, Domains: f.MailDomains, Secret: []byte(f.MailSecret),
		MaxMessage: f.MailMaxSize, MaxFile: maxUpload, Limits: limits})
	if err != nil {
		return err
	}
	poller := mail.NewPoller(st, rc, log)
	bg.Go(ctx, poller.Run)

	if f.SMTPAddr != "" {
		ln, err := net.Listen("tcp", f.SMTPAddr)
		if err != nil {
			return fmt.Errorf("--smtp-addr: listen on %s: %w", f.SMTPAddr, err)
		}
		host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(baseURL, "https://"), "http://"), "/")
		host, _, _ = strings.Cut(host, ":")
		srv := mail.NewSMTPServer(rc, host, log)
		if cert != nil {
			srv.OfferSTARTTLS(cert.TLSConfig())
		}
		bg.Go(ctx, func(ctx context.Context) {
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				if err != nil {
					log.Error("mail: the SMTP listener stopped", "err", err)
				}
				return
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			// Shutdown closes only the listeners Serve has taken: if it
			// ran before Serve began, Serve would accept forever.
			ln.Close()
			<-done
		})
		log.Info("mail: taking mail over SMTP", "addr", ln.Addr().String(), "domains", strings.Join(domainsOf(f), ","), "starttls", cert != nil)
	}
	if f.SMTPRelay != "" {
		sender, err := mail.NewSender(ctx, st, log, mail.SenderConfig{Relay: relay, From: f.MailAddress, BaseURL: baseURL}, []byte(f.MailSecret))
		if err != nil {
			return err
		}
		bg.Every(ctx, "mail notices", 15*time.Second, func(ctx context.Context) error {
			rep, err := sender.Sweep(ctx)
			if rep != (mail.SweepReport{}) {
				log.Info("mail: notices", "sent", rep.Sent, "retried", rep.Retried, "failed", rep.Failed)
			}
			return err
		})
		log.Info("mail: sending notices", "relay", redact(f.SMTPRelay), "from", f.MailAddress)
	}
	return nil
}

func domainsOf(f MailFlags) []string {
	if len(f.MailDomains) > 0 {
		return f.MailDomains
	}
	return []string{mail.Domain(f.MailAddress)}
}
