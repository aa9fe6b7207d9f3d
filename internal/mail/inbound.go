package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"tend/internal/blob"
	"tend/internal/store"
)

// Config is what the mail channel needs to know, in and out.
type Config struct {
	// Address is the support address, such as support@vendor.example:
	// notices come from it and replies go to it (with a signed token).
	Address string
	// Domains are the support domains the SMTP listener takes mail for;
	// the domain of Address when empty.
	Domains []string
	// Secret signs reply-to addresses (store.MailSecret when empty).
	Secret []byte
	// MaxMessage caps a whole message, in bytes; MaxFile one attachment
	// (the portal's --max-upload).
	MaxMessage, MaxFile int64
	// Limits stops a flood from one sender.
	Limits store.MailLimits
}

// Defaults for what Config leaves out.
const (
	DefaultMaxMessage = 100 << 20
	DefaultMaxFile    = 64 << 20
)

// DefaultLimits: 30 messages an hour from one sender become requests or
// comments; more are recorded and left alone.
var DefaultLimits = store.MailLimits{PerSender: 30, Window: time.Hour}

// Domain is the support domain of an address ("" when it has none).
func Domain(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return strings.ToLower(d)
}

// Receiver turns received messages into requests and comments.
type Receiver struct {
	st     *store.Store
	blobs  blob.Store
	log    *slog.Logger
	cfg    Config
	tokens Tokens
}

