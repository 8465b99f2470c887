package net

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// slowClosed reads the server's parley_slow_consumers_total.
func slowClosed(t *testing.T, srv *servertest.Instance) int {
	t.Helper()
	return int(serverMetric(t, srv, "parley_slow_consumers_total"))
}

// TestStalledClientResyncs: a client whose link stops taking data (1 KB/s) while its
// room is busy is closed (1013) once its queue on the server passes the bound, well
// before 4,096 frames or a write timeout; when the link recovers it reconnects, syncs,
// and has every message exactly once.
func TestStalledClientResyncs(t *testing.T) {
	srv := startServer(t, server.Config{WriteTimeout: time.Minute}) // the default bound: 1 MiB
	p, url := startProxy(t, srv.Addr())
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	b := startClient(t, url, "", fast)
	register(t, b, "bob")
	room := b.generalRoom()
	b.waitSynced()
	// Alice talks over a raw socket: quicker than a client's outbox, so the test is short.
	alice := srv.Dial(t, srv.Register(t, "alice", testPassword).AccessToken)

	addToxic(t, p, `{"name":"stall","type":"bandwidth","stream":"downstream","attributes":{"rate":1}}`)
	pad := strings.Repeat("x", model.MaxContentRunes-10)
	var ids []string
	// 3,000 messages of 4 KB are far more than the socket buffers and the bound, and
	// fewer than the 4,096 frames that would close bob without the bound. Alice sends
	// 50 at a time: a live reader is never 1 MiB behind.
	for len(ids) < 3000 && slowClosed(t, srv) == 0 {
		var last string
		for range 50 {
			last = model.NewMessageID()
			alice.Send(t, model.SendFrame{Type: model.TypeMessage, ID: last, RoomID: room, Content: fmt.Sprintf("%s %d", pad, len(ids))})
			ids = append(ids, last)
		}
		if f := alice.WaitFor(t, "ack", func(f model.Frame) bool {
			return f.ID == last && (f.Type == model.TypeAck || f.Type == model.TypeError)
		}); f.Type != model.TypeAck {
			t.Fatalf("alice's send: %+v", f)
		}
	}
	if slowClosed(t, srv) == 0 {
		t.Fatalf("bob's stalled connection was not closed after %d messages", len(ids))
	}
	removeToxic(t, p, "stall")
	b.Nudge()
	n := len(ids)
	b.waitUntil("bob has every message", func() bool { return len(b.order) == n })
	b.waitSynced()
	checkExactlyOnce(t, b, room, ids)
	t.Logf("bob closed after %d messages; resynced all", n)
}
