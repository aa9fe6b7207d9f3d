package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// The copy hashes on another goroutine: what is stored and its address
// must still be the bytes sent, whatever sizes the reads come in.
func TestPutHashesWhatItStores(t *testing.T) {
	d, err := NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, size := range []int{1, 511, 64 << 10, 64<<10 + 1, 3<<20 + 17} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(r.IntN(256))
		}
		for name, src := range map[string]io.Reader{
			"whole": bytes.NewReader(data), "halves": iotest.HalfReader(bytes.NewReader(data)), "data with EOF": iotest.DataErrReader(bytes.NewReader(data)),
		} {
			b, err := d.Put(context.Background(), src, 1<<30)
			if err != nil {
				t.Fatalf("%d bytes, %s: %v", size, name, err)
			}
			sum := sha256.Sum256(data)
			if b.Key != hex.EncodeToString(sum[:]) || b.Size != int64(size) {
				t.Fatalf("%d bytes, %s: key %s size %d, want %x %d", size, name, b.Key, b.Size, sum, size)
			}
			f, err := d.Open(context.Background(), b.Key)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(f)
			f.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("%d bytes, %s: the stored file differs", size, name)
			}
		}
	}
}
