package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"

	"tend/internal/store"
)

// Relay is the SMTP server notices go out through, from a URL:
// smtp://host:25 (STARTTLS when offered), smtp+starttls://host:587
// (STARTTLS required), smtps://host:465 (implicit TLS), smtp+plain://host
// (never TLS, for a local MTA); user and password in the URL sign in.
type Relay struct {
	Host     string
	Port     int
	Security string // opportunistic | starttls | tls | plain
	Username string
	Password string
	// TLSConfig, if set, replaces the default (tests trust their own CA).
	TLSConfig *tls.Config
}

// ParseRelay reads a relay URL.
func ParseRelay(s string) (Relay, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return Relay{}, fmt.Errorf("the SMTP relay must be a URL such as smtp+starttls://user:password@mail.example.com:587 (%q)", s)
	}
	r := Relay{Host: u.Hostname()}
	defPort := 25
	switch u.Scheme {
	case "smtp":
		r.Security = "opportunistic"
	case "smtp+starttls":
		r.Security, defPort = "starttls", 587
	case "smtps":
		r.Security, defPort = "tls", 465
	case "smtp+plain":
		r.Security = "plain"
	default:
		return Relay{}, fmt.Errorf("the SMTP relay's scheme must be smtp, smtp+starttls, smtps or smtp+plain, not %q", u.Scheme)
	}
	r.Port = defPort
	if p := u.Port(); p != "" {
		if r.Port, err = strconv.Atoi(p); err != nil || r.Port < 1 || r.Port > 65535 {
			return Relay{}, fmt.Errorf("the SMTP relay's port %q is not a port", p)
		}
	}
	if u.User != nil {
		r.Username = u.User.Username()
		r.Password, _ = u.User.Password()
	}
	return r, nil
}

// SenderConfig is what outbound mail needs.
type SenderConfig struct {
	Relay    Relay
	From     string // the support address
	FromName string // "Support" when empty
	// BaseURL is where people open a request in the browser.
	BaseURL string
	// MaxAttempts before a notice fails for good (8 when zero); the wait
	// between attempts doubles from Backoff (1 minute) up to 6 hours.
	MaxAttempts int
	Backoff     time.Duration
	// MaxAge: notices older than this are not sent any more (72 h).
	MaxAge time.Duration
}

// Sender sends the notices the store queues, with retries and backoff.
type Sender struct {
	st     *store.Store
	log    *slog.Logger
	cfg    SenderConfig
	tokens Tokens
	// plainEnvelope is set once the relay refused a VERP envelope sender
	// (some submission servers allow only the login's own address).
	plainEnvelope atomic.Bool
}

// NewSender makes a sender; the reply-to key is the receiver's.
func NewSender(ctx context.Context, st *store.Store, log *slog.Logger, cfg SenderConfig, secret []byte) (*Sender, error) {
	if !strings.Contains(cfg.From, "@") {
		return nil, fmt.Errorf("mail: notices need a support address (--mail-address), such as support@vendor.example")
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 72 * time.Hour
	}
	if cfg.FromName == "" {
		cfg.FromName = "Support"
	}
	if log == nil {
		log = slog.Default()
	}
	tokens, err := tokensFor(ctx, st, Config{Address: cfg.From, Secret: secret}, log)
	if err != nil {
		return nil, err
	}
	return &Sender{st: st, log: log, cfg: cfg, tokens: tokens}, nil
}

// SweepReport counts what one sweep did.
type SweepReport struct{ Sent, Retried, Failed int }

// Sweep sends the notices that are due. Safe on several replicas: each
// notice is claimed in the database before it is sent.
func (s *Sender) Sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	for {
		batch, err := s.st.ClaimNotices(ctx, 20, 5*time.Minute, s.cfg.MaxAge)
		if err != nil {
			return rep, err
		}
		if len(batch) == 0 {
			return rep, nil
		}
		for _, n := range batch {
			msg, err := s.Compose(n)
			if err == nil {
				err = s.send(ctx, msg)
			}
			if refusedSender(err) && !s.plainEnvelope.Load() {
				s.plainEnvelope.Store(true)
				s.log.WarnContext(ctx, "mail: the relay refused the bounce address as envelope sender; notices go out from the support address, "+
					"and bounces are recognised by the Message-ID they quote", "sender", s.tokens.BounceAddress(n.Token), "err", err)
				if msg, err = s.Compose(n); err == nil {
					err = s.send(ctx, msg)
				}
			}
			if err == nil {
				if err := s.st.NoticeSent(ctx, n.ID, s.messageID(n), subjectOf(n)); err != nil {
					return rep, err
				}
				rep.Sent++
				continue
			}
			permanent := isPermanent(err)
			reason := err.Error()
			if !permanent && n.Attempts >= s.cfg.MaxAttempts {
				permanent = true
				reason = fmt.Sprintf("gave up after %d attempts: %s", n.Attempts, reason)
			}
			var retry *time.Time
			if !permanent {
				at := s.st.Now().Add(s.backoff(n.Attempts))
				retry = &at
				rep.Retried++
			} else {
				rep.Failed++
			}
			s.log.WarnContext(ctx, "mail: a notice was not sent", "notice", n.ID, "kind", n.Kind, "to", n.ToAddr, "attempt", n.Attempts, "permanent", permanent, "err", err)
			if err := s.st.NoticeFailed(ctx, n.ID, reason, retry); err != nil {
				return rep, err
			}
		}
	}
}

