package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// files lists every regular file under root, temp files included.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	return out
}

func TestDiskPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	d, err := NewDisk(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("%PDF-1.7\n" + strings.Repeat("x", 100_000))
	b, err := d.Put(ctx, bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if b.SHA256 != hex.EncodeToString(sum[:]) || b.Key != b.SHA256 || b.Size != int64(len(data)) || !b.Created {
		t.Fatalf("blob = %+v", b)
	}
	if b.ContentType != "application/pdf" {
		t.Errorf("content type %q", b.ContentType)
	}
	want := filepath.Join(d.Root(), b.SHA256[:2], b.SHA256[2:4], b.SHA256)
	if got := files(t, d.Root()); len(got) != 1 || got[0] != want {
		t.Fatalf("files = %v, want [%s]", got, want)
	}

	again, err := d.Put(ctx, bytes.NewReader(data), 1<<20)
	if err != nil || again.Created || again.Key != b.Key {
		t.Fatalf("second put = %+v, %v; want the same key, not created", again, err)
	}
	if got := files(t, d.Root()); len(got) != 1 {
		t.Fatalf("after dedupe: files = %v", got)
	}

	rc, err := d.Open(ctx, b.Key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	if err := d.Delete(ctx, b.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, b.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
	if got := files(t, d.Root()); len(got) != 0 {
		t.Fatalf("after delete: files = %v", got)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63) + "/"} {
		if _, err := d.Open(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("open %q: %v, want ErrNotFound", bad, err)
		}
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestDiskPutRefusesAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	d, err := NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, strings.NewReader(strings.Repeat("a", 1001)), 1000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if b, err := d.Put(ctx, strings.NewReader(strings.Repeat("a", 1000)), 1000); err != nil || b.Size != 1000 {
		t.Errorf("at the limit: %+v %v", b, err)
	} else {
		d.Delete(ctx, b.Key)
	}
	if _, err := d.Put(ctx, strings.NewReader(""), 1000); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	var re *ReadError
	if _, err := d.Put(ctx, &failingReader{n: 200_000}, 1<<20); !errors.As(err, &re) {
		t.Errorf("broken source: %v, want a ReadError", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Put(cctx, strings.NewReader("abc"), 1000); !errors.As(err, &re) {
		t.Errorf("cancelled: %v, want a ReadError", err)
	}
	if got := files(t, d.Root()); len(got) != 0 {
		t.Fatalf("files left behind: %v", got)
	}
}
