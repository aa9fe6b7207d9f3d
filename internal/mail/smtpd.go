package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"tend/internal/apperr"
)

// SMTPServer takes mail directly, for vendors whose MTA forwards the
// support domain to tend (--smtp-addr): mail to any address of a support
// domain is taken; anything else is refused, so tend is never a relay.
type SMTPServer struct {
	srv *smtp.Server
	rc  *Receiver
	log *slog.Logger
}

// NewSMTPServer makes the listener; hostname is how it greets.
func NewSMTPServer(rc *Receiver, hostname string, log *slog.Logger) *SMTPServer {
	if log == nil {
		log = slog.Default()
	}
	s := &SMTPServer{rc: rc, log: log}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s, remote: c.Conn().RemoteAddr().String()}, nil
	}))
	if hostname == "" {
		hostname = "localhost"
	}
	s.srv.Domain = hostname
	s.srv.MaxMessageBytes = rc.cfg.MaxMessage
	s.srv.MaxRecipients = 100
	s.srv.ReadTimeout = 5 * time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.EnableSMTPUTF8 = true
	s.srv.ErrorLog = slogLogger{log}
	return s
}

// OfferSTARTTLS makes the listener offer STARTTLS with cfg (a certificate
// for the name it greets with); call it before Serve. Senders that do not
// ask for it still deliver in the clear, as MTAs between domains do.
func (s *SMTPServer) OfferSTARTTLS(cfg *tls.Config) { s.srv.TLSConfig = cfg }

// Serve accepts connections on ln until Shutdown.
func (s *SMTPServer) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for sessions in flight.
func (s *SMTPServer) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

type smtpSession struct {
	s       *SMTPServer
	remote  string
	from    string
	fromSet bool
	rcpt    []string
}

func (ss *smtpSession) Reset()        { ss.from, ss.fromSet, ss.rcpt = "", false, nil }
func (ss *smtpSession) Logout() error { return nil }

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.fromSet = from, true
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.s.rc.Accepts(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("tend takes mail for %s only; relaying denied", strings.Join(ss.s.rc.cfg.Domains, ", "))}
	}
	ss.rcpt = append(ss.rcpt, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
				Message: fmt.Sprintf("the message is larger than %d bytes", ss.s.rc.cfg.MaxMessage)}
		}
		return err
	}
	// The whole conversation may outlive the client's patience, but a
	// message, once accepted, is recorded even if the client goes away.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := ss.s.rc.Deliver(ctx, raw, Envelope{Source: "smtp", MailFrom: ss.from, FromSet: ss.fromSet, Rcpt: ss.rcpt})
	if err != nil {
		ss.s.log.Error("mail: could not take a message", "remote", ss.remote, "from", ss.from, "err", err)
		// Temporary: the sending MTA keeps the message and tries again.
		code, msg := 451, "tend could not store the message just now; try again later"
		if apperr.Is(err, apperr.Invalid) {
			code, msg = 554, "the message was refused: "+apperr.As(err).Message
		}
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 3, 0}, Message: msg}
	}
	if res.Number != "" {
		// The sending MTA logs this line: the registration number is in it.
		return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: fmt.Sprintf("OK: %s %s", res.Outcome, res.Number)}
	}
	return nil
}

type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) { l.l.Warn("smtp: " + fmt.Sprintf(format, v...)) }
func (l slogLogger) Println(v ...any)               { l.l.Warn("smtp: " + fmt.Sprint(v...)) }
