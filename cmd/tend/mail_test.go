package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseIMAP(t *testing.T) {
	m, err := parseIMAP("imaps://support%40vendor.example:p%40ss@imap.vendor.example/Support/In?poll=30s")
	if err != nil {
		t.Fatal(err)
	}
	if m.Security != "tls" || m.Host != "imap.vendor.example" || m.Username != "support@vendor.example" || m.Password != "p@ss" ||
		m.Folder != "Support/In" || m.PollSeconds != 30 || m.Name != "config: support@vendor.example@imap.vendor.example/Support/In" {
		t.Errorf("%+v", m)
	}
	if m, _ := parseIMAP("imap+starttls://u:p@h:1143"); m.Security != "starttls" || m.Port != 1143 || m.Folder != "INBOX" {
		t.Errorf("%+v", m)
	}
	for _, bad := range []string{"pop3://u:p@h", "imaps://h/INBOX", "not a url", "imap://u:p@h/?poll=soon"} {
		if _, err := parseIMAP(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if _, err := parseIMAP("ftp://user:secret@h"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("the password shows in the error: %v", err)
	}
}

func TestSMTPTLSFlags(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.vendor.example"}, DNSNames: []string{"mx.vendor.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	base := []string{"--data", t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--mail-address", "support@vendor.example", "--smtp-addr", "127.0.0.1:0"}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-tls-cert", cert}, "give both"},
		{[]string{"--smtp-tls-key", keyFile}, "give both"},
		{[]string{"--smtp-tls-cert", cert, "--smtp-tls-key", cert}, cert},
		{[]string{"--smtp-tls-cert", filepath.Join(dir, "missing.pem"), "--smtp-tls-key", keyFile}, "missing.pem"},
	} {
		err := run(context.Background(), append(base, tt.args...), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error with %q", tt.args, err, tt.want)
		}
	}

	// With both, the listener offers STARTTLS.
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(base, "--smtp-tls-cert", cert, "--smtp-tls-key", keyFile), nil, &out, &logs)
	}()
	waitUntil(t, "the SMTP listener", func() bool {
		select {
		case err := <-done:
			t.Fatalf("tend stopped: %v\n%s", err, logs.String())
		default:
		}
		return strings.Contains(logs.String(), "taking mail over SMTP")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "starttls=true") {
		t.Errorf("the log does not say STARTTLS is offered:\n%s", logs.String())
	}
}
