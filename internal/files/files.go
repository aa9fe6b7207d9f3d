// Package files holds the pure checks every upload of an attachment goes
// through, whether it comes through the REST API or a page's form: the
// file name is cleaned, the first bytes must be what the extension says,
// and the type the file is kept and served as is decided once. No I/O.
package files

import (
	"fmt"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxName caps a file name, in bytes (the same as store.MaxAttachmentName;
// a test keeps the two equal).
const MaxName = 255

// HeadSize is how many first bytes Sniff and CheckType look at.
const HeadSize = 512

// SanitizeName keeps the last element of a path-like name ("../../x",
// "C:\x\y.png"), drops control and direction-override characters, and caps
// the length, keeping the extension. An empty result becomes "file".
func SanitizeName(raw string) string {
	s := strings.ToValidUTF8(raw, "")
	s = strings.ReplaceAll(s, `\`, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0xFEFF {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." || s == "" {
		s = "file"
	}
	if len(s) > MaxName {
		ext := path.Ext(s)
		if len(ext) > 16 {
			ext = ""
		}
		base := s[:MaxName-len(ext)]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
		s = base + ext
	}
	return s
}

// Sniff is the content type the first bytes of a file suggest
// (http.DetectContentType).
func Sniff(head []byte) string { return http.DetectContentType(head) }

// typeCheck is what bytes a file with a known extension must start with,
// and the type it is stored and served as.
type typeCheck struct {
	stored, what string
	match        func(sniffed string, head []byte) bool
}

func sniffedAs(t string) func(string, []byte) bool {
	return func(sniffed string, _ []byte) bool { return sniffed == t }
}

var knownTypes = map[string]typeCheck{
	".png":  {"image/png", "a PNG image", sniffedAs("image/png")},
	".jpg":  {"image/jpeg", "a JPEG image", sniffedAs("image/jpeg")},
	".jpeg": {"image/jpeg", "a JPEG image", sniffedAs("image/jpeg")},
	".gif":  {"image/gif", "a GIF image", sniffedAs("image/gif")},
	".webp": {"image/webp", "a WebP image", sniffedAs("image/webp")},
	".pdf":  {"application/pdf", "a PDF document", sniffedAs("application/pdf")},
	".zip": {"application/zip", "a ZIP archive", func(_ string, head []byte) bool {
		// Local file header, an empty archive's end record, or a spanned archive.
		h := string(head)
		return strings.HasPrefix(h, "PK\x03\x04") || strings.HasPrefix(h, "PK\x05\x06") || strings.HasPrefix(h, "PK\x07\x08")
	}},
	".gz":  {"application/gzip", "a gzip archive", sniffedAs("application/x-gzip")},
	".tgz": {"application/gzip", "a gzip archive", sniffedAs("application/x-gzip")},
}

// inlineTypes are shown in the browser; everything else is downloaded.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// Inline reports whether a stored content type is shown in the browser
// (images) rather than downloaded.
func Inline(contentType string) bool { return inlineTypes[contentType] }

// StoredType decides the content type kept for a file from its name and
// its first bytes (checked by CheckType): the known extension's type, else
// text/plain when the bytes are text, application/octet-stream if not.
func StoredType(name, sniffed string) string {
	if tc, ok := knownTypes[strings.ToLower(path.Ext(name))]; ok {
		return tc.stored
	}
	if mt, params, err := mime.ParseMediaType(sniffed); err == nil && strings.HasPrefix(mt, "text/") {
		// Never text/html: a file is not a page of this site.
		cs := params["charset"]
		if cs == "" {
			cs = "utf-8"
		}
		return "text/plain; charset=" + cs
	}
	return "application/octet-stream"
}

// MismatchError says a file's bytes are not what its extension says.
type MismatchError struct {
	Name  string // the (sanitized) file name
	Ext   string // its extension, lower case, with the dot
	What  string // what the extension promises, in English: "a PNG image"
	Looks string // the media type the bytes look like
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%q is named as %s, but its bytes are not one (they look like %s); rename the file or attach the right one", e.Name, e.What, e.Looks)
}

// CheckType refuses (with a *MismatchError) a file whose first bytes are
// not what its extension says; unknown extensions pass.
func CheckType(name, sniffed string, head []byte) error {
	ext := strings.ToLower(path.Ext(name))
	tc, ok := knownTypes[ext]
	if !ok || tc.match(sniffed, head) {
		return nil
	}
	looks := sniffed
	if mt, _, err := mime.ParseMediaType(sniffed); err == nil {
		looks = mt
	}
	return &MismatchError{Name: name, Ext: ext, What: tc.what, Looks: looks}
}

// SizeText writes a byte count the way limits are usually written:
// "64 MiB", "512 KiB", "1000 bytes".
func SizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
