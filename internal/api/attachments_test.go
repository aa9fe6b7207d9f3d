package api_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tend/internal/api"
	"tend/internal/apptest"
)

// attView is an attachment as the API answers it.
type attView struct {
	ID          int64
	RequestID   int64  `json:"request_id"`
	CommentID   int64  `json:"comment_id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64
	SHA256      string `json:"sha256"`
	Internal    bool
	RenamedFrom string `json:"renamed_from"`
	Notice      string
}

// filer calls the API with whatever headers and bodies a file needs
// (apptest.Client sends JSON).
type filer struct {
	t     testing.TB
	base  string
	token string
	hc    *http.Client
}

func signIn(t testing.TB, app *apptest.App, login string) *filer {
	t.Helper()
	f := &filer{t: t, base: app.HTTP.URL, hc: app.HTTP.Client()}
	var out struct{ Token string }
	r := f.send("POST", "/api/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"login":%q,"password":"demo"}`, login)), "Content-Type", "application/json")
	if r.Status != 200 || json.Unmarshal(r.Body, &out) != nil || out.Token == "" {
		t.Fatalf("sign in as %s: %d %s", login, r.Status, r.Body)
	}
	f.token = out.Token
	return f
}

// send makes one call; hdr is header name, value pairs.
func (f *filer) send(method, path string, body io.Reader, hdr ...string) apptest.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.base+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// upload sends a raw body to a request; query is added as is.
func (f *filer) upload(reqID int64, query string, body []byte, hdr ...string) apptest.Response {
	f.t.Helper()
	return f.send("POST", fmt.Sprintf("/api/v1/requests/%d/attachments?%s", reqID, query), bytes.NewReader(body), hdr...)
}

// mustUpload uploads and expects 201.
func (f *filer) mustUpload(reqID int64, name string, body []byte, hdr ...string) attView {
	f.t.Helper()
	r := f.upload(reqID, "name="+url.QueryEscape(name), body, hdr...)
	return created(f.t, r)
}

func created(t testing.TB, r apptest.Response) attView {
	t.Helper()
	var a attView
	if r.Status != 201 || json.Unmarshal(r.Body, &a) != nil {
		t.Fatalf("upload: status %d, want 201; body %s", r.Status, r.Body)
	}
	return a
}

// refused checks a status and the field the error names.
func refused(t testing.TB, what string, r apptest.Response, status int, field string) {
	t.Helper()
	if _, f, msg := r.Error(); r.Status != status || f != field {
		t.Errorf("%s: %d field %q (%s), want %d field %q", what, r.Status, f, msg, status, field)
	}
}

