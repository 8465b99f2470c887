package net

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
)

// serverHistory pages through the room's whole history on the server and answers the
// ids in seq order, failing on a gap or a repeated seq.
func serverHistory(t *testing.T, tc *tclient, room string) []string {
	t.Helper()
	var got []model.Message
	var before int64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		page, err := tc.API().Messages(ctx, tc.mustToken(t), room, before, model.HistoryMaxLimit)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(append([]model.Message(nil), page...), got...)
		before = page[0].Seq
	}
	ids := make([]string, len(got))
	seen := make(map[string]bool, len(got))
	for i, m := range got {
		if m.Seq != int64(i+1) {
			t.Fatalf("server history: message %d has seq %d", i, m.Seq)
		}
		if seen[m.ID] {
			t.Fatalf("server history holds %s twice", m.ID)
		}
		seen[m.ID] = true
		ids[i] = m.ID
	}
	return ids
}

// TestServerKilledRepeatedly kills the built parley-server with SIGKILL in the middle
// of heavy load from two senders, and starts it again, 2 times (10 with -tags soak).
// Afterwards: every message either sender queued is in the server's history exactly
// once, each sender shows all of its messages sent, and every client's store holds the
// room gap-free (seq 1..n) with each message once.
func TestServerKilledRepeatedly(t *testing.T) {
	kills, chunk := 2, 40
	if soak {
		kills, chunk = 10, 150
	}
	t0 := time.Now()
	srv := startServerProc(t)
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	a := startClient(t, srv.url(), "", fast)
	b := startClient(t, srv.url(), "", fast)
	c := startClient(t, srv.url(), "", fast)
	register(t, a, "alice")
	register(t, b, "bob")
	register(t, c, "carol")
	room := a.generalRoom()

	queued := map[string]bool{}
	for k := range kills {
		for _, id := range sendN(t, a, room, chunk) {
			queued[id] = true
		}
		for _, id := range sendN(t, b, room, chunk) {
			queued[id] = true
		}
		// Kill while the chunk is in flight: carol has some of it, not all.
		want := k*2*chunk + chunk/2
		c.waitUntil("part of the chunk", func() bool { return len(c.order) >= want })
		srv.kill()
		a.waitUntil("alice offline", func() bool { return a.State().State == StateOffline })
		srv.start()
		for _, tc := range []*tclient{a, b, c} {
			tc.Nudge()
		}
	}
	flush(t, a)
	flush(t, b)
	total := len(queued)
	c.waitUntil("carol has everything", func() bool { return len(c.order) == total })

	ids := serverHistory(t, c, room)
	if len(ids) != total {
		t.Fatalf("server history holds %d messages, %d were queued", len(ids), total)
	}
	for _, id := range ids {
		if !queued[id] {
			t.Fatalf("server history holds %s, which nobody queued", id)
		}
	}
	a.waitUntil("alice has everything", func() bool { return len(a.msgs) == total })
	b.waitUntil("bob has everything", func() bool { return len(b.msgs) == total })
	for _, tc := range []*tclient{a, b, c} {
		checkExactlyOnce(t, tc, room, ids)
		tc.mu.Lock()
		sending := tc.countStatus(model.StatusSending) + tc.countStatus(model.StatusFailed)
		tc.mu.Unlock()
		if sending != 0 {
			t.Fatalf("%d own messages not sent", sending)
		}
	}
	t.Logf("%d SIGKILLs under load: %d messages, each once in history and in all 3 stores (%v)", kills, total, time.Since(t0).Round(time.Millisecond))
}
