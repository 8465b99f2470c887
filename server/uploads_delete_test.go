package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestDeleteMessageDeletesUpload: an upload carried by two messages is kept while one
// of them stands; once both are deleted its file, its thumbnail and its record are
// gone (404 to the uploader too, and from the folder), and it is no attachment any more.
func TestDeleteMessageDeletesUpload(t *testing.T) {
	in := servertest.Start(t, withDirBlob(t, testConfig()))
	testDeleteMessageDeletesUpload(t, in, func() []string { return blobFiles(t, in) })
}

func testDeleteMessageDeletesUpload(t *testing.T, in *servertest.Instance, files func() []string) {
	ann, bob := connect(t, in, "ann"), connect(t, in, "bob")
	st, up, e := upload(t, in, ann.auth.AccessToken, "cat.png", pngOf(t, 600, 400))
	if st != http.StatusCreated {
		t.Fatalf("upload: %d %+v", st, e)
	}
	id := strings.TrimPrefix(up.URL, "/api/uploads/")
	var msgs []string
	for range 2 {
		m := model.NewMessageID()
		ann.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: m, RoomID: server.GeneralRoomID, Attachment: &model.Attachment{URL: up.URL}})
		ann.wantAck(t, m)
		msgs = append(msgs, m)
	}
	for _, p := range []string{up.URL, up.ThumbURL} {
		if resp, _ := get(t, in, p, bob.auth.AccessToken, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("member GET %s: %d", p, resp.StatusCode)
		}
	}
	blob := server.UploadBlob(in.Server)
	present := func(key string) bool {
		f, _, err := blob.Open(context.Background(), key)
		if err == nil {
			_ = f.Close()
			return true
		}
		if !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("open blob %s: %v", key, err)
		}
		return false
	}

	// The first delete, and its resend: the other message still carries it.
	del := model.Frame{Type: model.TypeDelete, ID: model.NewMessageID(), RoomID: server.GeneralRoomID, TargetID: msgs[0]}
	ann.wantAck(t, ann.sendUpdate(t, del))
	bob.updateOf(t, del.ID)
	ann.wantAck(t, ann.sendUpdate(t, del))
	if resp, _ := get(t, in, up.URL, bob.auth.AccessToken, ""); resp.StatusCode != http.StatusOK || !present(id) || !present(id+".thumb") {
		t.Fatalf("after one of two messages was deleted: GET %d, blob %v, thumb %v", resp.StatusCode, present(id), present(id+".thumb"))
	}

	last := ann.sendUpdate(t, model.Frame{Type: model.TypeDelete, RoomID: server.GeneralRoomID, TargetID: msgs[1]})
	ann.wantAck(t, last)
	waitUntil(t, "the blobs deleted", func() bool { return !present(id) && !present(id+".thumb") })
	for _, who := range []*user{ann, bob} {
		for _, p := range []string{up.URL, up.ThumbURL} {
			if resp, _ := get(t, in, p, who.auth.AccessToken, ""); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s by %s after the delete: %d, want 404", p, who.auth.Username, resp.StatusCode)
			}
		}
	}
	if f := files(); len(f) != 0 {
		t.Fatalf("files left: %v", f)
	}
	waitUntil(t, "the record deleted", func() bool {
		_, err := server.UploadOf(in.Server, id)
		return errors.Is(err, server.ErrNotFound)
	})
	m := model.NewMessageID()
	ann.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: m, RoomID: server.GeneralRoomID, Attachment: &model.Attachment{URL: up.URL}})
	ann.wantError(t, m, model.CodeInvalid)
}

// failingDeletes is a folder Blob whose deletes fail while fail is set.
type failingDeletes struct {
	server.Blob
	fail atomic.Bool
}

func (b *failingDeletes) Delete(ctx context.Context, key string) error {
	if b.fail.Load() {
		return errors.New("delete refused for the test")
	}
	return b.Blob.Delete(ctx, key)
}

// TestDeleteMessageUploadLeftToSweep: when deleting the blob fails the upload is
// served to no one at once, and the next sweep deletes its files whatever their age.
func TestDeleteMessageUploadLeftToSweep(t *testing.T) {
	cfg := withDirBlob(t, testConfig())
	cfg.PurgeInterval = 20 * time.Millisecond
	blob := &failingDeletes{Blob: cfg.Blob}
	blob.fail.Store(true)
	cfg.Blob = blob
	in := servertest.Start(t, cfg)
	ann := connect(t, in, "ann")
	_, up, _ := upload(t, in, ann.auth.AccessToken, "cat.png", pngOf(t, 600, 400))
	m := model.NewMessageID()
	ann.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: m, RoomID: server.GeneralRoomID, Attachment: &model.Attachment{URL: up.URL}})
	ann.wantAck(t, m)
	ann.wantAck(t, ann.sendUpdate(t, model.Frame{Type: model.TypeDelete, RoomID: server.GeneralRoomID, TargetID: m}))
	waitUntil(t, "the upload gone", func() bool {
		resp, _ := get(t, in, up.URL, ann.auth.AccessToken, "")
		return resp.StatusCode == http.StatusNotFound
	})
	if f := blobFiles(t, in); len(f) != 2 {
		t.Fatalf("files while deletes fail: %v, want the file and its thumbnail", f)
	}
	blob.fail.Store(false)
	waitUntil(t, "the sweep to delete the files", func() bool { return len(blobFiles(t, in)) == 0 })
}