func (f *filer) newRequest(subject string) int64 {
	f.t.Helper()
	var out struct{ ID int64 }
	r := f.send("POST", "/api/v1/requests", strings.NewReader(fmt.Sprintf(
		`{"product_id":1,"type":"fault","subject":%q,"description":"Screenshots and logs attached."}`, subject)), "Content-Type", "application/json")
	if r.Status != 201 || json.Unmarshal(r.Body, &out) != nil {
		f.t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	return out.ID
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// storedFiles lists every file in the attachment folder, temp files too.
func storedFiles(tb testing.TB, root string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			out = append(out, strings.TrimPrefix(p, root))
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Real files of each kind, made here so they are what they say.
func pngFile(tb testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(3, 3, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func jpegFile(tb testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func gifFile(tb testing.TB) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 4, 4), []color.Color{color.Black, color.White}), nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func zipFile(tb testing.TB) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("server.log")
	io.WriteString(w, strings.Repeat("2026-03-02 10:00:00 ERROR connection refused\n", 50))
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func gzipFile(tb testing.TB) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, "core dump, more or less")
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

var pdfFile = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// multipartBody builds a form: fields first, then the file part.
func multipartBody(tb testing.TB, fields map[string]string, filename string, data []byte) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		mw.WriteField(k, fields[k])
	}
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, filename)}
	h["Content-Type"] = []string{"application/octet-stream"}
	pw, err := mw.CreatePart(h)
	if err != nil {
		tb.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func TestAttachmentUploadAndDownload(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			alfa := signIn(t, app, "admin@alfa.example")
			reqID := alfa.newRequest("The report page fails")

			shot := pngFile(t)
			a := alfa.mustUpload(reqID, "screen.png", shot, "Content-Type", "image/png")
			if a.RequestID != reqID || a.Size != int64(len(shot)) || a.SHA256 != sum(shot) || a.ContentType != "image/png" || a.Internal || a.RenamedFrom != "" {
				t.Fatalf("png: %+v", a)
			}
			got := alfa.send("GET", fmt.Sprintf("/api/v1/attachments/%d", a.ID), nil)
			if got.Status != 200 || !bytes.Equal(got.Body, shot) || sum(got.Body) != a.SHA256 {
				t.Fatalf("download png: %d, %d bytes", got.Status, len(got.Body))
			}
			for h, want := range map[string]string{
				"Content-Type":            "image/png",
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "sandbox",
				"Content-Disposition":     `inline; filename="screen.png"; filename*=UTF-8''screen.png`,
				"Etag":                    `"` + a.SHA256 + `"`,
			} {
				if v := got.Header.Get(h); v != want {
					t.Errorf("png %s = %q, want %q", h, v, want)
				}
			}
			part := alfa.send("GET", fmt.Sprintf("/api/v1/attachments/%d", a.ID), nil, "Range", "bytes=0-7")
			if part.Status != 206 || !bytes.Equal(part.Body, shot[:8]) {
				t.Errorf("range: %d %q", part.Status, part.Body)
			}
			if r := alfa.send("GET", fmt.Sprintf("/api/v1/attachments/%d", a.ID), nil, "If-None-Match", `"`+a.SHA256+`"`); r.Status != 304 {
				t.Errorf("If-None-Match: %d", r.Status)
			}

			// A ZIP named in Content-Disposition (RFC 8187, Cyrillic) is downloaded, never shown.
			logs := zipFile(t)
			z := created(t, alfa.upload(reqID, "", logs, "Content-Type", "application/zip",
				"Content-Disposition", `attachment; filename*=UTF-8''%D0%BB%D0%BE%D0%B3%D0%B8.zip`))
			if z.Name != "логи.zip" || z.ContentType != "application/zip" || z.SHA256 != sum(logs) {
				t.Fatalf("zip: %+v", z)
			}
			got = alfa.send("GET", fmt.Sprintf("/api/v1/attachments/%d", z.ID), nil)
			if !bytes.Equal(got.Body, logs) || got.Header.Get("Content-Type") != "application/zip" {
				t.Fatalf("download zip: %d %s", got.Status, got.Header.Get("Content-Type"))
			}
			if cd := got.Header.Get("Content-Disposition"); cd != `attachment; filename="____.zip"; filename*=UTF-8''%D0%BB%D0%BE%D0%B3%D0%B8.zip` {
				t.Errorf("zip Content-Disposition = %q", cd)
			}
			if got.Header.Get("Content-Security-Policy") != "sandbox" || got.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("zip headers: %v", got.Header)
			}

			// Every kind the server checks, when it is what it says.
			for name, data := range map[string][]byte{"photo.JPG": jpegFile(t), "anim.gif": gifFile(t), "manual.pdf": pdfFile, "core.gz": gzipFile(t), "dump.tgz": gzipFile(t)} {
				a := alfa.mustUpload(reqID, name, data)
				want := map[string]string{".JPG": "image/jpeg", ".gif": "image/gif", ".pdf": "application/pdf", ".gz": "application/gzip", ".tgz": "application/gzip"}[filepath.Ext(name)]
				if a.ContentType != want {
					t.Errorf("%s stored as %s, want %s", name, a.ContentType, want)
				}
			}

			// Multipart, streamed part by part; the part's filename names it.
			ct, body := multipartBody(t, nil, "photo.jpeg", jpegFile(t))
			m := created(t, alfa.send("POST", fmt.Sprintf("/api/v1/requests/%d/attachments", reqID), bytes.NewReader(body), "Content-Type", ct))
			if m.Name != "photo.jpeg" || m.ContentType != "image/jpeg" {
				t.Fatalf("multipart: %+v", m)
			}

			// On a comment of the request.
			var cm struct{ ID int64 }
			alfaJSON := app.Login(t, "admin@alfa.example", "demo")
			alfaJSON.Do("POST", fmt.Sprintf("/api/v1/requests/%d/comments", reqID), map[string]any{"body": "The log of the night."}, 201, &cm)
			onComment := created(t, alfa.upload(reqID, fmt.Sprintf("name=night.log&comment_id=%d", cm.ID), []byte("02:00 backup failed\n")))
			if onComment.CommentID != cm.ID || onComment.ContentType != "text/plain; charset=utf-8" {
				t.Errorf("on a comment: %+v", onComment)
			}
			other := alfa.newRequest("Another one")
			refused(t, "a comment of another request", alfa.upload(other, fmt.Sprintf("name=x.txt&comment_id=%d", cm.ID), []byte("x")), 422, "comment_id")

			// The request lists them, its activity moved, and the journal has each.
			var v struct {
				Version     int64
				Attachments []attView
			}
			alfaJSON.Do("GET", fmt.Sprintf("/api/v1/requests/%d", reqID), nil, 200, &v)
			if len(v.Attachments) != 9 || v.Attachments[0].ID != a.ID || v.Attachments[0].Name != "screen.png" {
				t.Errorf("request lists %d attachments: %+v", len(v.Attachments), v.Attachments)
			}
			var j struct {
				Items []struct{ Action, Note string }
			}
			alfaJSON.Do("GET", fmt.Sprintf("/api/v1/requests/%d/journal?limit=200", reqID), nil, 200, &j)
			added := 0
			for _, e := range j.Items {
				if e.Action == "attachment_added" {
					added++
				}
			}
			if added != 9 {
				t.Errorf("journal has %d attachment_added entries, want 9: %+v", added, j.Items)
			}

			// The same bytes twice are stored once.
			again := alfa.mustUpload(reqID, "screen-again.png", shot)
			if again.ID == a.ID || again.SHA256 != a.SHA256 {
				t.Errorf("again: %+v", again)
			}
			n := 0
			for _, f := range storedFiles(t, app.Files) {
				if strings.HasSuffix(f, a.SHA256) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("the same PNG is stored %d times", n)
			}

			// An Idempotency-Key makes a retried upload answer the first record.
			key := "Idempotency-Key"
			first := created(t, alfa.upload(reqID, "name=retry.txt", []byte("once"), key, "k-1"))
			replay := alfa.upload(reqID, "name=retry.txt", []byte("once"), key, "k-1")
			if r := created(t, replay); r.ID != first.ID || replay.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("replay: %+v %v", r, replay.Header)
			}
			refused(t, "the key reused for other bytes", alfa.upload(reqID, "name=retry.txt", []byte("twice"), key, "k-1"), 409, "Idempotency-Key")
		})
	}
}

