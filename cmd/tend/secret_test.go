package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tend/internal/store"
)

func TestSecretKeySources(t *testing.T) {
	data := t.TempDir()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	// None given: made once in the data folder, readable by its owner only,
	// and said so in the log; the next start reads the same key.
	first, err := SecretFlags{}.key(data, log)
	if err != nil || len(first) != store.SecretKeySize {
		t.Fatalf("made key: %d bytes, %v", len(first), err)
	}
	path := filepath.Join(data, "secret.key")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if !strings.Contains(logs.String(), "made a new secret key") || !strings.Contains(logs.String(), path) {
		t.Errorf("the log does not say a key was made: %s", logs.String())
	}
	again, err := SecretFlags{}.key(data, log)
	if err != nil || !bytes.Equal(again, first) {
		t.Errorf("second start: %v, the same key %v", err, bytes.Equal(again, first))
	}

	b64 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if k, err := (SecretFlags{SecretKey: b64}).key(data, log); err != nil || k[0] != 7 {
		t.Errorf("TEND_SECRET_KEY: %v", err)
	}
	raw := filepath.Join(t.TempDir(), "raw.key")
	os.WriteFile(raw, bytes.Repeat([]byte{9}, 32), 0o600)
	if k, err := (SecretFlags{SecretKeyFile: raw}).key(data, log); err != nil || k[0] != 9 {
		t.Errorf("raw key file: %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("not a key\n"), 0o644)
	for name, f := range map[string]SecretFlags{
		"TEND_SECRET_KEY":           {SecretKey: "c2hvcnQ="},
		"not both":                  {SecretKey: b64, SecretKeyFile: raw},
		bad:                         {SecretKeyFile: bad},
		"missing.key: file does no": {SecretKeyFile: filepath.Join(t.TempDir(), "missing.key")},
	} {
		if _, err := f.key(data, log); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%+v: %v, want an error naming %q", f, err, name)
		}
	}
	if !strings.Contains(logs.String(), "can be read by others") {
		t.Errorf("a key file open to others was not warned about: %s", logs.String())
	}
}

// End to end: a mailbox password given through the API is not in the
// database file, and a server started with another key names the mailbox
// in its log and in the mailbox's last error instead of failing.
func TestMailboxPasswordUnderAnotherKey(t *testing.T) {
	data := t.TempDir()
	const secret = "imap-secret-Zx81"
	url, stop := startDemo(t, data)
	token := loginToken(t, url, "admin@vendor.example")
	var box struct{ ID int64 }
	call(t, "POST", url+"/api/v1/mail/mailboxes", token, `{"name":"Support box","host":"127.0.0.1","port":9,"security":"plain","username":"support","password":"`+secret+`"}`, http.StatusCreated, &box)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(data, "tend.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(data, "tend.db-wal"))
	if bytes.Contains(append(db, wal...), []byte(secret)) {
		t.Error("the database file holds the mailbox password in plain text")
	}

	other := filepath.Join(t.TempDir(), "other.key")
	os.WriteFile(other, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--data", data, "demo", "--addr", "127.0.0.1:0", "--secret-key-file", other}, nil, &out, &logs)
	}()
	defer func() { cancel(); <-done }()
	var m []string
	waitUntil(t, "the server with another key", func() bool {
		select {
		case err := <-done:
			t.Fatalf("tend stopped: %v\n%s", err, logs.String())
		default:
		}
		m = urlRE.FindStringSubmatch(out.String())
		return m != nil
	})
	if !strings.Contains(logs.String(), "cannot be opened with this secret key") || !strings.Contains(logs.String(), `mailbox="Support box"`) {
		t.Errorf("the log does not name the mailbox:\n%s", logs.String())
	}
	// Nor does the reply-address key open: said, and not replaced.
	if !strings.Contains(logs.String(), "the key that signs reply-to addresses cannot be opened with this server's secret key") {
		t.Errorf("the log does not say the reply-address key is unreadable:\n%s", logs.String())
	}
	token = loginToken(t, m[1], "admin@vendor.example")
	waitUntil(t, "the mailbox's last error", func() bool {
		var got struct {
			LastError string `json:"last_error"`
		}
		call(t, "GET", m[1]+"/api/v1/mail/mailboxes/"+strconv.FormatInt(box.ID, 10), token, "", http.StatusOK, &got)
		return strings.Contains(got.LastError, `mailbox "Support box"`) && strings.Contains(got.LastError, "secret key")
	})
}

func loginToken(t *testing.T, url, login string) string {
	t.Helper()
	var out struct{ Token string }
	call(t, "POST", url+"/api/v1/auth/login", "", `{"login":"`+login+`","password":"demo"}`, http.StatusOK, &out)
	return out.Token
}

func call(t *testing.T, method, url, token, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

// waitUntil polls until cond holds; the deadline only stops a hung test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A mailbox given on the command line is sealed under the same key as
// everything serve stores (here secret.key, made in --data): a store
// opened later with that key reads its password and the reply-address
// key, and the database file holds neither in plain text.
func TestConfiguredMailboxSealedWithTheServerKey(t *testing.T) {
	data := t.TempDir()
	const secret = "Imap-Secret-77"
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--data", data, "serve", "--addr", "127.0.0.1:0", "--imap", "imap://support:" + secret + "@127.0.0.1:9/INBOX?poll=1h"}, nil, &out, &logs)
	}()
	waitUntil(t, "tend serve", func() bool {
		select {
		case err := <-done:
			t.Fatalf("tend stopped: %v\n%s", err, logs.String())
		default:
		}
		return urlRE.MatchString(out.String())
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(data, "tend.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(data, "tend.db-wal"))
	if bytes.Contains(append(db, wal...), []byte(secret)) {
		t.Error("the database file holds the configured password in plain text")
	}

	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(context.Background(), store.Options{DataDir: data, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := SecretFlags{}.key(data, log)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := st.UseSecretKey(context.Background(), key)
	if err != nil || len(rep.Unreadable) != 0 || rep.ReplyKeyUnreadable || rep.Sealed != 0 || rep.ReplyKeySealed {
		t.Fatalf("the data folder's key: %+v %v", rep, err)
	}
	boxes, err := st.MailboxesToRead(context.Background())
	if err != nil || len(boxes) != 1 || boxes[0].Password != secret {
		t.Errorf("the configured mailbox under the server's key: %+v %v", boxes, err)
	}
	if k, err := st.MailSecret(context.Background()); err != nil || len(k) != 32 {
		t.Errorf("the reply-address key under the server's key: %d bytes, %v", len(k), err)
	}
}
