package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
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
	if log == nil {
		log = slog.Default()
	}
	tokens, err := tokensFor(ctx, st, cfg, log)
	if err != nil {
		return nil, err
	}
	return &Receiver{st: st, blobs: blobs, log: log, cfg: cfg, tokens: tokens}, nil
}

// tokensFor gives the reply-to addresses' key: cfg's, else the database's.
// A key in the database sealed under another server key leaves tend
// without one (said in the log): no reply-to address is signed or
// verified, and replies are threaded by their references and subject.
func tokensFor(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) (Tokens, error) {
	secret := cfg.Secret
	if len(secret) == 0 {
		var err error
		secret, err = st.MailSecret(ctx)
		switch {
		case errors.Is(err, store.ErrReplyKeyUnreadable):
			log.Error("mail: reply-to addresses are neither signed nor verified: "+err.Error(), "err", err)
			secret = nil
		case err != nil:
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

// Incoming is one message as it reached tend.
type Incoming struct {
	Raw []byte
	Env Envelope
}

// BatchSize is how many messages a poll takes at once: their originals
// are made durable with one flush of the file store (DeliverBatch).
const BatchSize = 50

// Deliver takes one message (see DeliverBatch).
func (rc *Receiver) Deliver(ctx context.Context, raw []byte, env Envelope) (store.MailResult, error) {
	res, err := rc.DeliverBatch(ctx, []Incoming{{Raw: raw, Env: env}})
	if err != nil {
		return store.MailResult{}, err
	}
	return res[0], nil
}

// DeliverBatch takes messages in order, as a poll finds them. Each is
// parsed and checked for noise; the originals (kept even when a message
// cannot be parsed) and attachments of them all are written, then made
// durable with one flush; then each message is recorded with what it
// became, and the mailbox's read position, in its own transaction. A crash
// before a message's transaction leaves only files nothing refers to, and
// the message is read again. It answers the results of the messages
// recorded, in order: on an error, those before it were recorded and the
// rest were not.
func (rc *Receiver) DeliverBatch(ctx context.Context, msgs []Incoming) ([]store.MailResult, error) {
	ins := make([]store.InboundMail, len(msgs))
	parsed := make([]Message, len(msgs))
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ins[i], parsed[i] = rc.read(m.Raw, m.Env)
		ids[i] = ins[i].MessageID
	}
	taken, err := rc.st.MailTaken(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("mail: look for messages taken before: %w", err)
	}
	files := blob.NewBatch(rc.blobs)
	created := make([][]blob.Blob, len(msgs)) // the files each message added to the store
	for i, m := range msgs {
		ins[i].Taken = taken[ins[i].MessageID]
		if ins[i].Taken || ins[i].Rejected != "" {
			continue // recorded without files
		}
		if created[i], err = rc.keep(ctx, files, &ins[i], parsed[i], m.Raw); err != nil {
			rc.discard(ctx, slices.Concat(created...))
			return nil, err
		}
	}
	if err := files.Sync(ctx); err != nil {
		rc.discard(ctx, slices.Concat(created...))
		return nil, fmt.Errorf("mail: keep the originals: %w", err)
	}
	results := make([]store.MailResult, 0, len(msgs))
	var failed error
	for i := range msgs {
		res, err := rc.st.DeliverMail(ctx, ins[i], rc.cfg.Limits)
		if err != nil {
			failed = err
			break
		}
		rc.log.InfoContext(ctx, "mail received", "source", ins[i].Source, "from", ins[i].From, "outcome", res.Outcome,
			"request", res.Number, "duplicate", res.Duplicate, "reason", res.Reason)
		results = append(results, res)
	}
	// Only now, with every message of the batch recorded: two messages may
	// share a file that the first of them created.
	var unused []blob.Blob
	for i := range msgs {
		if i >= len(results) || results[i].Duplicate {
			unused = append(unused, created[i]...)
		}
	}
	rc.discard(ctx, unused)
	return results, failed
}

// read parses a message and fills in what the store needs of it.
func (rc *Receiver) read(raw []byte, env Envelope) (store.InboundMail, Message) {
	in := store.InboundMail{Source: env.Source, MailboxID: env.MailboxID, UIDValidity: env.UIDValidity, UID: env.UID}
	if size := max(int64(len(raw)), env.Size); size > rc.cfg.MaxMessage {
		m := Parse(headOnly(raw))
		rc.fill(&in, m, raw, env)
		in.Rejected = fmt.Sprintf("the message is %d bytes, more than the limit of %d; it was not kept", size, rc.cfg.MaxMessage)
		return in, Message{}
	}
	m := Parse(raw)
	rc.fill(&in, m, raw, env)
	return in, m
}

// keep puts a message's original and, unless it is noise, its attachments
// into the batch, and answers the files it created.
func (rc *Receiver) keep(ctx context.Context, files blob.Batch, in *store.InboundMail, m Message, raw []byte) ([]blob.Blob, error) {
	var created []blob.Blob
	put := func(data []byte, limit int64) (blob.Blob, error) {
		b, err := files.Put(ctx, bytes.NewReader(data), limit)
		if err == nil && b.Created {
			created = append(created, b)
		}
		return b, err
	}
	if len(raw) == 0 {
		raw = []byte("\r\n")
	}
	rawBlob, err := put(raw, rc.cfg.MaxMessage)
	if err != nil {
		return created, fmt.Errorf("mail: keep the original: %w", err)
	}
	rawBlob.ContentType = "message/rfc822"
	in.Raw = rawBlob
	if in.Noise != "" {
		return created, nil
	}
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
		b, err := put(f.Data, rc.cfg.MaxFile)
		if errors.Is(err, blob.ErrEmpty) {
			continue
		}
		if err != nil {
			return created, fmt.Errorf("mail: keep attachment %d: %w", i+1, err)
		}
		in.Files = append(in.Files, store.MailFile{Name: name, ContentType: ctype, Blob: b})
	}
	if len(notes) > 0 {
		note := "\n\n(" + strings.Join(notes, "; ") + ".)"
		in.Text += note
		in.Reply += note
		in.Note = joinNote(in.Note, strings.Join(notes, "; "))
	}
	return created, nil
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
	if in.Bounce = rc.bounce(m, raw, rcpts); in.Bounce != nil && in.Noise == "" {
		in.Noise = "bounce (delivery failure report)"
	}
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

// bounce reads a report that one of tend's notices could not be
// delivered: a delivery status notification saying so, or a bounce that
// reached a notice's VERP address or quotes its Message-ID. Auto-replies
// to the VERP address (out of office) are no failures; nil for anything
// else.
func (rc *Receiver) bounce(m Message, raw []byte, rcpts []string) *store.Bounce {
	var b store.Bounce
	switch {
	case m.Report != nil:
		if !m.Report.Failed {
			return nil // delayed, delivered, relayed: nothing failed yet
		}
		if m.Report.MessageID != "" {
			b.NoticeIDs = append(b.NoticeIDs, m.Report.MessageID)
		}
		b.Reason = m.Report.Reason()
	case isDaemon(m.From) || m.Header["X-Failed-Recipients"] != "" || undeliveredRe.MatchString(m.Subject):
		if q := noticeIDRe.FindSubmatch(raw); q != nil {
			b.NoticeIDs = append(b.NoticeIDs, strings.ToLower(string(q[1])))
		}
		b.Reason = "the recipient's mail server returned the message"
		if f := m.Header["X-Failed-Recipients"]; f != "" {
			b.Reason = f + ": " + b.Reason
		}
		if m.Subject != "" {
			b.Reason += " (" + m.Subject + ")"
		}
	default:
		return nil
	}
	if id := rc.tokens.BouncedNotice(rcpts); id != "" {
		b.NoticeIDs = append(b.NoticeIDs, id)
	}
	if len(b.NoticeIDs) == 0 {
		return nil
	}
	return &b
}

var undeliveredRe = regexp.MustCompile(`(?i)(undeliver|not (be )?delivered|delivery (status notification|failure|has failed)|mail delivery failed|returned mail|failure notice|недоставлен|не доставлен)`)

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
