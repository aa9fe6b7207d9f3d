package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var urlRE = regexp.MustCompile(`tend is running at (http://\S+)`)

// startDemo runs `tend demo` on a free port the way a user would and
// returns its URL and a stop function that waits for a clean exit.
func startDemo(t *testing.T, data string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--data", data, "demo", "--addr", "127.0.0.1:0"}, strings.NewReader(""), &out, &logs)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], func() error { cancel(); return <-done }
		}
		select {
		case err := <-done:
			t.Fatalf("tend demo exited: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("tend demo did not start:\n%s\n%s", out.String(), logs.String())
	return "", nil
}

func TestDemoEndToEnd(t *testing.T) {
	data := t.TempDir()
	url, stop := startDemo(t, data)

	resp, err := http.Get(url + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()
	for _, login := range []string{"admin@vendor.example", "agent@vendor.example", "dev@vendor.example", "qa@vendor.example", "release@vendor.example",
		"admin@alfa.example", "operator@alfa.example", "integrator@alfa.example", "admin@beta.example", "operator@beta.example", "admin@gamma.example"} {
		resp, err := http.Post(url+"/api/v1/auth/login", "application/json", strings.NewReader(`{"login":"`+login+`","password":"demo"}`))
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("demo login %s: %v %v", login, err, resp.Status)
		}
		resp.Body.Close()
	}

	// A second tend on the same data stops with a clear message.
	var out, logs syncBuffer
	err = run(context.Background(), []string{"--data", data, "serve", "--addr", "127.0.0.1:0"}, strings.NewReader(""), &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "in use by another tend") {
		t.Errorf("second serve on the same data: %v", err)
	}

	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// Running the demo again keeps the data and does not load it twice.
	url, stop = startDemo(t, data)
	req, _ := http.NewRequest("POST", url+"/api/v1/auth/login", strings.NewReader(`{"login":"admin@vendor.example","password":"demo"}`))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	req, _ = http.NewRequest("GET", url+"/api/v1/customers", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Total int }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if list.Total != 3 {
		t.Errorf("customers after a second demo start: %d, want 3", list.Total)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestUserAddAndResetPassword(t *testing.T) {
	data := t.TempDir()
	var out, logs syncBuffer
	ctx := context.Background()
	if err := run(ctx, []string{"--data", data, "user", "add", "--login", "Boss@Vendor.example", "--name", "Boss"}, strings.NewReader("first secret\n"), &out, &logs); err != nil {
		t.Fatalf("user add: %v", err)
	}
	if !strings.Contains(out.String(), "boss@vendor.example (admin)") {
		t.Errorf("user add said %q", out.String())
	}
	err := run(ctx, []string{"--data", data, "user", "add", "--login", "boss@vendor.example", "--name", "Boss", "--password", "another secret"}, nil, &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "login: an account with this login already exists") {
		t.Errorf("duplicate user add: %v", err)
	}
	err = run(ctx, []string{"--data", data, "user", "add", "--login", "x@vendor.example", "--name", "X", "--password", "short"}, nil, &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("short password: %v", err)
	}
	if err := run(ctx, []string{"--data", data, "user", "reset-password", "boss@vendor.example", "--password", "second secret"}, nil, &out, &logs); err != nil {
		t.Fatalf("reset-password: %v", err)
	}
	err = run(ctx, []string{"--data", data, "user", "reset-password", "ghost@vendor.example", "--password", "second secret"}, nil, &out, &logs)
	if err == nil || !strings.Contains(err.Error(), "no such account") {
		t.Errorf("reset of an unknown login: %v", err)
	}
	if err := run(ctx, []string{"--data", data, "migrate"}, nil, &out, &logs); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Errorf("migrate: %v %q", err, out.String())
	}
}

func TestSLACommands(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sla", "due", "--from", "2025-12-30T16:00:00+03:00", "--working", "8h", "--window", "09:00-18:00"}, "2026-01-12T15:00:00+03:00\n"},
		{[]string{"sla", "due", "--from", "2025-12-30T16:00:00+03:00", "--working", "8h", "--mode", "24x7"}, "2025-12-31T00:00:00+03:00\n"},
		{[]string{"sla", "between", "--from", "2025-12-29T09:00:00+03:00", "--to", "2026-01-13T12:30:00+03:00", "--window", "09:00-18:00"}, "30h30m0s\n"}, // Dec 29, 30, Jan 12: 9h each; Jan 13: 3h30m
	}
	for _, tt := range tests {
		var out, logs syncBuffer
		if err := run(context.Background(), tt.args, nil, &out, &logs); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if out.String() != tt.want {
			t.Errorf("%v = %q, want %q", tt.args, out.String(), tt.want)
		}
	}
}
