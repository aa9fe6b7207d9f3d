package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"tend/internal/apperr"
	"tend/internal/apptest"
	"tend/internal/auth"
	"tend/internal/blob"
	"tend/internal/desk"
	"tend/internal/store"
)

func principal(t *testing.T, st *store.Store, login string) auth.Principal {
	t.Helper()
	a, err := st.Authenticate(context.Background(), login, "demo")
	if err != nil {
		t.Fatalf("sign in %s: %v", login, err)
	}
	p := a.Principal()
	p.Scope = auth.ScopeWrite
	return p
}

func fakeBlob(content string) blob.Blob {
	s := sha256.Sum256([]byte(content))
	h := hex.EncodeToString(s[:])
	return blob.Blob{Key: h, SHA256: h, Size: int64(len(content)), ContentType: "text/plain; charset=utf-8", Created: true}
}

func wantCode(t *testing.T, what string, err error, code apperr.Code, field string) {
	t.Helper()
	e := apperr.As(err)
	if err == nil || e.Code != code || e.Field != field {
		t.Errorf("%s: %v, want %s on %q", what, err, code, field)
	}
}

func TestAttachmentRecords(t *testing.T) {
	for _, engine := range apptest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			app := apptest.NewApp(t, engine, apptest.Options{Demo: true})
			st := app.Store
			alfa := principal(t, st, "admin@alfa.example")
			beta := principal(t, st, "admin@beta.example")
			agent := principal(t, st, "agent@vendor.example")
			r, _, err := st.RegisterRequest(ctx, alfa, desk.NewRequest{ProductID: 1, Type: "fault", Subject: "Files", Description: "See the log."}, "", app.Calendar.Current())
			if err != nil {
				t.Fatal(err)
			}

			app.Clock.Advance(time.Minute)
			b := fakeBlob("the log")
			a, err := st.AddAttachment(ctx, alfa, r.ID, 0, "server.log", false, b)
			if err != nil {
				t.Fatal(err)
			}
			if a.ID == 0 || a.RequestID != r.ID || a.SHA256 != b.SHA256 || a.BlobKey != b.Key || a.UploadedBy != alfa.AccountID || a.Internal {
				t.Fatalf("added %+v", a)
			}
			after, err := st.GetRequest(ctx, alfa, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Version != r.Version+1 || !after.LastActivityAt.After(r.LastActivityAt) {
				t.Errorf("request not touched: version %d→%d, activity %v→%v", r.Version, after.Version, r.LastActivityAt, after.LastActivityAt)
			}
			j, err := st.RequestJournal(ctx, alfa, r.ID, store.Page{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			if last := j.Items[len(j.Items)-1]; last.Action != "attachment_added" || last.Note != "server.log" || last.CustomerID != alfa.CustomerID {
				t.Errorf("journal: %+v", last)
			}

			// Refusals, each before anything is written.
			_, err = st.AddAttachment(ctx, alfa, r.ID, 0, "x.txt", true, fakeBlob("x"))
			wantCode(t, "customer marks internal", err, apperr.Invalid, "internal")
			_, err = st.AddAttachment(ctx, beta, r.ID, 0, "x.txt", false, fakeBlob("x"))
			wantCode(t, "another customer", err, apperr.NotFound, "")
			_, err = st.AddAttachment(ctx, alfa, r.ID, 999999, "x.txt", false, fakeBlob("x"))
			wantCode(t, "no such comment", err, apperr.Invalid, "comment_id")
			readOnly := alfa
			readOnly.Scope = auth.ScopeRead
			_, err = st.AddAttachment(ctx, readOnly, r.ID, 0, "x.txt", false, fakeBlob("x"))
			wantCode(t, "read-only token", err, apperr.Forbidden, "")
			_, err = st.AddAttachment(ctx, alfa, r.ID, 0, "", false, fakeBlob("x"))
			wantCode(t, "no name", err, apperr.Invalid, "name")
			if err := st.CanAttach(ctx, beta, r.ID, 0, false); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("CanAttach for another customer: %v", err)
			}

			// Internal files: staff only, and invisible to customers.
			in, err := st.AddAttachment(ctx, agent, r.ID, 0, "analysis.txt", true, fakeBlob("internal"))
			if err != nil || !in.Internal {
				t.Fatalf("internal: %+v %v", in, err)
			}
			if _, err := st.GetAttachment(ctx, alfa, in.ID); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("customer reads an internal file: %v", err)
			}
			if _, err := st.GetAttachment(ctx, agent, in.ID); err != nil {
				t.Errorf("agent reads the internal file: %v", err)
			}
			if _, err := st.GetAttachment(ctx, beta, a.ID); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("beta reads alfa's file: %v", err)
			}
			if got, err := st.GetAttachment(ctx, alfa, a.ID); err != nil || got.Name != "server.log" || got.BlobKey != b.Key {
				t.Errorf("alfa reads its file: %+v %v", got, err)
			}
			if j, _ := st.RequestJournal(ctx, alfa, r.ID, store.Page{Limit: 50}); j.Items[len(j.Items)-1].Action == "internal_attachment" {
				t.Errorf("the customer's journal shows the internal file")
			}

			for key, want := range map[string]bool{b.Key: true, fakeBlob("never stored").Key: false} {
				if used, err := st.BlobInUse(ctx, key); err != nil || used != want {
					t.Errorf("BlobInUse(%s) = %v, %v; want %v", key[:8], used, err, want)
				}
			}
		})
	}
}