func TestAttachmentBadInput(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			cfg := api.DefaultConfig()
			cfg.MaxUpload = 4096
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true, Config: cfg})
			alfa := signIn(t, app, "admin@alfa.example")
			reqID := alfa.newRequest("Odd files")
			shot := pngFile(t)

			t.Run("path-like and odd names are reduced, and the answer says so", func(t *testing.T) {
				for _, c := range []struct {
					sent, kept string
					data       []byte
				}{
					{"../../etc/passwd", "passwd", []byte("root:x:0:0")},
					{`C:\x\y.png`, "y.png", shot},
					{"/var/log/../app.log", "app.log", []byte("log line")},
					{"bad\x01na\x7fme\u202e.txt", "badname.txt", []byte("text")},
					{"  ..  ", "file", []byte("text")},
					{strings.Repeat("я", 200) + ".pdf", strings.Repeat("я", 125) + ".pdf", pdfFile},
				} {
					a := alfa.mustUpload(reqID, c.sent, c.data)
					if a.Name != c.kept || a.RenamedFrom != c.sent || !strings.Contains(a.Notice, "renamed") {
						t.Errorf("%q: kept %q (renamed_from %q, notice %q), want %q", c.sent, a.Name, a.RenamedFrom, a.Notice, c.kept)
					}
				}
				if a := alfa.mustUpload(reqID, "plain.txt", []byte("x")); a.RenamedFrom != "" || a.Notice != "" {
					t.Errorf("a plain name is reported renamed: %+v", a)
				}
			})

			t.Run("bytes that do not match the extension", func(t *testing.T) {
				before := storedFiles(t, app.Files)
				for name, data := range map[string][]byte{
					"photo.png": []byte("just some text"), "scan.jpg": shot, "scan.jpeg": pdfFile, "a.gif": shot,
					"b.webp": shot, "doc.pdf": shot, "logs.zip": []byte("not a zip"), "dump.gz": zipFile(t), "all.tgz": shot,
				} {
					r := alfa.mustFail(reqID, name, data)
					refused(t, name, r, 422, "name")
					if _, _, msg := r.Error(); !strings.Contains(msg, name) {
						t.Errorf("%s: message %q does not name the file", name, msg)
					}
				}
				if after := storedFiles(t, app.Files); !slices.Equal(before, after) {
					t.Errorf("refused files were stored: %v", after)
				}
			})

			t.Run("unknown extensions by their bytes", func(t *testing.T) {
				bin := make([]byte, 300)
				for i := range bin {
					bin[i] = byte(i * 7)
				}
				for name, want := range map[string]string{"data.bin": "application/octet-stream", "trace.log": "text/plain; charset=utf-8",
					"page.html": "text/plain; charset=utf-8", "noext": "application/octet-stream", "image-without-extension": "application/octet-stream"} {
					data := bin
					switch name {
					case "trace.log":
						data = []byte("10:00 started\n")
					case "page.html":
						data = []byte("<html><script>alert(1)</script></html>")
					case "image-without-extension":
						data = shot
					}
					if a := alfa.mustUpload(reqID, name, data); a.ContentType != want {
						t.Errorf("%s stored as %q, want %q", name, a.ContentType, want)
					}
				}
			})

			t.Run("empty, nameless, and not the customer's to mark internal", func(t *testing.T) {
				refused(t, "empty", alfa.upload(reqID, "name=empty.txt", nil), 422, "file")
				ct, body := multipartBody(t, nil, "empty.txt", nil)
				refused(t, "empty part", alfa.send("POST", fmt.Sprintf("/api/v1/requests/%d/attachments", reqID), bytes.NewReader(body), "Content-Type", ct), 422, "file")
				refused(t, "no name", alfa.upload(reqID, "", []byte("x")), 422, "name")
				refused(t, "no file part", alfa.send("POST", fmt.Sprintf("/api/v1/requests/%d/attachments", reqID),
					strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--b--\r\n"), "Content-Type", "multipart/form-data; boundary=b"), 422, "file")
				refused(t, "internal by a customer", alfa.upload(reqID, "name=x.txt&internal=true", []byte("x")), 422, "internal")
				ct, body = multipartBody(t, map[string]string{"internal": "true"}, "x.txt", []byte("x"))
				refused(t, "internal by a customer, in the form", alfa.send("POST", fmt.Sprintf("/api/v1/requests/%d/attachments", reqID), bytes.NewReader(body), "Content-Type", ct), 422, "internal")
				refused(t, "bad comment_id", alfa.upload(reqID, "name=x.txt&comment_id=abc", []byte("x")), 422, "comment_id")
				refused(t, "no such request", alfa.upload(999999, "name=x.txt", []byte("x")), 404, "")
			})

			t.Run("over the limit: 413 and nothing kept", func(t *testing.T) {
				before := storedFiles(t, app.Files)
				big := bytes.Repeat([]byte("x"), 4097)
				refused(t, "Content-Length over", alfa.upload(reqID, "name=big.txt", big), 413, "file")
				// Without a length the server finds out while streaming.
				refused(t, "streamed over", alfa.send("POST", fmt.Sprintf("/api/v1/requests/%d/attachments?name=big.txt", reqID),
					io.MultiReader(bytes.NewReader(big[:2000]), bytes.NewReader(big[2000:]))), 413, "file")
				ct, body := multipartBody(t, nil, "big.txt", big)
				refused(t, "multipart over", alfa.send("POST", fmt.Sprintf("/api/v1/requests/%d/attachments", reqID), io.MultiReader(bytes.NewReader(body)), "Content-Type", ct), 413, "file")
				if after := storedFiles(t, app.Files); !slices.Equal(before, after) {
					t.Errorf("files left behind: %v", after)
				}
				if a := alfa.mustUpload(reqID, "exact.txt", big[:4096]); a.Size != 4096 {
					t.Errorf("at the limit: %+v", a)
				}
			})
		})
	}
}

