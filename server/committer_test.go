package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
)

// TestCommitterCompletions: the completer answers every job once, each room's seqs in
// order, goes on after an answer that panics, and close waits for the last answer.
func TestCommitterCompletions(t *testing.T) { eachBackend(t, testCommitterCompletions) }

func testCommitterCompletions(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
	ctx := context.Background()
	const rooms, senders, each = 3, 8, 200
	for r := range rooms {
		if err := st.EnsureRoom(ctx, RoomRecord{ID: fmt.Sprintf("r%d", r), Name: "r", Epoch: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	c := newCommitter(st, 50, slog.New(slog.DiscardHandler), nil)

	var mu sync.Mutex
	answered := map[string]int{}
	lastSeq := map[string]int64{}
	var order []string // "room/seq" as answered
	panicked := 0
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("s%d-%d", s, i)
				room := fmt.Sprintf("r%d", (s+i)%rooms)
				explode := s == 0 && i%50 == 7 // a few answers panic
				job := &sendJob{msg: NewMessage{ID: id, RoomID: room, SenderID: "u", SenderName: "U", Content: "x"},
					done: func(r StoredMessage) {
						mu.Lock()
						answered[id]++
						if r.Err == nil {
							if r.Message.Seq <= lastSeq[room] {
								order = append(order, fmt.Sprintf("out of order: %s seq %d after %d", room, r.Message.Seq, lastSeq[room]))
							}
							lastSeq[room] = r.Message.Seq
						}
						if explode {
							panicked++
						}
						mu.Unlock()
						if explode {
							panic("an answer that panics")
						}
					}}
				if err := c.submit(ctx, job); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.close()

	mu.Lock()
	defer mu.Unlock()
	if len(order) > 0 {
		t.Fatal(order[0])
	}
	if len(answered) != senders*each {
		t.Fatalf("%d of %d jobs answered by the time close returned", len(answered), senders*each)
	}
	for id, n := range answered {
		if n != 1 {
			t.Fatalf("%s answered %d times", id, n)
		}
	}
	if panicked == 0 {
		t.Fatal("no answer panicked: the test tests nothing")
	}
	var total int64
	for _, s := range lastSeq {
		total += s
	}
	if total != senders*each {
		t.Fatalf("seqs reach %d in all, want %d", total, senders*each)
	}
	if err := c.submit(ctx, &sendJob{msg: NewMessage{ID: "late", RoomID: "r0"}, done: func(StoredMessage) {}}); err == nil {
		t.Fatal("a job was taken after close")
	}
}
