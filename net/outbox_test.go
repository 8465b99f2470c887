package net

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/storage"
	"strings"
	"testing"
	"time"
)

// TestOutboxSurvivesRestart stops a client while its outbox is full (some messages on
// the wire, some not sent yet, some queued while stopped), reopens its store with a new
// Client: every message reaches the other member exactly once.
func TestOutboxSurvivesRestart(t *testing.T) {
	srv := startServer(t, server.Config{})
	slow := func(c *Config) { c.SendRate, c.SendBurst = 200, 20 }
	a := startClient(t, srv.URL, "", slow)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()

	ids := sendN(t, a, room, 100)
	b.waitUntil("the first messages", func() bool { return len(b.order) >= 10 })
	a.shutdown() // mid-flush: part sent and acked, part on the wire, part waiting

	// A Client that is not running still queues.
	a2 := startClient(t, "", a.dir, func(c *Config) { c.ServerURL = "" })
	a2.stop()
	for i := range 20 {
		m, err := a2.Send(room, fmt.Sprintf("offline %d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if n, err := a2.Store().OutboxLen(); err != nil || n < 20 {
		t.Fatalf("outbox: %d %v", n, err)
	}
	a2.shutdown()

	a3 := startClient(t, "", a.dir, nil)
	flush(t, a3)
	b.waitUntil("all received", func() bool { return len(b.order) == len(ids) })
	checkExactlyOnce(t, b, room, ids)
	checkExactlyOnce(t, a3, room, ids)
}

// TestBurst10k floods a room with 10,000 messages from a raw WebSocket: the client
// stores all, reports none twice, and hands out at most one batch per frame interval.
func TestBurst10k(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	srv := startServer(t, server.Config{MsgRate: 1e6, MsgBurst: 1e6, SendQueue: 2 * n})
	start := time.Now()
	b := startClient(t, srv.URL, "", nil)
	register(t, b, "bob")
	room := b.generalRoom()

	alice := srv.Register(t, "alice", testPassword)
	ws := srv.Dial(t, alice.AccessToken)
	ws.WaitType(t, model.TypeHello)
	ids := make([]string, n)
	for i := range n {
		ids[i] = model.NewMessageID()
		ws.Send(t, model.SendFrame{Type: model.TypeMessage, ID: ids[i], RoomID: room, Content: fmt.Sprintf("burst %d", i)})
	}
	b.waitUntil("all received", func() bool { return len(b.order) == n })
	elapsed := time.Since(start)
	checkExactlyOnce(t, b, room, ids)
	b.mu.Lock()
	batches := b.batches
	b.mu.Unlock()
	if limit := int(elapsed/FrameInterval) + 2; batches > limit {
		t.Fatalf("%d batches in %v, more than %d", batches, elapsed, limit)
	}
	t.Logf("%d messages in %v, %d batches", n, elapsed, batches)
}

// BenchmarkIngest10k decodes 10,000 message frames, deduplicates and stores them, as
// the connection does with a flood: "fresh" into an empty store, "duplicates" when the
// store already holds them all (a replay after a reconnect).
func BenchmarkIngest10k(b *testing.B) {
	const n = 10000
	raw := make([][]byte, n)
	for i := range n {
		raw[i], _ = json.Marshal(model.MessageFrame{Type: model.TypeMessage, Message: model.Message{
			ID: model.NewMessageID(), RoomID: "r1", Seq: int64(i + 1), SenderID: "u2", SenderName: "bob",
			Content: fmt.Sprintf("message number %d with a little text", i), Timestamp: model.NewTime(time.Now())}})
	}
	decodeAndHandle := func(b *testing.B, s *session) {
		frames := make([]model.Frame, 0, n)
		for _, r := range raw {
			f, err := model.DecodeFrame(r)
			if err != nil {
				b.Fatal(err)
			}
			frames = append(frames, f)
		}
		if err := s.handle(frames); err != nil {
			b.Fatal(err)
		}
	}
	for _, dup := range []bool{false, true} {
		name := "fresh"
		if dup {
			name = "duplicates"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var total, cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				c := benchClient(b)
				s := newSession(c, nil)
				s.ctx, s.cancel = context.WithCancelCause(context.Background())
				if dup {
					decodeAndHandle(b, s)
				}
				b.StartTimer()
				t0, c0 := time.Now(), processCPU()
				decodeAndHandle(b, s)
				total += time.Since(t0)
				cpu += processCPU() - c0
				b.StopTimer()
				if got, _ := c.store.CountMessages("r1"); got != n {
					b.Fatalf("stored %d", got)
				}
				s.cancel(nil)
				c.store.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "msgs/s")
			// CPU of the whole process (the store's and the collector's threads too):
			// the budget is a second of CPU for a 10,000-message burst.
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// TestOutboxDoesNotWaitForSync: a message queued while a room has a backlog of
// thousands of messages goes out as soon as the rooms are fetched: it is acked
// while the sync still pages through the backlog (parley-cli's send took seconds).
func TestOutboxDoesNotWaitForSync(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	b.shutdown()
	sendN(t, a, room, model.SyncPageSize+50) // two pages
	flush(t, a)

	b2 := startClient(t, srv.URL, b.dir, nil)
	m, err := b2.Send(room, "typed while the backlog waits")
	if err != nil {
		t.Fatal(err)
	}
	var synced bool
	b2.waitUntil("the ack", func() bool {
		if b2.msgs[m.ID].Status != model.StatusSent {
			return false
		}
		synced = b2.State().Synced
		return true
	})
	if synced {
		t.Fatalf("the message was acked only after the whole sync")
	}
	b2.waitSynced()
}

// TestPendingBounded: messages queued for a sender that cannot keep up (the send
// rate, a slow socket) are held in memory up to maxPendingFrames and maxPendingBytes;
// past that the sender is told to read the outbox on disk again, which holds them all
// in order (the path every connection's first pass takes; TestOutboxSurvivesRestart).
func TestPendingBounded(t *testing.T) {
	s := newSession(nil, nil)
	big := strings.Repeat("é", 3990) // 7,980 bytes: 1,000 of them are 8 MB
	maxFrames, maxBytes := 0, 0
	for i := range 1000 {
		s.queue(storage.Outgoing{Message: &storage.Message{Message: model.Message{ID: model.NewMessageID(), RoomID: "general", Content: fmt.Sprintf("%s %d", big, i)}}})
		s.mu.Lock()
		size := 0
		for _, p := range s.pending {
			size += len(p.Message.Content)
		}
		maxFrames, maxBytes = max(maxFrames, len(s.pending)), max(maxBytes, size)
		s.mu.Unlock()
	}
	if maxFrames > maxPendingFrames || maxBytes > maxPendingBytes || !s.rescan {
		t.Fatalf("pending held %d messages, %d bytes (bounds %d, %d); rescan %v", maxFrames, maxBytes, maxPendingFrames, maxPendingBytes, s.rescan)
	}
	// Small messages meet the frame bound first.
	s = newSession(nil, nil)
	for i := range 1000 {
		s.queue(storage.Outgoing{Message: &storage.Message{Message: model.Message{ID: model.NewMessageID(), RoomID: "general", Content: fmt.Sprint(i)}}})
		if len(s.pending) > maxPendingFrames {
			t.Fatalf("%d small messages pending", len(s.pending))
		}
	}
	if !s.rescan {
		t.Fatalf("no rescan after 1,000 small messages")
	}
}

// TestPendingOverflowDelivers: 150 messages of 8 KB sent while the sender is held
// back (the send rate on a clock that stands still) overflow the in-memory queue's
// byte bound; the sender then reads them from the outbox, and the other member gets
// each once, in order.
func TestPendingOverflowDelivers(t *testing.T) {
	srv := startServer(t, server.Config{MsgRate: 1e6, MsgBurst: 1e6})
	clk := newFakeClock()
	a := startClient(t, srv.URL, "", func(c *Config) {
		c.Clock = clk
		c.SendRate, c.SendBurst = 1000, 10
		c.FrameInterval = -1
		c.MarkInterval = -1
	})
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	a.waitSynced()

	big := strings.Repeat("é", 3990)
	ids := make([]string, 150)
	for i := range ids {
		m, err := a.Send(room, fmt.Sprintf("%s %d", big, i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = m.ID
	}
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	s.mu.Lock()
	held, rescan := len(s.pending), s.rescan
	s.mu.Unlock()
	if held > maxPendingFrames || !rescan {
		t.Fatalf("%d messages held in memory, rescan %v; want at most %d and a rescan", held, rescan, maxPendingFrames)
	}
	// Ten messages per 10 ms of the fake clock: move it while the outbox drains.
	deadline := time.Now().Add(waitLong)
	for {
		if n, err := a.Store().OutboxLen(); err != nil || n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the outbox never drained")
		}
		select {
		case <-clk.added: // the sender waits for its next token
		case <-time.After(20 * time.Millisecond): // polling interval, not a wait for an event
		}
		clk.Advance(10 * time.Millisecond)
	}
	b.waitUntil("all received", func() bool { return len(b.order) == len(ids) })
	checkExactlyOnce(t, b, room, ids)
}
