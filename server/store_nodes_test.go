package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestAppendMessagesSameIDTwoNodes sends every message id to two Store instances on
// one database (two nodes) at once, from many goroutines, in batches that name the
// rooms in different orders: each id is stored once, both answers carry its one seq,
// exactly one of them says New, and the seqs stay gap-free.
func TestAppendMessagesSameIDTwoNodes(t *testing.T) { eachBackend(t, testSameIDTwoNodes) }

func testSameIDTwoNodes(t *testing.T, be storeBackend) {
	dsn := be.dsn(t)
	nodes := []Store{openStoreAt(t, dsn), openStoreAt(t, dsn)}
	ctx := context.Background()
	rooms := []string{"a", "b", "c"}
	for _, r := range rooms {
		if err := nodes[0].EnsureRoom(ctx, RoomRecord{ID: r, Name: r, Epoch: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	const senders, batches, size = 4, 8, 6
	type answer struct {
		seq int64
		new bool
	}
	var mu sync.Mutex
	answers := map[msgKey][]answer{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*senders)
	for s := range senders {
		for n, st := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					msgs := make([]NewMessage, size)
					for i := range msgs {
						msgs[i] = NewMessage{ID: fmt.Sprintf("m%d-%d-%d", s, b, i), RoomID: rooms[i%len(rooms)], SenderID: "u", Content: "x"}
					}
					if n == 1 {
						slices.Reverse(msgs) // the rooms in the other order
					}
					res, err := st.AppendMessages(ctx, msgs)
					if err != nil {
						errs <- fmt.Errorf("node %d: %w", n, err)
						return
					}
					mu.Lock()
					for i, r := range res {
						if r.Err != nil {
							errs <- fmt.Errorf("node %d %s: %w", n, msgs[i].ID, r.Err)
						}
						k := msgKey{msgs[i].RoomID, msgs[i].ID}
						answers[k] = append(answers[k], answer{r.Message.Seq, r.New})
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k, as := range answers {
		if len(as) != 2 || as[0].seq != as[1].seq || as[0].new == as[1].new {
			t.Fatalf("%v answered %+v: want one seq, new once", k, as)
		}
	}
	total := 0
	for _, r := range rooms {
		msgs, err := nodes[1].MessagesAfter(ctx, r, 0, 1<<62, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("room %s: message %d has seq %d", r, i, m.Seq)
			}
		}
		total += len(msgs)
	}
	if total != senders*batches*size {
		t.Fatalf("%d messages stored, want %d", total, senders*batches*size)
	}
}

// TestAppendMessagesIDTakenByAnotherSender: an id that another sender's message has,
// stored before or earlier in the same batch, answers ErrIDTaken and stores nothing;
// the first sender's resend is still answered its message, and the rest of the batch
// is stored.
func TestAppendMessagesIDTakenByAnotherSender(t *testing.T) { eachBackend(t, testIDTaken) }

func testIDTaken(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
	ctx := context.Background()
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "r", Name: "r", Epoch: "e"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendMessages(ctx, []NewMessage{{ID: "m1", RoomID: "r", SenderID: "alice", Content: "alice's"}}); err != nil {
		t.Fatal(err)
	}
	res, err := st.AppendMessages(ctx, []NewMessage{
		{ID: "m1", RoomID: "r", SenderID: "mallory", Content: "taken"},
		{ID: "m2", RoomID: "r", SenderID: "bob", Content: "bob's"},
		{ID: "m2", RoomID: "r", SenderID: "mallory", Content: "taken in the batch"},
		{ID: "m1", RoomID: "r", SenderID: "alice", Content: "alice's again"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range map[int]string{0: "m1", 2: "m2"} {
		if !errors.Is(res[i].Err, ErrIDTaken) || res[i].New || res[i].Message.ID != id {
			t.Fatalf("answer %d: %+v, want ErrIDTaken", i, res[i])
		}
	}
	if res[1].Err != nil || !res[1].New || res[1].Message.Seq != 2 || res[1].Message.SenderID != "bob" {
		t.Fatalf("bob's: %+v", res[1])
	}
	if res[3].Err != nil || res[3].New || res[3].Message.Seq != 1 || res[3].Message.Content != "alice's" {
		t.Fatalf("alice's resend: %+v", res[3])
	}
	msgs, err := st.MessagesAfter(ctx, "r", 0, 100, 100)
	if err != nil || len(msgs) != 2 || msgs[0].SenderID != "alice" || msgs[1].SenderID != "bob" {
		t.Fatalf("stored %+v %v", msgs, err)
	}
}