// mustFail uploads a file expected to be refused.
func (f *filer) mustFail(reqID int64, name string, data []byte) apptest.Response {
	f.t.Helper()
	return f.upload(reqID, "name="+url.QueryEscape(name), data)
}

// A client that goes away in the middle of an upload leaves no temp file
// and no record.
func TestAttachmentBrokenUploadLeavesNothing(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			alfa := signIn(t, app, "admin@alfa.example")
			reqID := alfa.newRequest("Upload over a bad line")

			before := storedFiles(t, app.Files) // the demo's own attachments
			conn, err := net.Dial("tcp", app.HTTP.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			w := bufio.NewWriter(conn)
			fmt.Fprintf(w, "POST /api/v1/requests/%d/attachments?name=half.bin HTTP/1.1\r\nHost: tend\r\nAuthorization: Bearer %s\r\n"+
				"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", reqID, alfa.token, 10<<20)
			w.Write(bytes.Repeat([]byte{0xAB}, 1<<20))
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the upload to start", func() bool { return len(storedFiles(t, app.Files)) > len(before) })
			conn.Close()
			waitFor(t, "the half upload to be removed", func() bool { return slices.Equal(storedFiles(t, app.Files), before) })

			var v struct{ Attachments []attView }
			app.Login(t, "admin@alfa.example", "demo").Do("GET", fmt.Sprintf("/api/v1/requests/%d", reqID), nil, 200, &v)
			if len(v.Attachments) != 0 {
				t.Errorf("a broken upload left a record: %+v", v.Attachments)
			}
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Beta's files are out of alfa's reach, and internal files out of every
// customer's, the requester's included.
func TestAttachmentsOfOneCustomerStayHidden(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			beta := signIn(t, app, "admin@beta.example")
			reqID := beta.newRequest("Beta's private trouble")
			public := beta.mustUpload(reqID, "beta.png", pngFile(t))
			agent := signIn(t, app, "agent@vendor.example")
			internal := created(t, agent.upload(reqID, "name=analysis.txt&internal=true", []byte("their config is wrong")))
			if !internal.Internal {
				t.Fatalf("internal upload: %+v", internal)
			}
			// An internal note's file is internal even when not marked.
			var note struct{ ID int64 }
			app.Login(t, "agent@vendor.example", "demo").Do("POST", fmt.Sprintf("/api/v1/requests/%d/comments", reqID), map[string]any{"body": "between us", "internal": true}, 201, &note)
			onNote := created(t, agent.upload(reqID, fmt.Sprintf("name=note.txt&comment_id=%d", note.ID), []byte("on the note")))
			if !onNote.Internal {
				t.Errorf("a file on an internal note is public: %+v", onNote)
			}

			for _, login := range []string{"admin@alfa.example", "operator@alfa.example", "integrator@alfa.example"} {
				alfa := signIn(t, app, login)
				refused(t, login+" uploads to beta", alfa.upload(reqID, "name=planted.txt", []byte("x")), 404, "")
				for _, id := range []int64{public.ID, internal.ID, onNote.ID} {
					refused(t, fmt.Sprintf("%s downloads beta's %d", login, id), alfa.send("GET", fmt.Sprintf("/api/v1/attachments/%d", id), nil), 404, "")
				}
			}
			// Beta's operator did not register it: operators see their own.
			refused(t, "beta's operator", signIn(t, app, "operator@beta.example").send("GET", fmt.Sprintf("/api/v1/attachments/%d", public.ID), nil), 404, "")
			refused(t, "beta's operator uploads", signIn(t, app, "operator@beta.example").upload(reqID, "name=x.txt", []byte("x")), 404, "")

			// The requester sees the public file, not the internal ones.
			if r := beta.send("GET", fmt.Sprintf("/api/v1/attachments/%d", public.ID), nil); r.Status != 200 {
				t.Errorf("beta's own file: %d", r.Status)
			}
			for _, id := range []int64{internal.ID, onNote.ID} {
				refused(t, "requester downloads an internal file", beta.send("GET", fmt.Sprintf("/api/v1/attachments/%d", id), nil), 404, "")
			}
			betaJSON := app.Login(t, "admin@beta.example", "demo")
			var v struct{ Attachments []attView }
			betaJSON.Do("GET", fmt.Sprintf("/api/v1/requests/%d", reqID), nil, 200, &v)
			if len(v.Attachments) != 1 || v.Attachments[0].ID != public.ID {
				t.Errorf("beta sees %+v", v.Attachments)
			}
			var j struct{ Items []struct{ Action string } }
			betaJSON.Do("GET", fmt.Sprintf("/api/v1/requests/%d/journal?limit=200", reqID), nil, 200, &j)
			for _, e := range j.Items {
				if e.Action == "internal_attachment" {
					t.Errorf("beta's journal shows an internal attachment")
				}
			}
			// Staff read both.
			if r := agent.send("GET", fmt.Sprintf("/api/v1/attachments/%d", internal.ID), nil); r.Status != 200 || string(r.Body) != "their config is wrong" {
				t.Errorf("agent reads the internal file: %d %q", r.Status, r.Body)
			}
		})
	}
}

