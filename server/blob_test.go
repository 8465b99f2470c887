package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"testing"
)

// failingReader yields n bytes, then fails: a client that went away.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

// TestBlobContract runs every Blob through the same contract: whole or nothing,
// seekable across chunks, replaced by a second Put, gone after Delete.
func TestBlobContract(t *testing.T) {
	t.Run("dir", func(t *testing.T) {
		dir := t.TempDir()
		b, err := NewDirBlob(dir)
		if err != nil {
			t.Fatal(err)
		}
		testBlob(t, b, func() int {
			entries, _ := os.ReadDir(dir)
			return len(entries)
		})
	})
	eachBackend(t, func(t *testing.T, be storeBackend) {
		st := openTestStore(t, be).(*gormStore)
		testBlob(t, st.blob(), func() int {
			var n int64
			st.db.Model(&blobChunkRow{}).Distinct("blob_key").Count(&n)
			return int(n)
		})
	})
}

// testBlob checks b; stored counts the blobs (and leftovers) it holds.
func testBlob(t *testing.T, b Blob, stored func() int) {
	ctx := context.Background()
	data := make([]byte, 2*blobChunk+blobChunk/2)
	_, _ = rand.Read(data)
	if n, err := b.Put(ctx, "a", bytes.NewReader(data)); err != nil || n != int64(len(data)) {
		t.Fatalf("Put = %d, %v", n, err)
	}
	r, size, err := b.Open(ctx, "a")
	if err != nil || size != int64(len(data)) {
		t.Fatalf("Open = %d, %v", size, err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	at := int64(blobChunk - 10)
	if _, err := r.Seek(at, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 20)
	if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, data[at:at+20]) {
		t.Fatalf("read across a chunk boundary: %v", err)
	}
	if end, err := r.Seek(-5, io.SeekEnd); err != nil || end != size-5 {
		t.Fatalf("seek from the end: %d %v", end, err)
	}
	_ = r.Close()
	if _, err := b.Put(ctx, "a", bytes.NewReader([]byte("short"))); err != nil {
		t.Fatal(err)
	}
	if r, size, err := b.Open(ctx, "a"); err != nil || size != 5 {
		t.Fatalf("after a second Put: %d %v", size, err)
	} else {
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != "short" {
			t.Fatalf("second Put reads %q", got)
		}
	}
	if _, err := b.Put(ctx, "cut", &failingReader{n: blobChunk + 7}); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	if _, _, err := b.Open(ctx, "cut"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of a failed Put: %v, want ErrNotFound", err)
	}
	if n := stored(); n != 1 {
		t.Fatalf("%d blobs stored, want only a (a failed Put leaves nothing)", n)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, _, err := b.Open(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Delete: %v", err)
	}
}
