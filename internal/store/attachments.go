package store

import (
	"context"
	"database/sql"
	"errors"
	"unicode/utf8"

	"tend/internal/apperr"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/desk"
)

// MaxAttachmentName caps a file name, in bytes.
const MaxAttachmentName = 255

// CanAttach checks, before any bytes are stored, that the caller may attach
// a file to the request (and comment): the same checks AddAttachment makes
// in its transaction, so a refused upload never reaches the file store.
func (s *Store) CanAttach(ctx context.Context, p auth.Principal, requestID, commentID int64, internal bool) error {
	_, _, err := s.read().attachable(ctx, p, requestID, commentID, internal)
	return s.failOrNil("check attachment", err)
}

// attachable reads the request for an attachment and says whether the file
// must be internal (it is on an internal note).
func (c conn) attachable(ctx context.Context, p auth.Principal, requestID, commentID int64, internal bool) (desk.Request, bool, error) {
	r, err := c.requestFor(ctx, p, requestID)
	if err != nil {
		return r, false, err
	}
	if err := auth.Authorize(p, auth.Update, requestResource(r)); err != nil {
		return r, false, err
	}
	if internal && !p.IsStaff() {
		return r, false, apperr.Field("internal", "only staff attach internal files")
	}
	if !r.State.Open() && p.IsCustomer() {
		return r, false, apperr.New(apperr.Conflict, "the request is %s; reopen it or register a new one", r.State)
	}
	if commentID != 0 {
		var onRequest int64
		var noteInternal bool
		err := c.queryRow(ctx, `SELECT request_id, internal FROM comments WHERE id = ?`, commentID).Scan(&onRequest, &noteInternal)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (onRequest != requestID || noteInternal && p.IsCustomer()) {
			return r, false, apperr.Field("comment_id", "there is no comment %d on this request", commentID)
		}
		if err != nil {
			return r, false, err
		}
		// A file on an internal note is as internal as the note.
		internal = internal || noteInternal
	}
	return r, internal, nil
}

// AddAttachment records a file already in the file store (b) on a request,
// and on one of its comments when commentID is not 0: the record, the
// request's activity and the journal entry in one transaction. Customers
// cannot attach internal files; a file on an internal note is internal.
func (s *Store) AddAttachment(ctx context.Context, p auth.Principal, requestID, commentID int64, name string, internal bool, b blob.Blob) (Attachment, error) {
	a, _, err := s.AddAttachmentWithKey(ctx, p, "", requestID, commentID, name, internal, b)
	return a, err
}

// AddAttachmentWithKey is AddAttachment with an Idempotency-Key: a retried
// upload with the same key and the same bytes answers the first record
// (replay true) instead of adding a second.
func (s *Store) AddAttachmentWithKey(ctx context.Context, p auth.Principal, idemKey string, requestID, commentID int64, name string, internal bool, b blob.Blob) (Attachment, bool, error) {
	switch {
	case name == "" || !utf8.ValidString(name):
		return Attachment{}, false, apperr.Field("name", "give the file a name")
	case len(name) > MaxAttachmentName:
		return Attachment{}, false, apperr.Field("name", "the file name is longer than %d bytes", MaxAttachmentName)
	case b.Size <= 0:
		return Attachment{}, false, apperr.Field("file", "the file is empty")
	case b.Key == "" || len(b.SHA256) != 64:
		return Attachment{}, false, apperr.New(apperr.Internal, "attachment without a stored file")
	}
	if b.ContentType == "" {
		b.ContentType = "application/octet-stream"
	}
	var out Attachment
	fp := fingerprint([]any{requestID, commentID, name, internal, b.SHA256})
	id, replay, err := s.withKey(ctx, p, "add attachment", idemKey, fp, func(c conn) (int64, error) {
		r, internal, err := c.attachable(ctx, p, requestID, commentID, internal)
		if err != nil {
			return 0, err
		}
		now := s.Now()
		out = Attachment{RequestID: requestID, CommentID: commentID, Name: name, ContentType: b.ContentType, Size: b.Size,
			SHA256: b.SHA256, Internal: internal, UploadedBy: p.AccountID, CreatedAt: now, BlobKey: b.Key}
		out.ID, err = c.insert(ctx, `INSERT INTO attachments (request_id, comment_id, name, content_type, size, sha256, blob_key, internal, uploaded_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			requestID, nullID(commentID), name, out.ContentType, out.Size, out.SHA256, out.BlobKey, internal, nullID(p.AccountID), now)
		if err != nil {
			return 0, err
		}
		if _, err := c.exec(ctx, `UPDATE requests SET last_activity_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`, now, now, requestID); err != nil {
			return 0, err
		}
		action := "attachment_added"
		if internal {
			action = "internal_attachment"
		}
		return out.ID, c.journal(ctx, p, "request", requestID, r.CustomerID, action, nil, out, name)
	})
	if err != nil {
		return Attachment{}, false, err
	}
	if replay {
		out, err = s.GetAttachment(ctx, p, id)
	}
	return out, replay, err
}

// GetAttachment reads an attachment the caller may see: whoever may read
// its request, except that customers never see internal files. Anything
// else is "not found".
func (s *Store) GetAttachment(ctx context.Context, p auth.Principal, id int64) (Attachment, error) {
	c := s.read()
	a, err := scanAttachment(c.queryRow(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE id = ?`, id))
	if err != nil {
		return Attachment{}, s.failOrNil("get attachment", notFound(err, "attachment"))
	}
	if _, err := c.requestFor(ctx, p, a.RequestID); err != nil {
		if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Forbidden) {
			return Attachment{}, apperr.New(apperr.NotFound, "no such attachment")
		}
		return Attachment{}, s.fail("get attachment", err)
	}
	if a.Internal && !p.IsStaff() {
		return Attachment{}, apperr.New(apperr.NotFound, "no such attachment")
	}
	return a, nil
}

// BlobInUse says whether any attachment refers to a stored file, so that a
// file is deleted only when no record needs it.
func (s *Store) BlobInUse(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.read().queryRow(ctx, `SELECT (SELECT COUNT(*) FROM attachments WHERE blob_key = ?) + (SELECT COUNT(*) FROM mail_messages WHERE blob_key = ?)`, key, key).Scan(&n)
	return n > 0, s.failOrNil("check file use", err)
}