// backoff is the wait after the nth failed attempt: 1, 2, 4 … minutes,
// at most 6 hours.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < attempt && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

func (s *Sender) messageID(n store.Notice) string {
	return noticeMessageID(n.Token, s.tokens.Domain)
}

func (s *Sender) send(ctx context.Context, m *gomail.Msg) error {
	r := s.cfg.Relay
	opts := []gomail.Option{gomail.WithPort(r.Port), gomail.WithTimeout(30 * time.Second), gomail.WithHELO(s.tokens.Domain)}
	tlsCfg := r.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: r.Host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tlsCfg))
	switch r.Security {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "plain":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if r.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(r.Username), gomail.WithPassword(r.Password))
	}
	c, err := gomail.NewClient(r.Host, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return c.DialAndSendWithContext(ctx, m)
}

// refusedSender: the relay refused the envelope sender for good.
func refusedSender(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrSMTPMailFrom && se.ErrorCode() >= 500 && se.ErrorCode() < 600
}

// isPermanent: the relay refused for good (5xx). Everything else (no
// connection, 4xx, a timeout) is tried again.
func isPermanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return false
	}
	return errors.Is(err, errCompose)
}

var errCompose = errors.New("the notice could not be composed")

// Compose builds the message for a notice: text in the recipient's
// language, the number in the subject, threading headers that answer the
// request's mail, and a signed reply-to address.
func (s *Sender) Compose(n store.Notice) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := m.FromFormat(s.cfg.FromName, s.cfg.From); err != nil {
		return nil, fmt.Errorf("%w: from: %v", errCompose, err)
	}
	if !s.plainEnvelope.Load() {
		// Bounces come back to an address that names the notice (VERP).
		if err := m.EnvelopeFrom(s.tokens.BounceAddress(n.Token)); err != nil {
			return nil, fmt.Errorf("%w: envelope sender: %v", errCompose, err)
		}
	}
	if err := m.AddToFormat(n.ToName, n.ToAddr); err != nil {
		return nil, fmt.Errorf("%w: the address %q is not valid: %v", errCompose, n.ToAddr, err)
	}
	if n.Number != "" && len(s.tokens.Secret) > 0 {
		if err := m.ReplyTo(s.tokens.Address(n.Number)); err != nil {
			return nil, fmt.Errorf("%w: reply-to: %v", errCompose, err)
		}
	}
	m.Subject(subjectOf(n))
	m.SetMessageIDWithValue(strings.Trim(s.messageID(n), "<>"))
	m.SetDateWithValue(s.st.Now())
	if len(n.Thread) > 0 {
		m.SetGenHeader(gomail.HeaderInReplyTo, n.Thread[len(n.Thread)-1])
		refs := n.Thread
		if len(refs) > 10 {
			refs = append([]string{refs[0]}, refs[len(refs)-9:]...)
		}
		m.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
	}
	// RFC 3834: an automatic notice; auto-responders leave it alone, and
	// tend recognises its own notices if they come back.
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader("X-Auto-Response-Suppress", "All")
	m.SetGenHeader("X-Tend-Notice", n.Kind)
	m.SetGenHeader(gomail.HeaderContentLang, langOf(n))
	m.SetBodyString(gomail.TypeTextPlain, s.body(n))
	return m, nil
}

func langOf(n store.Notice) string {
	if n.Lang == "en" {
		return "en"
	}
	return "ru"
}

// subjectOf is "[REQ-2026-000123] Registered: the request's subject".
func subjectOf(n store.Notice) string {
	label := noticeText[langOf(n)][n.Kind].subject
	if label == "" {
		label = n.Kind
	}
	subj := label
	if n.Subject != "" {
		subj += ": " + n.Subject
	}
	if n.Number != "" {
		subj = "[" + n.Number + "] " + subj
	}
	return cleanLine(subj)
}

