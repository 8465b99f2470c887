package server

import (
	"context"
	"errors"
	"testing"
)

// TestUploadStore: an upload is readable by its uploader and by members of the rooms
// it was sent in only; the quota sums a user's recent bytes; the sweep deletes old
// unsent uploads only.
func TestUploadStore(t *testing.T) { eachBackend(t, testUploadStore) }

func testUploadStore(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
	ctx := context.Background()
	for _, u := range []string{"ann", "bob", "cid"} {
		if err := st.CreateUser(ctx, UserRecord{ID: u, Username: u, DisplayName: u, PasswordHash: []byte("x")}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateRoom(ctx, RoomRecord{ID: "r", Name: "r", Epoch: "e", MemberIDs: []string{"ann", "bob"}}); err != nil {
		t.Fatal(err)
	}
	ups := []UploadRecord{
		{ID: "u1", UserID: "ann", Name: "a.png", Size: 100, MIME: "image/png", Width: 2, Height: 3, HasThumb: true, CreatedAtMs: 1000},
		{ID: "u2", UserID: "ann", Name: "b.txt", Size: 50, MIME: "text/plain", CreatedAtMs: 5000},
		{ID: "u3", UserID: "bob", Name: "c.txt", Size: 7, MIME: "text/plain", CreatedAtMs: 1000},
	}
	for _, u := range ups {
		if err := st.CreateUpload(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Upload(ctx, "u1")
	if err != nil || got != ups[0] {
		t.Fatalf("Upload(u1) = %+v, %v; want %+v", got, err, ups[0])
	}
	if _, err := st.Upload(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Upload(nope) error %v, want ErrNotFound", err)
	}
	if n, err := st.UploadBytesSince(ctx, "ann", 2000); err != nil || n != 50 {
		t.Fatalf("ann's bytes since 2000 = %d, %v; want 50", n, err)
	}
	if n, err := st.UploadBytesSince(ctx, "cid", 0); err != nil || n != 0 {
		t.Fatalf("cid's bytes = %d, %v; want 0", n, err)
	}
	canRead := func(id, user string, want bool) {
		t.Helper()
		if ok, err := st.CanReadUpload(ctx, id, user); err != nil || ok != want {
			t.Fatalf("CanReadUpload(%s, %s) = %v, %v; want %v", id, user, ok, err, want)
		}
	}
	canRead("u1", "ann", true)
	canRead("u1", "bob", false)
	if err := st.UploadSent(ctx, "u1", "r"); err != nil {
		t.Fatal(err)
	}
	if err := st.UploadSent(ctx, "u1", "r"); err != nil { // a second message carrying it
		t.Fatal(err)
	}
	canRead("u1", "bob", true)
	canRead("u1", "cid", false)
	canRead("nope", "ann", false)

	gone, err := st.SweepUploads(ctx, 2000, 10)
	if err != nil || len(gone) != 1 || gone[0].ID != "u3" {
		t.Fatalf("sweep = %+v, %v; want u3 only (u1 was sent, u2 is recent)", gone, err)
	}
	// Marked gone, its record stays until its blobs are deleted and the caller deletes
	// it: a sweep whose blob delete failed finds it again.
	if again, err := st.SweepUploads(ctx, 2000, 10); err != nil || len(again) != 1 || again[0].ID != "u3" {
		t.Fatalf("second sweep = %+v, %v; want u3 again until its record is deleted", again, err)
	}
	if err := st.DeleteUpload(ctx, "u3"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Upload(ctx, "u3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("swept upload still there: %v", err)
	}
	if again, err := st.SweepUploads(ctx, 2000, 10); err != nil || len(again) != 0 {
		t.Fatalf("sweep after the delete = %+v, %v; want nothing", again, err)
	}
	if _, err := st.Upload(ctx, "u1"); err != nil {
		t.Fatalf("sent upload swept: %v", err)
	}
}
