package net

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
)

// TestRateLimitedIsRetried: messages the server refuses with rate_limited are sent
// again later with the same id, never marked failed.
func TestRateLimitedIsRetried(t *testing.T) {
	srv := startServer(t, server.Config{MsgRate: 20, MsgBurst: 5})
	a := startClient(t, srv.URL, "", func(c *Config) { c.RateLimitedRetry = 200 * time.Millisecond })
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	ids := sendN(t, a, room, 30)
	flush(t, a)
	a.mu.Lock()
	failed := a.countStatus(model.StatusFailed)
	a.mu.Unlock()
	if failed != 0 {
		t.Fatalf("%d failed", failed)
	}
	b.waitUntil("all received", func() bool { return len(b.order) == 30 })
	// A retried message may land after later ones (documented): check the set.
	got, err := b.Store().After(room, 0, 100)
	if err != nil || len(got) != len(ids) {
		t.Fatalf("bob holds %d: %v", len(got), err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for i, m := range got {
		if !want[m.ID] || m.Seq != int64(i+1) {
			t.Fatalf("message %d: %s seq %d", i, m.ID, m.Seq)
		}
		delete(want, m.ID)
	}
}

// TestForbiddenFailsAndRetry: a message to a room the user does not belong to fails
// with the server's reason; Retry sends it again with the same id.
func TestForbiddenFailsAndRetry(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	ctx := context.Background()
	private, err := a.CreateRoom(ctx, "secret", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// bob's store learns of the room without being a member.
	if _, err := b.Store().UpsertRooms([]model.Room{{ID: private.ID, Name: "secret", Epoch: private.Epoch}}); err != nil {
		t.Fatal(err)
	}
	m, err := b.Send(private.ID, "let me in")
	if err != nil {
		t.Fatal(err)
	}
	failed := func() bool { x, ok := b.msgs[m.ID]; return ok && x.Status == model.StatusFailed }
	b.waitUntil("failed", failed)
	b.mu.Lock()
	got := b.msgs[m.ID]
	b.mu.Unlock()
	if !strings.Contains(got.Error, model.CodeForbidden) {
		t.Fatalf("reason: %q", got.Error)
	}
	flush(t, b) // a failed message leaves the outbox

	r, err := b.Retry(m.ID)
	if err != nil || r.ID != m.ID || r.Status != model.StatusSending {
		t.Fatalf("retry: %+v %v", r, err)
	}
	// sending and failed may share a batch: count the failed reports instead.
	b.waitUntil("failed again", func() bool {
		n := 0
		for _, s := range b.trail[m.ID] {
			if s == model.StatusFailed {
				n++
			}
		}
		return n == 2
	})
}
