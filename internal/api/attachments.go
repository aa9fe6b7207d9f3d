package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/files"
	"tend/internal/store"
)

// DefaultMaxUpload is the largest attachment unless configured: 64 MiB.
const DefaultMaxUpload = 64 << 20

// multipartSlack is what a multipart envelope may add to the file: the
// boundaries, part headers and a few small fields.
const multipartSlack = 1 << 20

// WithBlobs gives the server its file store; without one, uploads and
// downloads answer 503.
func WithBlobs(b blob.Store) Option {
	return func(s *Server) { s.blobs = b }
}

// attachmentRoutes: files on requests and comments.
func (s *Server) attachmentRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/requests/{id}/attachments", h: s.uploadAttachment},
		{method: "GET", path: "/api/v1/attachments/{id}", h: s.downloadAttachment},
	}
}

func (s *Server) maxUpload() int64 {
	if s.cfg.MaxUpload > 0 {
		return s.cfg.MaxUpload
	}
	return DefaultMaxUpload
}

// uploadInput is what an upload says besides its bytes: from the query,
// or from small form fields before the file part of a multipart body.
type uploadInput struct {
	name      string
	nameGiven bool
	commentID int64
	internal  bool
}

// attachmentCreated is the answer to an upload: the record, and what was
// done to the file name if it could not be kept as sent.
type attachmentCreated struct {
	store.Attachment
	RenamedFrom string `json:"renamed_from,omitempty"`
	Notice      string `json:"notice,omitempty"`
}

// uploadAttachment stores a file sent as the raw body (its name in ?name=
// or Content-Disposition) or as the part "file" of a multipart form. The
// bytes are streamed to the file store, never held; the record is written
// only once they are all there, and a failed record removes the file.
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	requestID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in uploadInput
	if in.commentID, err = queryID(r, "comment_id"); err != nil {
		return err
	}
	internal, err := queryBool(r, "internal")
	if err != nil {
		return err
	}
	in.internal = internal != nil && *internal
	if v, ok := r.URL.Query()["name"]; ok {
		in.name, in.nameGiven = v[0], true
	}
	// Who may attach here is settled before a single byte is read: a
	// caller who may not touch the request learns nothing more.
	if err := s.store.CanAttach(ctx, p, requestID, in.commentID, in.internal); err != nil {
		return err
	}
	if s.blobs == nil {
		return apperr.New(apperr.Unavailable, "this server has no file store configured; attachments are off")
	}
	limit := s.maxUpload()
	src, err := s.uploadBody(w, r, p, requestID, &in, limit)
	if err != nil {
		return err
	}
	if strings.TrimSpace(in.name) == "" {
		return apperr.Field("name", "say what the file is called: ?name=…, a Content-Disposition filename, or the filename of the form's file part")
	}
	name := files.SanitizeName(in.name)

	// The first bytes decide the type; a file that is not what its name
	// says is refused before anything is stored.
	br := bufio.NewReaderSize(src, 512)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) {
		return bodyError(err, limit)
	}
	if len(head) == 0 {
		return apperr.Field("file", "the file is empty")
	}
	sniffed := http.DetectContentType(head)
	if err := checkType(name, sniffed, head); err != nil {
		return err
	}
	ctype := files.StoredType(name, sniffed)

	b, err := s.blobs.Put(ctx, br, limit)
	if err != nil {
		return uploadError(err, limit)
	}
	b.ContentType = ctype
	a, replay, err := s.store.AddAttachmentWithKey(ctx, p, idempotencyKey(r), requestID, in.commentID, name, in.internal, b)
	if err != nil {
		s.discard(ctx, b)
		return err
	}
	out := attachmentCreated{Attachment: a}
	if name != in.name {
		out.RenamedFrom = in.name
		out.Notice = fmt.Sprintf("the file was renamed from %q to %q: folder parts and control characters are not kept, and names are at most %d bytes", in.name, name, store.MaxAttachmentName)
	}
	if replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/attachments/"+strconv.FormatInt(a.ID, 10))
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// uploadBody finds the file in the request: the part "file" of a
// multipart form (whose fields may add to in, checked again if they
// change who may attach), or else the raw body. A declared length over
// the limit is refused before anything is read.
func (s *Server) uploadBody(w http.ResponseWriter, r *http.Request, p auth.Principal, requestID int64, in *uploadInput, limit int64) (io.Reader, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		if r.ContentLength > limit {
			return nil, tooLarge(limit)
		}
		if !in.nameGiven {
			var err error
			if in.name, err = dispositionName(r.Header.Get("Content-Disposition"), "Content-Disposition"); err != nil {
				return nil, err
			}
		}
		return r.Body, nil
	}
	if r.ContentLength > limit+multipartSlack {
		return nil, tooLarge(limit)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartSlack)
	before := *in
	part, err := filePart(r, in, limit)
	if err != nil {
		return nil, err
	}
	if in.commentID != before.commentID || in.internal != before.internal {
		if err := s.store.CanAttach(r.Context(), p, requestID, in.commentID, in.internal); err != nil {
			return nil, err
		}
	}
	return part, nil
}

