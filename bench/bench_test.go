package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"testing"
)

// The harness end to end at a small size, so that it cannot rot: every
// measurement runs and prints its JSON line without errors. The figures
// mean nothing at this size (bench/RESULTS.md has the real ones).
func TestHarnessSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs tend serve")
	}
	var out bytes.Buffer
	args := []string{"-requests", "2000", "-data", t.TempDir(), "-duration", "150ms", "-rss-load", "200ms", "-idle", "50ms",
		"-upload-size", "4194304", "-startups", "1", "-progress=false"}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatalf("bench: %v", err)
	}
	var ops []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if r["engine"] != "sqlite" || r["requests"] != 2000.0 {
			t.Errorf("line without engine and size: %s", sc.Text())
		}
		if e, ok := r["errors"].(float64); ok && e > 0 {
			t.Errorf("errors: %s", sc.Text())
		}
		if n, ok := r["n"].(float64); ok && n == 0 {
			t.Errorf("nothing measured: %s", sc.Text())
		}
		ops = append(ops, r["op"].(string))
	}
	for _, want := range append([]string{"generate", "db_size"}, allOps...) {
		if !slices.Contains(ops, want) {
			t.Errorf("no %s line; got %v", want, ops)
		}
	}
}
