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
// order, one transaction each.
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
	for _, uid := range uids {
		if ctx.Err() != nil {
			return n, nil
		}
		if err := p.take(ctx, c, m, uidValidity, uid); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// take fetches and delivers one message, then marks it \Seen for the
// people who look at the mailbox too.
func (p *Poller) take(ctx context.Context, c *imapclient.Client, m store.Mailbox, uidValidity uint32, uid imap.UID) error {
	set := imap.UIDSetNum(uid)
	sizes, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return fmt.Errorf("fetch the size of message %d: %w", uid, err)
	}
	if len(sizes) == 0 {
		return nil // expunged meanwhile
	}
	env := Envelope{Source: "imap", MailboxID: m.ID, UIDValidity: uidValidity, UID: uint32(uid)}
	section := &imap.FetchItemBodySection{Peek: true}
	if sizes[0].RFC822Size > p.rc.cfg.MaxMessage {
		section = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
		env.Size = sizes[0].RFC822Size
	}
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return fmt.Errorf("fetch message %d: %w", uid, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	raw := msgs[0].FindBodySection(section)
	if _, err := p.rc.Deliver(ctx, raw, env); err != nil {
		return fmt.Errorf("take message %d: %w", uid, err)
	}
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		p.log.Warn("mail: could not mark a message seen", "mailbox", m.Name, "uid", uid, "err", err)
	}
	return nil
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
