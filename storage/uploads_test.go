package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
)

// TestEnqueueUploadWaitsUntilUploaded: a message with a file waits in the outbox
// across a reopen, gets the server's attachment from Uploaded, and after a failure
// Retry puts it back to upload again.
func TestEnqueueUploadWaitsUntilUploaded(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, s)
	m, err := s.EnqueueUpload(model.Message{RoomID: "r", Attachment: &model.Attachment{Name: "cat.png", Size: 10}}, "/photos/cat.png")
	if err != nil || m.UploadPath != "/photos/cat.png" || m.Status != model.StatusSending {
		t.Fatalf("EnqueueUpload = %+v, %v", m, err)
	}
	if _, err := s.EnqueueUpload(model.Message{RoomID: "r"}, ""); err == nil {
		t.Fatal("EnqueueUpload without a file accepted")
	}
	plain, _ := s.Enqueue(model.Message{RoomID: "r", Content: "text"})
	s.Close()
	if s, err = Open(dir); err != nil { // an app restart
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pending, err := s.PendingUploads()
	if err != nil || len(pending) != 1 || pending[0].ID != m.ID || pending[0].UploadPath != "/photos/cat.png" {
		t.Fatalf("PendingUploads after reopen = %+v, %v", pending, err)
	}
	if got := mustGet(t, s, plain.RoomID, plain.ID); got.UploadPath != "" {
		t.Fatalf("plain message has an upload path %q", got.UploadPath)
	}
	if _, moved, err := s.MarkFailed(m.ID, "file over the upload limit"); err != nil || !moved {
		t.Fatalf("MarkFailed: %v %v", moved, err)
	}
	if pending, _ := s.PendingUploads(); len(pending) != 0 {
		t.Fatalf("a failed upload is pending: %+v", pending)
	}
	if _, moved, err := s.Uploaded(m.ID, model.Attachment{URL: "/api/uploads/x"}); err != nil || moved {
		t.Fatalf("Uploaded on a failed message moved it: %v %v", moved, err)
	}
	if _, err := s.Retry(m.ID); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.PendingUploads(); len(pending) != 1 {
		t.Fatalf("retried upload not pending: %+v", pending)
	}
	att := model.Attachment{URL: "/api/uploads/x", Name: "cat.png", Size: 10, MIME: "image/png", Width: 2, Height: 5, ThumbURL: "/api/uploads/x/thumb"}
	up, moved, err := s.Uploaded(m.ID, att)
	if err != nil || !moved || up.UploadPath != "" || up.Attachment == nil || *up.Attachment != att {
		t.Fatalf("Uploaded = %+v, %v, %v", up, moved, err)
	}
	if pending, _ := s.PendingUploads(); len(pending) != 0 {
		t.Fatalf("uploaded message still pending: %+v", pending)
	}
	out, _ := s.Outbox()
	if len(out) != 2 || out[1].ID() != m.ID || out[1].Message.Attachment.URL != att.URL {
		t.Fatalf("outbox %+v: want the text and the uploaded message, to send", out)
	}
}

// TestMigrateUploadsOnAnOldStore: a store made before uploads gains the column.
func TestMigrateUploadsOnAnOldStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Exec(`ALTER TABLE messages DROP COLUMN upload_path`).Error; err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	signIn(t, s)
	if _, err := s.EnqueueUpload(model.Message{RoomID: "r"}, "/f"); err != nil {
		t.Fatal(err)
	}
}

// TestDownloadsBounded: the cache keeps what fits, and the least recently used go.
func TestDownloadsBounded(t *testing.T) {
	d, err := OpenDownloads(t.TempDir(), 250)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for i, id := range []string{"a", "b"} {
		p, err := d.Put(id, bytes.NewReader(make([]byte, 100)))
		if err != nil {
			t.Fatal(err)
		}
		at := old.Add(time.Duration(i) * time.Minute)
		_ = os.Chtimes(p, at, at)
	}
	if _, ok := d.Get("a"); !ok { // a is now the most recently used
		t.Fatal("a not cached")
	}
	if _, err := d.Put("c", bytes.NewReader(make([]byte, 100))); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Get("b"); ok {
		t.Fatal("b, least recently used, still cached past the bound")
	}
	for _, id := range []string{"a", "c"} {
		if p, ok := d.Get(id); !ok || filepath.Base(p) != id {
			t.Fatalf("%s: %q %v", id, p, ok)
		}
	}
	if _, err := d.Put("../x", strings.NewReader("x")); err == nil {
		t.Fatal("an id with a path accepted")
	}
}
