package server

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"
)

func openTestStore(t *testing.T) Store {
	t.Helper()
	st, err := OpenSQLite("file:" + filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestAppendMessagesGapFreeUnderConcurrentWriters writes batches from several
// goroutines at once (as several nodes would): seqs stay gap-free and unique.
func TestAppendMessagesGapFreeUnderConcurrentWriters(t *testing.T) {
	st := openTestStore(t)
	ctx := context.Background()
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "r", Name: "r", Epoch: "e"}); err != nil {
		t.Fatal(err)
	}
	const writers, batches, size = 4, 10, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				msgs := make([]NewMessage, size)
				for i := range msgs {
					msgs[i] = NewMessage{ID: uuid.NewString(), RoomID: "r", SenderID: "u", Content: fmt.Sprint(w, b, i)}
				}
				res, err := st.AppendMessages(ctx, msgs)
				if err != nil {
					errs <- err
					return
				}
				for i := 1; i < len(res); i++ {
					if res[i].Message.Seq != res[i-1].Message.Seq+1 {
						errs <- fmt.Errorf("batch seqs %d then %d", res[i-1].Message.Seq, res[i].Message.Seq)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, err := st.MessagesAfter(ctx, "r", 0, 1<<62, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != writers*batches*size {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d", i, m.Seq)
		}
	}
	r, err := st.Room(ctx, "r")
	if err != nil || r.LastSeq != writers*batches*size {
		t.Fatalf("room %+v %v", r, err)
	}
}

func TestAppendMessagesIdempotentAndUnknownRoom(t *testing.T) {
	st := openTestStore(t)
	ctx := context.Background()
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "r", Name: "r", Epoch: "e"}); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	res, err := st.AppendMessages(ctx, []NewMessage{
		{ID: id, RoomID: "r", Content: "a", AtMs: 1000},
		{ID: id, RoomID: "r", Content: "a again", AtMs: 2000},
		{ID: uuid.NewString(), RoomID: "missing", Content: "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].New || res[1].New || res[0].Message.Seq != 1 || res[1].Message.Seq != 1 || res[1].Message.Content != "a" {
		t.Fatalf("results %+v", res)
	}
	if res[2].Err == nil {
		t.Fatal("message to a missing room stored")
	}
	res, err = st.AppendMessages(ctx, []NewMessage{{ID: id, RoomID: "r", Content: "a", AtMs: 3000}})
	if err != nil || res[0].New || res[0].Message.Seq != 1 || res[0].Message.Timestamp.UnixMilli() != 1000 {
		t.Fatalf("resend %+v %v", res, err)
	}
	// The same id in another room is another message.
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "s", Name: "s", Epoch: "e"}); err != nil {
		t.Fatal(err)
	}
	res, err = st.AppendMessages(ctx, []NewMessage{{ID: id, RoomID: "s", Content: "a"}})
	if err != nil || !res[0].New || res[0].Message.Seq != 1 {
		t.Fatalf("other room %+v %v", res, err)
	}
}