// discard removes a file whose record was not written, if this upload
// created it and no other record refers to it.
func (s *Server) discard(ctx context.Context, b blob.Blob) {
	if !b.Created {
		return
	}
	ctx = context.WithoutCancel(ctx) // the client may be gone; clean up anyway
	if used, err := s.store.BlobInUse(ctx, b.Key); err != nil || used {
		return
	}
	if err := s.blobs.Delete(ctx, b.Key); err != nil {
		s.log.WarnContext(ctx, "could not remove an unrecorded file", "key", b.Key, "err", err)
	}
}

// filePart walks a multipart body part by part (nothing is parsed into
// memory) to the part named "file". Small fields before it may give name,
// comment_id and internal; the query wins where both do.
func filePart(r *http.Request, in *uploadInput, limit int64) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "could not read the multipart body: %v", err)
	}
	q := r.URL.Query()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, apperr.Field("file", `the form has no part named "file"; send the file in it`)
		}
		if err != nil {
			return nil, bodyError(err, limit)
		}
		field := part.FormName()
		switch field {
		case "file":
			if !in.nameGiven {
				if in.name, err = dispositionName(part.Header.Get("Content-Disposition"), "file"); err != nil {
					return nil, err
				}
			}
			return part, nil
		case "name", "comment_id", "internal":
			v, err := io.ReadAll(io.LimitReader(part, 1025))
			if err != nil {
				return nil, bodyError(err, limit)
			}
			if len(v) > 1024 {
				return nil, apperr.Field(field, "%s is longer than 1024 bytes", field)
			}
			if q.Has(field) {
				continue
			}
			val := strings.TrimSpace(string(v))
			switch field {
			case "name":
				in.name, in.nameGiven = string(v), true
			case "comment_id":
				if in.commentID, err = strconv.ParseInt(val, 10, 64); err != nil || in.commentID < 0 {
					return nil, apperr.Field("comment_id", "comment_id must be a whole number")
				}
			case "internal":
				b, err := strconv.ParseBool(val)
				if err != nil {
					return nil, apperr.Field("internal", "internal must be true or false")
				}
				in.internal = b
			}
		}
		// Other parts are skipped: NextPart reads past them.
	}
}

// dispositionName reads the filename parameter (filename*= included) of a
// Content-Disposition header; an absent header is no name.
func dispositionName(h, field string) (string, error) {
	if h == "" {
		return "", nil
	}
	_, params, err := mime.ParseMediaType(h)
	if err != nil {
		return "", apperr.Field(field, "could not read the file name from Content-Disposition: %v", err)
	}
	return params["filename"], nil
}

func tooLarge(limit int64) error {
	return &apperr.Error{Code: apperr.TooLarge, Field: "file",
		Message: fmt.Sprintf("the file is larger than the limit of %s; nothing was kept", files.SizeText(limit))}
}

// uploadError maps a failure of storing an upload: the limit, an empty
// file and a broken body are the client's (4xx); anything else from the
// file store is ours.
func uploadError(err error, limit int64) error {
	var re *blob.ReadError
	switch {
	case errors.Is(err, blob.ErrTooLarge):
		return tooLarge(limit)
	case errors.Is(err, blob.ErrEmpty):
		return apperr.Field("file", "the file is empty")
	case errors.As(err, &re):
		return bodyError(re.Err, limit)
	}
	return fmt.Errorf("store upload: %w", err)
}

// bodyError maps a failure reading the request body: over the envelope's
// limit, or a body that broke off or is malformed.
func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit)
	}
	return &apperr.Error{Code: apperr.Invalid, Field: "file",
		Message: fmt.Sprintf("the upload broke off or is malformed (%v); nothing was kept", err), Err: err}
}

// checkType refuses a file whose bytes are not what its extension says.
func checkType(name, sniffed string, head []byte) error {
	if err := files.CheckType(name, sniffed, head); err != nil {
		return apperr.Field("name", "%s", err.Error())
	}
	return nil
}

// downloadAttachment streams a file to whoever may read its request
// (customers: not internal files), with ranges and conditional requests.
// The headers keep a browser from running or guessing at the content.
func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.store.GetAttachment(r.Context(), p, id)
	if err != nil {
		return err
	}
	if s.blobs == nil {
		return apperr.New(apperr.Unavailable, "this server has no file store configured; attachments are off")
	}
	f, err := s.blobs.Open(r.Context(), a.BlobKey)
	if err != nil {
		return fmt.Errorf("attachment %d: open file %s: %w", a.ID, a.BlobKey, err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Content-Disposition", contentDisposition(a.Name, files.Inline(a.ContentType)))
	h.Set("ETag", `"`+a.SHA256+`"`)
	h.Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "", a.CreatedAt, f)
	return nil
}

// contentDisposition names the file for the browser: an ASCII fallback
// and the exact name as RFC 8187 UTF-8.
func contentDisposition(name string, inline bool) string {
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	var fallback, exact strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7E || r == '"' || r == '\\' || r == '%' {
			fallback.WriteByte('_')
		} else {
			fallback.WriteRune(r)
		}
	}
	const attrChar = "!#$&+-.^_`|~"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(attrChar, c) >= 0 {
			exact.WriteByte(c)
		} else {
			fmt.Fprintf(&exact, "%%%02X", c)
		}
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, kind, fallback.String(), exact.String())
}
