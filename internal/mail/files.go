package mail

import "tend/internal/files"

// Attachments that come by mail get the checks a portal upload gets
// (internal/files). A file cannot be refused here (nothing is dropped), so
// one whose bytes are not what its name says is kept as
// application/octet-stream: downloaded, never shown.

func cleanFileName(raw string) string { return files.SanitizeName(raw) }

// fileType decides the stored content type of an attachment from its name
// and bytes, and says whether the bytes contradict the name.
func fileType(name string, data []byte) (ctype string, mismatch bool) {
	head := data
	if len(head) > files.HeadSize {
		head = head[:files.HeadSize]
	}
	sniffed := files.Sniff(head)
	if err := files.CheckType(name, sniffed, head); err != nil {
		return "application/octet-stream", true
	}
	return files.StoredType(name, sniffed), false
}
