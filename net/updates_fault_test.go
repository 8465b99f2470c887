package net

import (
	"context"
	"slices"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// TestUpdatesQueuedOfflineSurviveServerKill: edits, deletes and reactions made while
// the server is down (killed with SIGKILL) wait in the outbox, show at once, and go
// out once, in order, when it is back: the server's history holds their result, the
// room's seqs count each update once, and the other member's store folds them.
func TestUpdatesQueuedOfflineSurviveServerKill(t *testing.T) {
	srv := startServerProc(t)
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	a := startClient(t, srv.url(), "", fast)
	b := startClient(t, srv.url(), "", fast)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	keep, err := a.Send(room, "teh plan")
	if err != nil {
		t.Fatal(err)
	}
	drop, err := a.Send(room, "a secret")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	b.waitUntil("bob has both", func() bool { return len(b.order) == 2 })

	srv.kill()
	a.waitUntil("alice offline", func() bool { return a.State().State == StateOffline })
	b.waitUntil("bob offline", func() bool { return b.State().State == StateOffline })
	if _, err := a.Edit(room, keep.ID, "the plan"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.React(room, keep.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Delete(room, drop.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.React(room, keep.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.React(room, keep.ID, "🎉", true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.React(room, keep.ID, "🎉", false); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := a.Store().Get(room, keep.ID); got.Content != "the plan" || len(got.Reactions["👍"]) != 1 {
		t.Fatalf("offline, alice's store shows %+v; want the edit and her reaction at once", got)
	}
	if n, _ := a.Store().OutboxLen(); n != 3 {
		t.Fatalf("alice's outbox holds %d; want 3 updates", n)
	}

	srv.start()
	a.Nudge()
	b.Nudge()
	flush(t, a)
	flush(t, b)
	// Protocol 1.1 gives no order to an emoji's users, and each store lists its own
	// pending reaction first while the server lists by seq: compare them as sets.
	both := []string{a.UserID(), b.UserID()}
	slices.Sort(both)
	want := func(m model.Message) bool {
		users := slices.Sorted(slices.Values(m.Reactions["👍"]))
		return m.Content == "the plan" && !m.EditedAt.IsZero() && len(m.Reactions) == 1 && slices.Equal(users, both)
	}
	for _, tc := range []*tclient{a, b} {
		tc.waitUntil("the updates folded", func() bool {
			k, d := tc.msgs[keep.ID], tc.msgs[drop.ID]
			return want(k.Message) && d.Deleted && d.Content == ""
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	hist, err := a.API().Messages(ctx, a.mustToken(t), room, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || !want(hist[0]) || !hist[1].Deleted || hist[1].Content != "" {
		t.Fatalf("server history = %+v", hist)
	}
	rooms, err := a.API().Rooms(ctx, a.mustToken(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if r.ID == room && r.LastSeq != 2+6 {
			t.Errorf("room's last seq = %d; want 8 (2 messages and 6 updates, each once)", r.LastSeq)
		}
	}
	for _, c := range []*tclient{a, b} {
		c.mu.Lock()
		failed := append([]storage.UpdateFailure(nil), c.failed...)
		c.mu.Unlock()
		if len(failed) != 0 {
			t.Errorf("refused: %+v", failed)
		}
	}
}
