package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestAppendMessagesResendAmongNew sends a stored id again in a batch of new messages
// in two rooms: the unchecked insert meets it, takes back what it wrote, and the
// checked append answers the stored message and gap-free seqs for the new ones.
func TestAppendMessagesResendAmongNew(t *testing.T) { eachBackend(t, testResendAmongNew) }

func testResendAmongNew(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
	ctx := context.Background()
	for _, id := range []string{"r", "s"} {
		if err := st.EnsureRoom(ctx, RoomRecord{ID: id, Name: id, Epoch: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	old := uuid.NewString()
	if _, err := st.AppendMessages(ctx, []NewMessage{{ID: old, RoomID: "r", Content: "old", AtMs: 1}}); err != nil {
		t.Fatal(err)
	}
	batch := []NewMessage{
		{ID: uuid.NewString(), RoomID: "s", Content: "s1"},
		{ID: uuid.NewString(), RoomID: "r", Content: "r2"},
		{ID: old, RoomID: "r", Content: "old again"},
		{ID: uuid.NewString(), RoomID: "r", Content: "r3"},
	}
	res, err := st.AppendMessages(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		seq int64
		new bool
	}{{1, true}, {2, true}, {1, false}, {3, true}}
	for i, w := range want {
		if res[i].Err != nil || res[i].Message.Seq != w.seq || res[i].New != w.new {
			t.Fatalf("message %d: %+v, want seq %d new %v", i, res[i], w.seq, w.new)
		}
	}
	if res[2].Message.Content != "old" {
		t.Fatalf("resend answered %q", res[2].Message.Content)
	}
	// The next batch goes on without a gap, and the rooms hold exactly these.
	res, err = st.AppendMessages(ctx, []NewMessage{{ID: uuid.NewString(), RoomID: "r", Content: "r4"}})
	if err != nil || res[0].Message.Seq != 4 {
		t.Fatalf("next %+v %v", res, err)
	}
	msgs, err := st.MessagesAfter(ctx, "r", 0, 100, 100)
	if err != nil || len(msgs) != 4 {
		t.Fatalf("room r holds %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("room r seq %d at %d", m.Seq, i)
		}
	}
	r, err := st.Room(ctx, "s")
	if err != nil || r.LastSeq != 1 {
		t.Fatalf("room s last seq %d, %v", r.LastSeq, err)
	}
}

// TestCheckpointerCopiesTheLog: with SQLite's automatic checkpoints off, the store's
// checkpointer is what moves committed pages from the write-ahead log into the
// database file; without it the file would not grow until the store closed.
func TestCheckpointerCopiesTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	st, err := OpenSQLite("file:" + filepath.ToSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "r", Name: "r", Epoch: "e"}); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, path)
	batch := make([]NewMessage, 500)
	for i := range batch {
		batch[i] = NewMessage{ID: uuid.NewString(), RoomID: "r", Content: strings.Repeat("x", 200)}
	}
	if _, err := st.AppendMessages(ctx, batch); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for fileSize(t, path) <= before+100<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes a minute after 500 messages were committed", fileSize(t, path))
		}
		time.Sleep(10 * time.Millisecond) // polling a file's size: nothing announces the checkpoint
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
