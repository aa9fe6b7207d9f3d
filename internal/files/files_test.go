package files_test

import (
	"errors"
	"strings"
	"testing"

	"tend/internal/files"
	"tend/internal/store"
)

func TestNameLimitMatchesTheStore(t *testing.T) {
	if files.MaxName != store.MaxAttachmentName {
		t.Fatalf("files.MaxName = %d, store.MaxAttachmentName = %d", files.MaxName, store.MaxAttachmentName)
	}
}

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("я", 200) + ".png"
	for _, c := range []struct{ in, want string }{
		{"shot.png", "shot.png"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\me\log.txt`, "log.txt"},
		{"a\x00b\u202Ec.txt", "abc.txt"},
		{"  ..  ", "file"},
		{"", "file"},
	} {
		if got := files.SanitizeName(c.in); got != c.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	got := files.SanitizeName(long)
	if len(got) > files.MaxName || !strings.HasSuffix(got, ".png") {
		t.Errorf("a long name becomes %d bytes %q…", len(got), got[:20])
	}
}

func TestCheckTypeAndStoredType(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	if err := files.CheckType("a.png", files.Sniff(png), png); err != nil {
		t.Errorf("a PNG named .png: %v", err)
	}
	text := []byte("hello, this is a log\n")
	err := files.CheckType("a.png", files.Sniff(text), text)
	var me *files.MismatchError
	if !errors.As(err, &me) || me.Ext != ".png" || !strings.Contains(err.Error(), "PNG") {
		t.Errorf("text named .png: %v", err)
	}
	if err := files.CheckType("notes.txt", files.Sniff(text), text); err != nil {
		t.Errorf("unknown extensions pass: %v", err)
	}
	if got := files.StoredType("a.png", files.Sniff(png)); got != "image/png" || !files.Inline(got) {
		t.Errorf("stored type of a PNG: %q", got)
	}
	if got := files.StoredType("page.html", "text/html; charset=utf-8"); got != "text/plain; charset=utf-8" || files.Inline(got) {
		t.Errorf("an HTML file is kept as %q", got)
	}
	if got := files.SizeText(64 << 20); got != "64 MiB" {
		t.Errorf("SizeText = %q", got)
	}
}