// A file larger than the process may hold goes through without the heap
// growing with it. The file is generated while it is sent (never a
// slice), the server runs in this process, and the heap is compared
// before and after, with the highest value seen during the upload. The
// path of the bytes is the same on both engines (only the one-row record
// differs), so SQLite alone keeps the suite quick.
func TestAttachmentStreamingKeepsTheHeapFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB upload")
	}
	const size = 256 << 20
	cfg := api.DefaultConfig()
	cfg.MaxUpload = 512 << 20
	app := apptest.NewApp(t, "sqlite", apptest.Options{Demo: true, Config: cfg})
	alfa := signIn(t, app, "admin@alfa.example")
	reqID := alfa.newRequest("A very large log")

	h := sha256.New()
	src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), size), h)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	})
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/requests/%d/attachments?name=huge.bin", app.HTTP.URL, reqID), src)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+alfa.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err := app.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	close(stop)
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)

	a := created(t, apptest.Response{Status: resp.StatusCode, Body: body})
	if a.Size != size || a.SHA256 != hex.EncodeToString(h.Sum(nil)) || a.ContentType != "application/octet-stream" {
		t.Fatalf("stored %+v", a)
	}
	const MiB = 1 << 20
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	peakGrowth := int64(peak) - int64(before.HeapInuse)
	t.Logf("256 MiB in %v: HeapInuse before %.1f MiB, after %.1f MiB (growth %.1f MiB), peak during %.1f MiB (+%.1f MiB), TotalAlloc +%.1f MiB",
		took.Round(time.Millisecond), float64(before.HeapInuse)/MiB, float64(after.HeapInuse)/MiB, float64(growth)/MiB,
		float64(peak)/MiB, float64(peakGrowth)/MiB, float64(after.TotalAlloc-before.TotalAlloc)/MiB)
	if growth >= 32*MiB {
		t.Errorf("the heap grew by %.1f MiB after a 256 MiB upload; the file is being held", float64(growth)/MiB)
	}
	if peakGrowth >= 64*MiB {
		t.Errorf("the heap rose by %.1f MiB during a 256 MiB upload; the file is being buffered", float64(peakGrowth)/MiB)
	}
}
