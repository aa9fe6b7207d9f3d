package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"tend/internal/store"
)

// Poller reads the support mailboxes over IMAP (TLS, STARTTLS or plain),
// waiting with IDLE where the server has it and polling otherwise. Each
// message is delivered with its mailbox UID; the read position is written
// in the same transaction as what the message became, and a message seen
// before (a crash mid-poll, a second replica on the same mailbox) is
// recognised by its Message-ID, so every message is taken exactly once.
type Poller struct {
	st  *store.Store
	rc  *Receiver
	log *slog.Logger
	// Reload is how often the list of mailboxes is read again (admins
	// change it through the API); 30 s when zero.
	Reload time.Duration
	// NoIdle polls even where the server offers IDLE.
	NoIdle bool
	// TLSConfig, if set, is used for TLS and STARTTLS (tests trust their
	// own certificate with it).
	TLSConfig *tls.Config
	// IdleRefresh ends an IDLE after this long to check the connection;
	// 10 minutes when zero.
	IdleRefresh time.Duration
}

// NewPoller makes a poller for the mailboxes in the database.
func NewPoller(st *store.Store, rc *Receiver, log *slog.Logger) *Poller {
	if log == nil {
		log = slog.Default()
	}
	return &Poller{st: st, rc: rc, log: log}
}

