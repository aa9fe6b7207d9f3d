package api_test

import (
	"io"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"tend/internal/apptest"
)

// cutProxy forwards TCP to PostgreSQL and can cut every connection, as a
// network fault or a database restart would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// When PostgreSQL goes away the API answers 503 with a clear message, and
// it recovers by itself when the database is back.
func TestDatabaseOutageAnswers503AndRecovers(t *testing.T) {
	if !slices.Contains(apptest.Engines(t), "postgres") {
		t.Skip("needs PostgreSQL (TEND_TEST_PG); SQLite is a file and has no outage")
	}
	var proxy *cutProxy
	app := apptest.NewApp(t, "postgres", apptest.Options{Demo: true, DSN: func(dsn string) string {
		u, _ := url.Parse(dsn)
		proxy = newCutProxy(t, u.Host)
		u.Host = proxy.ln.Addr().String()
		return u.String()
	}})
	admin := app.Login(t, "admin@vendor.example", "demo")
	admin.Do("GET", "/api/v1/customers", nil, 200, nil)

	proxy.setDown(true)
	resp := admin.Call("GET", "/api/v1/customers", nil)
	if code, _, msg := resp.Error(); resp.Status != 503 || code != "unavailable" {
		t.Fatalf("during the outage: %d %s %q", resp.Status, code, msg)
	}
	if resp := app.Anonymous(t).Call("GET", "/readyz", nil); resp.Status != 503 {
		t.Errorf("readyz during the outage: %d", resp.Status)
	}
	resp = admin.Call("POST", "/api/v1/customers", map[string]string{"code": "during", "name": "During outage"})
	if resp.Status != 503 {
		t.Errorf("write during the outage: %d %s", resp.Status, resp.Body)
	}

	proxy.setDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp = admin.Call("GET", "/api/v1/customers", nil)
		if resp.Status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp.Status != 200 {
		t.Fatalf("after the outage: %d %s", resp.Status, resp.Body)
	}
	admin.Do("POST", "/api/v1/customers", map[string]string{"code": "after", "name": "After outage"}, 201, nil)
	app.Anonymous(t).Do("GET", "/readyz", nil, 200, nil)
}