type noticeWords struct{ subject, lead string }

// noticeText is every notice in Russian and English.
var noticeText = map[string]map[string]noticeWords{
	"en": {
		store.NoticeRegistered:    {"Registered", "Your request is registered under the number %s. Reply to this message to add to it."},
		store.NoticeCoverage:      {"Not covered by support", "The request %s is registered, but it is not covered by your support:"},
		store.NoticeClarification: {"A question about your request", "The support desk has a question about the request %s. Please reply to this message; until then the request waits for you."},
		store.NoticeProposal:      {"Please accept the proposal", "The support desk proposes how to handle the request %s. A customer administrator accepts or rejects the proposal in the portal."},
		store.NoticeResolved:      {"Resolved", "The request %s is resolved. Confirm the resolution in the portal, or reply to this message if the problem remains."},
		store.NoticeReminder:      {"Reminder", "The request %s is waiting for your answer."},
		store.NoticeClosed:        {"Closed", "The request %s is closed."},
		store.NoticeComment:       {"New reply", "There is a new reply on the request %s."},
		store.NoticeCustomerReply: {"The customer wrote", "The customer wrote on the request %s."},
	},
	"ru": {
		store.NoticeRegistered:    {"Заявка зарегистрирована", "Ваша заявка зарегистрирована под номером %s. Чтобы дополнить её, ответьте на это письмо."},
		store.NoticeCoverage:      {"Не входит в поддержку", "Заявка %s зарегистрирована, но не входит в условия вашей поддержки:"},
		store.NoticeClarification: {"Вопрос по заявке", "У службы поддержки есть вопрос по заявке %s. Пожалуйста, ответьте на это письмо; до ответа заявка ожидает вас."},
		store.NoticeProposal:      {"Согласуйте предложение", "Служба поддержки предлагает порядок работ по заявке %s. Системный администратор заказчика принимает или отклоняет предложение на портале."},
		store.NoticeResolved:      {"Заявка решена", "Заявка %s решена. Подтвердите решение на портале или ответьте на это письмо, если проблема осталась."},
		store.NoticeReminder:      {"Напоминание", "Заявка %s ожидает вашего ответа."},
		store.NoticeClosed:        {"Заявка закрыта", "Заявка %s закрыта."},
		store.NoticeComment:       {"Новый ответ", "По заявке %s есть новый ответ."},
		store.NoticeCustomerReply: {"Ответ заказчика", "Заказчик написал по заявке %s."},
	},
}

var footer = map[string]string{
	"en": "Open the request: %s\n\nThis message was sent by the support desk. Reply to it to add to the request; keep the number %s in the subject.",
	"ru": "Открыть заявку: %s\n\nЭто письмо отправлено службой поддержки. Ответьте на него, чтобы дополнить заявку; сохраните номер %s в теме.",
}

func (s *Sender) body(n store.Notice) string {
	lang := langOf(n)
	words := noticeText[lang][n.Kind]
	var b strings.Builder
	if words.lead != "" {
		fmt.Fprintf(&b, words.lead, n.Number)
	}
	b.WriteString("\n\n")
	if n.Subject != "" {
		b.WriteString(map[string]string{"en": "Subject: ", "ru": "Тема: "}[lang] + n.Subject + "\n\n")
	}
	switch n.Kind {
	case store.NoticeCoverage:
		b.WriteString(n.CoverageNote + "\n\n")
	case store.NoticeProposal:
		if p := n.Proposal; p != nil {
			if p.Scope != "" {
				b.WriteString(map[string]string{"en": "Scope of work: ", "ru": "Состав работ: "}[lang] + p.Scope + "\n")
			}
			if p.EffortHours > 0 {
				fmt.Fprintf(&b, map[string]string{"en": "Effort: %g h\n", "ru": "Трудозатраты: %g ч\n"}[lang], p.EffortHours)
			}
			if !p.Deadline.IsZero() {
				b.WriteString(map[string]string{"en": "Deadline: ", "ru": "Срок: "}[lang] + p.Deadline.In(moscow).Format("2006-01-02 15:04") + " MSK\n")
			}
			b.WriteString("\n")
		}
	}
	if n.Text != "" && n.Kind != store.NoticeRegistered {
		if n.Author != "" {
			b.WriteString(n.Author + ":\n")
		}
		b.WriteString(n.Text + "\n\n")
	}
	link := strings.TrimRight(s.cfg.BaseURL, "/") + "/requests/" + strconv.FormatInt(n.RequestID, 10)
	fmt.Fprintf(&b, footer[lang], link, n.Number)
	return b.String()
}

var moscow = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return time.FixedZone("MSK", 3*3600)
	}
	return loc
}()