// Run watches every enabled mailbox until ctx ends, starting and stopping
// watchers as mailboxes are added, changed or disabled.
func (p *Poller) Run(ctx context.Context) {
	reload := p.Reload
	if reload <= 0 {
		reload = 30 * time.Second
	}
	type watcher struct {
		stamp  time.Time
		cancel context.CancelFunc
	}
	running := map[int64]watcher{}
	var wg sync.WaitGroup
	defer func() {
		for _, w := range running {
			w.cancel()
		}
		wg.Wait()
	}()
	for {
		boxes, err := p.st.MailboxesToRead(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("mail: could not list the mailboxes", "err", err)
		}
		if err == nil {
			seen := map[int64]bool{}
			for _, m := range boxes {
				seen[m.ID] = true
				if w, ok := running[m.ID]; ok && w.stamp.Equal(m.UpdatedAt) {
					continue
				} else if ok {
					w.cancel()
				}
				wctx, cancel := context.WithCancel(ctx)
				running[m.ID] = watcher{m.UpdatedAt, cancel}
				wg.Go(func() { p.watch(wctx, m) })
			}
			for id, w := range running {
				if !seen[id] {
					w.cancel()
					delete(running, id)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(reload):
		}
	}
}

// watch keeps one mailbox read, reconnecting with backoff after failures.
func (p *Poller) watch(ctx context.Context, m store.Mailbox) {
	if m.PasswordProblem != "" {
		// Nothing to try until an admin gives the password again, which
		// changes the mailbox and starts a new watcher.
		p.log.Error("mail: cannot read a mailbox", "mailbox", m.Name, "err", m.PasswordProblem)
		p.st.MailboxPolled(context.WithoutCancel(ctx), m.ID, m.PasswordProblem)
		return
	}
	backoff := 5 * time.Second
	for ctx.Err() == nil {
		err := p.session(ctx, m, false)
		if ctx.Err() != nil {
			return
		}
		problem := "the connection ended"
		if err != nil {
			problem = err.Error()
			p.log.Warn("mail: reading a mailbox failed", "mailbox", m.Name, "err", err, "retry_in", backoff)
		}
		p.st.MailboxPolled(context.WithoutCancel(ctx), m.ID, problem)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Minute)
	}
}

// PollOnce connects, takes every new message of the mailbox and
// disconnects. It answers how many messages it delivered.
func (p *Poller) PollOnce(ctx context.Context, m store.Mailbox) (int, error) {
	var n int
	err := p.sessionCount(ctx, m, true, &n)
	return n, err
}

func (p *Poller) session(ctx context.Context, m store.Mailbox, once bool) error {
	var n int
	return p.sessionCount(ctx, m, once, &n)
}

func (p *Poller) sessionCount(ctx context.Context, m store.Mailbox, once bool, delivered *int) (err error) {
	if m.PasswordProblem != "" {
		return errors.New(m.PasswordProblem)
	}
	defer func() {
		// The IMAP client is fed by a remote server: a panic in it must not
		// take the process down.
		if v := recover(); v != nil {
			err = fmt.Errorf("IMAP client failed: %v", v)
		}
	}()
	newMail := make(chan struct{}, 1)
	opts := &imapclient.Options{
		TLSConfig: p.tlsConfig(m.Host),
		Dialer:    &net.Dialer{Timeout: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	addr := net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	var c *imapclient.Client
	switch m.Security {
	case "tls":
		c, err = imapclient.DialTLS(addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(addr, opts)
	default:
		c, err = imapclient.DialInsecure(addr, opts)
	}
	if err != nil {
		return fmt.Errorf("connect to %s (%s): %w", addr, m.Security, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(m.Username, m.Password).Wait(); err != nil {
		return fmt.Errorf("sign in to %s as %s: %w", addr, m.Username, err)
	}
	sel, err := c.Select(m.Folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("open folder %s: %w", m.Folder, err)
	}
	for {
		n, err := p.sync(ctx, c, m, sel.UIDValidity)
		*delivered += n
		if err != nil {
			return err
		}
		if err := p.st.MailboxPolled(ctx, m.ID, ""); err != nil {
			return err
		}
		if once {
			c.Logout().Wait()
			return nil
		}
		if c.Caps().Has(imap.CapIdle) && !p.NoIdle {
			if err := p.idle(ctx, c, newMail); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.Closed():
			return errors.New("the server closed the connection")
		case <-time.After(time.Duration(max(m.PollSeconds, 5)) * time.Second):
		}
		if err := c.Noop().Wait(); err != nil {
			return fmt.Errorf("poll: %w", err)
		}
	}
}

// idle waits for the server to report new mail, the refresh interval, or
// the end of ctx.
func (p *Poller) idle(ctx context.Context, c *imapclient.Client, newMail <-chan struct{}) error {
	refresh := p.IdleRefresh
	if refresh <= 0 {
		refresh = 10 * time.Minute
	}
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	t := time.NewTimer(refresh)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-newMail:
	case <-t.C:
	case <-c.Closed():
		return errors.New("the server closed the connection")
	}
	if err := cmd.Close(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("end idle: %w", err)
	}
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("idle: %w", err)
	}
	return nil
}

// sync delivers every message past the stored read position, in UID
// order, a batch at a time (see Receiver.DeliverBatch).
func (p *Poller) sync(ctx context.Context, c *imapclient.Client, m store.Mailbox, uidValidity uint32) (int, error) {
	uv, last, err := p.st.MailboxPosition(ctx, m.ID)
	if err != nil {
		return 0, err
	}
	if uv != uidValidity {
		if err := p.st.ResetMailbox(ctx, m.ID, uidValidity); err != nil {
			return 0, err
		}
		last = 0
	}
	search, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}}}}, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("search for new messages: %w", err)
	}
	var uids []imap.UID
	for _, u := range search.AllUIDs() {
		if uint32(u) > last {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	n := 0
	for len(uids) > 0 && ctx.Err() == nil {
		delivered, done, err := p.takeBatch(ctx, c, m, uidValidity, uids[:min(BatchSize, len(uids))])
		n += delivered
		if err != nil {
			return n, err
		}
		uids = uids[done:]
	}
	return n, nil
}

// batchBytes caps the messages a batch holds in memory; a message larger
// than that is a batch of its own.
const batchBytes = 32 << 20

// takeBatch fetches messages (a few round trips for the lot, not several
// per message), delivers them, then marks them \Seen for the people who
// look at the mailbox too. It answers how many it delivered and how many
// of uids it is done with (those after wait for the next batch).
func (p *Poller) takeBatch(ctx context.Context, c *imapclient.Client, m store.Mailbox, uidValidity uint32, uids []imap.UID) (delivered, done int, err error) {
	sizes, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return 0, 0, fmt.Errorf("fetch the sizes of messages %d–%d: %w", uids[0], uids[len(uids)-1], err)
	}
	sizeOf := map[imap.UID]int64{}
	for _, s := range sizes {
		sizeOf[s.UID] = s.RFC822Size
	}
	// Whole messages in UID order up to the memory cap (at least one); one
	// over the size limit is fetched as its header only; one missing from
	// the answer was expunged meanwhile.
	var whole, headers []imap.UID
	var total int64
	for _, uid := range uids {
		size, ok := sizeOf[uid]
		if ok && size <= p.rc.cfg.MaxMessage {
			if total > 0 && total+size > batchBytes {
				break
			}
			total += size
			whole = append(whole, uid)
		} else if ok {
			headers = append(headers, uid)
		}
		done++
	}
	uids = uids[:done]
	raws := map[imap.UID][]byte{}
	fetch := func(set []imap.UID, section *imap.FetchItemBodySection) error {
		if len(set) == 0 {
			return nil
		}
		msgs, err := c.Fetch(imap.UIDSetNum(set...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return fmt.Errorf("fetch messages %d–%d: %w", set[0], set[len(set)-1], err)
		}
		for _, msg := range msgs {
			raws[msg.UID] = msg.FindBodySection(section)
		}
		return nil
	}
	if err := fetch(whole, &imap.FetchItemBodySection{Peek: true}); err != nil {
		return 0, 0, err
	}
	if err := fetch(headers, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}); err != nil {
		return 0, 0, err
	}
	var batch []Incoming
	var taken []imap.UID
	for _, uid := range uids {
		raw, ok := raws[uid]
		if !ok {
			continue // expunged meanwhile
		}
		env := Envelope{Source: "imap", MailboxID: m.ID, UIDValidity: uidValidity, UID: uint32(uid)}
		if slices.Contains(headers, uid) {
			env.Size = sizeOf[uid]
		}
		batch = append(batch, Incoming{Raw: raw, Env: env})
		taken = append(taken, uid)
	}
	if len(batch) == 0 {
		return 0, done, nil
	}
	res, err := p.rc.DeliverBatch(ctx, batch)
	if len(res) > 0 {
		set := imap.UIDSetNum(taken[:len(res)]...)
		if serr := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); serr != nil {
			p.log.Warn("mail: could not mark messages seen", "mailbox", m.Name, "err", serr)
		}
	}
	if err != nil {
		return len(res), done, fmt.Errorf("take message %d: %w", taken[len(res)], err)
	}
	return len(res), done, nil
}

func (p *Poller) tlsConfig(host string) *tls.Config {
	if p.TLSConfig != nil {
		cfg := p.TLSConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		return cfg
	}
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}
