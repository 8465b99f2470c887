package storage

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parleychat/parley/model"
)

func TestLatestPutsPendingLast(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r", 1, 10, "bob"))
	p1 := mustEnqueue(t, s, "r", "one")
	p2 := mustEnqueue(t, s, "r", "two")
	p3 := mustEnqueue(t, s, "r", "three")
	mustEnqueue(t, s, "elsewhere", "not here")
	// Messages arriving after the enqueues still sort above the pending ones.
	mustIngest(t, s, msgs("r", 11, 12, "bob"))
	if _, _, err := s.MarkFailed(p2.ID, "oops"); err != nil {
		t.Fatal(err)
	}

	got, err := s.Latest("r", 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{msg("r", 9, "").ID, msg("r", 10, "").ID, msg("r", 11, "").ID, msg("r", 12, "").ID, p1.ID, p2.ID, p3.ID}
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("Latest(4) = %v; want %v", ids(got), want)
	}
	if got[5].Status != model.StatusFailed || got[4].Status != model.StatusSending {
		t.Errorf("pending statuses = %s %s; want sending failed", got[4].Status, got[5].Status)
	}
	// A retried message moves below the others; an acked one joins the seq'd ones.
	if _, err := s.Retry(p2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyAcks([]Ack{{ID: p1.ID, RoomID: "r", Seq: 13}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Latest("r", 2)
	want = []string{msg("r", 12, "").ID, p1.ID, p3.ID, p2.ID}
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Errorf("Latest(2) after retry and ack = %v; want %v", ids(got), want)
	}
	if got, _ := s.Latest("r", 0); len(got) != 2 {
		t.Errorf("Latest(0) = %d messages; want only the 2 pending", len(got))
	}
	if got, err := s.Latest("empty", 50); len(got) != 0 || err != nil {
		t.Errorf("Latest of an unknown room = %v, %v", got, err)
	}
	if n, _ := s.CountMessages("r"); n != 15 {
		t.Errorf("CountMessages = %d; want 15 (pending included)", n)
	}
	if _, ok, err := s.Get("r", "nope"); ok || err != nil {
		t.Errorf("Get(nope) = %v, %v; want false", ok, err)
	}
}

func TestPaging(t *testing.T) {
	s := openTest(t)
	mustIngest(t, s, msgs("r", 1, 100, "bob"))
	mustIngest(t, s, msgs("other", 1, 100, "bob"))
	mustEnqueue(t, s, "r", "pending")

	page, err := s.Latest("r", 10)
	if err != nil || fmt.Sprint(seqs(page)) != fmt.Sprint(append(seqRange(91, 100), 0)) {
		t.Fatalf("Latest = %v, %v", seqs(page), err)
	}
	// Page up to the top, 30 at a time.
	var all []int64
	before := page[0].Seq
	for {
		older, err := s.Before("r", before, 30)
		if err != nil {
			t.Fatal(err)
		}
		if len(older) == 0 {
			break
		}
		if !slices.IsSortedFunc(older, func(a, b Message) int { return int(a.Seq - b.Seq) }) || older[len(older)-1].Seq != before-1 {
			t.Fatalf("Before(%d) = %v; want ascending, ending at %d", before, seqs(older), before-1)
		}
		all = append(seqs(older), all...)
		before = older[0].Seq
	}
	if fmt.Sprint(all) != fmt.Sprint(seqRange(1, 90)) {
		t.Errorf("paging up gave %v; want 1..90", all)
	}
	// And down again from the top.
	var down []int64
	after := int64(0)
	for {
		newer, err := s.After("r", after, 40)
		if err != nil {
			t.Fatal(err)
		}
		if len(newer) == 0 {
			break
		}
		down = append(down, seqs(newer)...)
		after = newer[len(newer)-1].Seq
	}
	if fmt.Sprint(down) != fmt.Sprint(seqRange(1, 100)) {
		t.Errorf("paging down gave %v; want 1..100 (no pending)", down)
	}
	if got, _ := s.Before("r", 1, 10); len(got) != 0 {
		t.Errorf("Before(1) = %v; want none", seqs(got))
	}
	if got, _ := s.Before("r", 50, 0); len(got) != 0 {
		t.Errorf("Before(50, 0) = %v; want none", seqs(got))
	}
	if got, _ := s.After("r", 95, 0); len(got) != 0 {
		t.Errorf("After(95, 0) = %v; want none", seqs(got))
	}
	if got, _ := s.After("r", -5, 2); fmt.Sprint(seqs(got)) != "[1 2]" {
		t.Errorf("After(-5, 2) = %v; want [1 2]", seqs(got))
	}
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestConcurrentUse runs writers and readers side by side; run it with -race.
func TestConcurrentUse(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	const rooms, perRoom = 4, 200
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for r := range rooms {
		room := fmt.Sprintf("r%d", r)
		wg.Go(func() { // server messages in batches of 20
			for from := int64(1); from <= perRoom; from += 20 {
				if _, err := s.SaveIncoming(msgs(room, from, from+19, "bob")); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() { // own messages, acked as they go
			for i := range 20 {
				m, err := s.Enqueue(model.Message{RoomID: room, Content: fmt.Sprint(i)})
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.ApplyAcks([]Ack{{ID: m.ID, RoomID: room, Seq: perRoom + int64(i) + 1}}); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() { // readers and marks
			for i := range 50 {
				if _, err := s.Latest(room, 50); err != nil {
					errs <- err
					return
				}
				if _, err := s.Rooms(); err != nil {
					errs <- err
					return
				}
				if _, err := s.ApplyReceipt(room, "bob", int64(i*4), int64(i*2)); err != nil {
					errs <- err
					return
				}
				if _, err := s.SetReadSeq(room, int64(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for r := range rooms {
		room := fmt.Sprintf("r%d", r)
		if n, _ := s.CountMessages(room); n != perRoom+20 {
			t.Errorf("room %s holds %d messages; want %d", room, n, perRoom+20)
		}
		if cur, _ := s.SyncCursor(room); cur != perRoom+20 {
			t.Errorf("room %s cursor %d; want %d", room, cur, perRoom+20)
		}
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("OutboxLen = %d; want 0", n)
	}
	latest, _ := s.Latest("r0", 1000)
	orders := make(map[int64]bool)
	for _, m := range latest {
		if orders[m.LocalOrder] {
			t.Fatalf("LocalOrder %d handed out twice", m.LocalOrder)
		}
		orders[m.LocalOrder] = true
	}
}

// TestLargeRoom checks Latest, Before and a fresh batch at 100,000 messages (the speed is
// the benchmarks' business).
func TestLargeRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("100k messages: skipped with -short")
	}
	s := openTest(t)
	signIn(t, s)
	fill(t, s, "big", 100_000)
	mustIngest(t, s, msgs("small", 1, 10, "bob"))
	if n, _ := s.CountMessages("big"); n != 100_000 {
		t.Fatalf("CountMessages = %d; want 100000", n)
	}
	// The bulk rows and the ingested ones look alike.
	if got := mustGet(t, s, "big", msg("big", 7, "").ID); got.Content != "hello 7" || !got.Timestamp.Equal(msg("big", 7, "").Timestamp.Time) {
		t.Errorf("bulk row = %+v", got)
	}
	if fresh := mustIngest(t, s, msgs("big", 99_990, 100_001, "bob")); fmt.Sprint(seqs(fresh)) != "[100001]" {
		t.Errorf("ingest over 100k = %v; want only 100001 fresh", seqs(fresh))
	}
	got, err := s.Latest("big", 50)
	if err != nil || len(got) != 50 || got[0].Seq != 99_952 || got[49].Seq != 100_001 {
		t.Fatalf("Latest(50) = %d messages from %v, %v", len(got), seqs(got[:1]), err)
	}
	older, err := s.Before("big", 50_000, 50)
	if err != nil || len(older) != 50 || older[0].Seq != 49_950 || older[49].Seq != 49_999 {
		t.Fatalf("Before(50000) = %d from %v, %v", len(older), seqs(older[:1]), err)
	}
	if cur, _ := s.SyncCursor("big"); cur != 100_001 {
		t.Errorf("SyncCursor = %d", cur)
	}
	rooms, err := s.Rooms()
	if err != nil || len(rooms) != 2 || rooms[0].Preview != "hello 100001" {
		t.Errorf("Rooms = %+v, %v", rooms, err)
	}
	var plan []struct {
		Detail string `gorm:"column:detail"`
	}
	s.db.Raw("EXPLAIN QUERY PLAN SELECT * FROM messages WHERE room_id = 'big' AND seq > 0 ORDER BY seq DESC LIMIT 50").Scan(&plan)
	if len(plan) == 0 || !strings.Contains(plan[0].Detail, "idx_messages_room_seq") || strings.Contains(fmt.Sprint(plan), "TEMP B-TREE") {
		t.Errorf("Latest's query plan = %+v; want idx_messages_room_seq without a sort", plan)
	}
}

// fill stores n messages in room as msgs would make them: all but the newest 1,000 by one
// SQL statement (with the indexes built afterwards, which is much faster under -race),
// then the newest 1,000 through SaveIncoming in one batch. The bulk is left out of the
// search index (indexing it doubled TestLargeRoom's time): do not search or delete it.
func fill(t testing.TB, s *Store, room string, n int64) {
	t.Helper()
	bulk := max(n-1000, 0)
	var trigger string
	if err := s.db.Raw("SELECT sql FROM sqlite_master WHERE name = 'messages_fts_insert'").Scan(&trigger).Error; err != nil || trigger == "" {
		t.Fatalf("read the index trigger: %q %v", trigger, err)
	}
	stmts := []string{"DROP TRIGGER messages_fts_insert", "DROP INDEX idx_messages_room_seq", "DROP INDEX idx_messages_unconfirmed", "DROP INDEX idx_messages_ts",
		`WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < @bulk)
		INSERT INTO messages (id, room_id, seq, local_order, sender_id, sender_name, content, ts_ms)
		SELECT printf('%s-%06d', @room, seq), @room, seq, seq, 'bob', 'Nbob', 'hello ' || seq, @base + seq * 1000
		FROM n WHERE @bulk > 0`, trigger, "CREATE INDEX idx_messages_ts ON messages(ts_ms)",
		"CREATE INDEX idx_messages_room_seq ON messages(room_id, seq, local_order)", "CREATE INDEX idx_messages_unconfirmed ON messages(room_id, seq) WHERE status IN ('sent', 'delivered')", "INSERT INTO rooms (id, last_seq) VALUES (@room, @bulk) ON CONFLICT (id) DO NOTHING"}
	args := map[string]any{"bulk": bulk, "room": room, "base": baseTime.UnixMilli()}
	for _, stmt := range stmts {
		var vars []any
		if strings.Contains(stmt, "@") {
			vars = append(vars, args)
		}
		if err := s.db.Exec(stmt, vars...).Error; err != nil {
			t.Fatalf("fill %s: %v", room, err)
		}
	}
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.SaveIncoming(msgs(room, bulk+1, n, "bob")); err != nil || int64(len(fresh)) != n-bulk {
		t.Fatalf("fill %s: %d fresh, %v", room, len(fresh), err)
	}
}

func TestContiguousSeq(t *testing.T) {
	s := openTest(t)
	mustIngest(t, s, msgs("r", 1, 10, "bob"))
	mustIngest(t, s, msgs("r", 15, 20, "bob")) // live messages ahead of a replay
	mustEnqueue(t, s, "r", "pending")
	cases := []struct{ after, want int64 }{{0, 10}, {-3, 10}, {4, 10}, {10, 10}, {11, 11}, {14, 20}, {17, 20}, {20, 20}, {99, 99}}
	for _, c := range cases {
		if got, err := s.ContiguousSeq("r", c.after); got != c.want || err != nil {
			t.Errorf("ContiguousSeq(%d) = %d, %v; want %d", c.after, got, err, c.want)
		}
	}
	if got, _ := s.ContiguousSeq("none", 0); got != 0 {
		t.Errorf("ContiguousSeq of an empty room = %d; want 0", got)
	}
	if cur, _ := s.SyncCursor("r"); cur != 20 {
		t.Errorf("SyncCursor = %d; want 20 (the highest held)", cur)
	}
}