// NewReceiver makes a receiver. The reply-token secret comes from cfg or,
// when empty, from the database (made on first use, shared by replicas).
func NewReceiver(ctx context.Context, st *store.Store, blobs blob.Store, log *slog.Logger, cfg Config) (*Receiver, error) {
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	if cfg.MaxFile <= 0 {
		cfg.MaxFile = DefaultMaxFile
	}
	if len(cfg.Domains) == 0 && Domain(cfg.Address) != "" {
		cfg.Domains = []string{Domain(cfg.Address)}
	}
	for i, d := range cfg.Domains {
		cfg.Domains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	tokens, err := tokensFor(ctx, st, cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Receiver{st: st, blobs: blobs, log: log, cfg: cfg, tokens: tokens}, nil
}

func tokensFor(ctx context.Context, st *store.Store, cfg Config) (Tokens, error) {
	secret := cfg.Secret
	if len(secret) == 0 {
		var err error
		if secret, err = st.MailSecret(ctx); err != nil {
			return Tokens{}, fmt.Errorf("mail: the reply-token key: %w", err)
		}
	}
	local, domain, _ := strings.Cut(cfg.Address, "@")
	if local == "" {
		local = "support"
	}
	return Tokens{Secret: secret, Local: local, Domain: strings.ToLower(domain)}, nil
}

// Accepts says whether the listener takes mail for an address: any
// address of a support domain.
func (rc *Receiver) Accepts(addr string) bool {
	d := Domain(strings.Trim(addr, "<> "))
	for _, own := range rc.cfg.Domains {
		if d == own {
			return true
		}
	}
	return false
}

// Envelope is how a message reached tend.
type Envelope struct {
	Source      string // smtp | imap
	MailboxID   int64
	UIDValidity uint32
	UID         uint32
	// MailFrom is the SMTP envelope sender; FromSet says there was one
	// (MAIL FROM:<> is a bounce).
	MailFrom string
	FromSet  bool
	Rcpt     []string
	// Size is the message's size when only its header was fetched
	// because it is over the limit.
	Size int64
}

// Deliver takes one raw message: the original is stored first (so it is
// kept even when it cannot be parsed), then parsed, checked for noise,
// threaded, and recorded with what it became in one transaction.
func (rc *Receiver) Deliver(ctx context.Context, raw []byte, env Envelope) (store.MailResult, error) {
	var created []blob.Blob
	keep := func(b blob.Blob) {
		if b.Created {
			created = append(created, b)
		}
	}
	in := store.InboundMail{Source: env.Source, MailboxID: env.MailboxID, UIDValidity: env.UIDValidity, UID: env.UID}
	if size := max(int64(len(raw)), env.Size); size > rc.cfg.MaxMessage {
		m := Parse(headOnly(raw))
		rc.fill(&in, m, raw, env)
		in.Rejected = fmt.Sprintf("the message is %d bytes, more than the limit of %d; it was not kept", size, rc.cfg.MaxMessage)
		return rc.record(ctx, in, created)
	}
	if len(raw) == 0 {
		raw = []byte("\r\n")
	}
	rawBlob, err := rc.blobs.Put(ctx, bytes.NewReader(raw), rc.cfg.MaxMessage)
	if err != nil {
		return store.MailResult{}, fmt.Errorf("mail: keep the original: %w", err)
	}
	keep(rawBlob)
	rawBlob.ContentType = "message/rfc822"
	in.Raw = rawBlob

	m := Parse(raw)
	rc.fill(&in, m, raw, env)
	if in.Noise == "" {
		var notes []string
		for i, f := range m.Files {
			name := cleanFileName(f.Name)
			if int64(len(f.Data)) > rc.cfg.MaxFile {
				notes = append(notes, fmt.Sprintf("the attachment %q (%d bytes) is over the limit of %d bytes and stays only in the original message", name, len(f.Data), rc.cfg.MaxFile))
				continue
			}
			ctype, mismatch := fileType(name, f.Data)
			if mismatch {
				notes = append(notes, fmt.Sprintf("the attachment %q is not what its name says; it is kept as a plain download", name))
			}
			b, err := rc.blobs.Put(ctx, bytes.NewReader(f.Data), rc.cfg.MaxFile)
			if errors.Is(err, blob.ErrEmpty) {
				continue
			}
			if err != nil {
				rc.discard(ctx, created)
				return store.MailResult{}, fmt.Errorf("mail: keep attachment %d: %w", i+1, err)
			}
			keep(b)
			in.Files = append(in.Files, store.MailFile{Name: name, ContentType: ctype, Blob: b})
		}
		if len(notes) > 0 {
			note := "\n\n(" + strings.Join(notes, "; ") + ".)"
			in.Text += note
			in.Reply += note
			in.Note = joinNote(in.Note, strings.Join(notes, "; "))
		}
	}
	return rc.record(ctx, in, created)
}

func (rc *Receiver) record(ctx context.Context, in store.InboundMail, created []blob.Blob) (store.MailResult, error) {
	res, err := rc.st.DeliverMail(ctx, in, rc.cfg.Limits)
	if err != nil || res.Duplicate {
		rc.discard(ctx, created)
	}
	if err == nil {
		rc.log.InfoContext(ctx, "mail received", "source", in.Source, "from", in.From, "outcome", res.Outcome,
			"request", res.Number, "duplicate", res.Duplicate, "reason", res.Reason)
	}
	return res, err
}

// fill copies what the store needs from a parsed message.
func (rc *Receiver) fill(in *store.InboundMail, m Message, raw []byte, env Envelope) {
	in.MessageID = m.MessageID
	if in.MessageID == "" {
		in.MessageID = MadeUpID(raw)
	}
	in.From, in.FromName, in.Subject, in.Refs = m.From, m.FromName, m.Subject, m.Refs
	if in.From == "" && env.FromSet {
		in.From = strings.ToLower(strings.Trim(env.MailFrom, "<> "))
	}
	rcpts := append(append([]string{}, env.Rcpt...), m.Recipients...)
	for _, a := range rcpts {
		if rc.Accepts(a) {
			in.To = strings.ToLower(strings.Trim(a, "<> "))
			break
		}
	}
	in.TokenNumber = rc.tokens.Number(rcpts)
	in.SubjectNumber = SubjectNumber(m.Subject)
	in.Noise = Noise(m, env.MailFrom, env.FromSet, rc.tokens.Domain)
	in.Text = m.Text
	in.Reply = TrimReply(m.Text)
	in.Lang = GuessLang(m.Subject + " " + m.Text)
	if m.Fallback {
		in.Note = joinNote(in.Note, "the message could not be read as MIME; its raw text was taken")
	}
	if len(m.Problems) > 0 && !m.Fallback {
		in.Note = joinNote(in.Note, "read with problems: "+firstN(m.Problems, 3))
	}
}

// discard removes files this delivery stored that nothing refers to.
func (rc *Receiver) discard(ctx context.Context, created []blob.Blob) {
	ctx = context.WithoutCancel(ctx)
	for _, b := range created {
		if used, err := rc.st.BlobInUse(ctx, b.Key); err == nil && !used {
			rc.blobs.Delete(ctx, b.Key)
		}
	}
}

// headOnly is the header block of a message (and a little more), for
// recording one too large to keep.
func headOnly(raw []byte) []byte {
	for _, sep := range [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")} {
		if i := bytes.Index(raw, sep); i >= 0 && i < 1<<20 {
			return raw[:i+len(sep)]
		}
	}
	if len(raw) > 64<<10 {
		return raw[:64<<10]
	}
	return raw
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func firstN(list []string, n int) string {
	if len(list) > n {
		return strings.Join(list[:n], "; ") + fmt.Sprintf(" (and %d more)", len(list)-n)
	}
	return strings.Join(list, "; ")
}
