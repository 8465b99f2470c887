package server

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/parleychat/parley/server/internal/pgtest"
)

// storeBackend is a database the Store's tests run on.
type storeBackend struct {
	name string
	// dsn answers the DSN of a new, empty database for t.
	dsn func(t testing.TB) string
}

// storeBackends are SQLite in a temporary folder and a fresh database on the test
// PostgreSQL server (pgtest: PARLEY_TEST_PG, or a cluster of the test's own).
var storeBackends = []storeBackend{
	{"sqlite", func(t testing.TB) string { return "file:" + filepath.ToSlash(filepath.Join(t.TempDir(), "test.db")) }},
	{"postgres", func(t testing.TB) string { return pgtest.Shared(t).NewDatabase(t) }},
}

// eachBackend runs test once on every backend, as a subtest named for it.
func eachBackend(t *testing.T, test func(t *testing.T, b storeBackend)) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// openStoreAt opens the Store at dsn, closed when t ends.
func openStoreAt(t testing.TB, dsn string) Store {
	t.Helper()
	st, err := OpenStore(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// openTestStore opens a Store on a new database of b.
func openTestStore(t testing.TB, b storeBackend) Store {
	t.Helper()
	return openStoreAt(t, b.dsn(t))
}

// TestAppendMessagesGapFreeUnderConcurrentWriters writes batches from several
// goroutines at once through two Store instances on one database (two nodes): seqs
// stay gap-free and unique.
func TestAppendMessagesGapFreeUnderConcurrentWriters(t *testing.T) { eachBackend(t, testGapFree) }

func testGapFree(t *testing.T, be storeBackend) {
	dsn := be.dsn(t)
	nodes := []Store{openStoreAt(t, dsn), openStoreAt(t, dsn)}
	st := nodes[0]
	ctx := context.Background()
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "r", Name: "r", Epoch: "e"}); err != nil {
		t.Fatal(err)
	}
	const writers, batches, size = 8, 10, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		st := nodes[w%len(nodes)]
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

func TestAppendMessagesIdempotentAndUnknownRoom(t *testing.T) { eachBackend(t, testIdempotent) }

func testIdempotent(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
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
