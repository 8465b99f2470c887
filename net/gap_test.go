package net

import (
	"context"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
)

// TestSyncFillsGap: a store that holds messages above a hole (live messages that
// arrived during a replay the connection lost) syncs from below the hole, not from its
// highest seq, and ends up with every message.
func TestSyncFillsGap(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	b.shutdown()

	ids := sendN(t, a, room, 25)
	flush(t, a)
	all, err := a.API().Messages(context.Background(), a.mustToken(t), room, 0, 50)
	if err != nil || len(all) != 25 {
		t.Fatalf("history: %d %v", len(all), err)
	}
	var held []model.Message
	for _, m := range all {
		if m.Seq <= 10 || m.Seq == 20 {
			held = append(held, m)
		}
	}
	b2 := startClient(t, "", b.dir, nil)
	b2.stop()
	if _, err := b2.Store().Ingest(held); err != nil {
		t.Fatal(err)
	}
	b2.shutdown()

	b3 := startClient(t, "", b.dir, nil)
	b3.waitSynced()
	checkExactlyOnce(t, b3, room, ids)
}
