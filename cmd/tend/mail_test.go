package main

import (
	"strings"
	"testing"
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
