package net

import (
	"context"
	"errors"
	"slices"
	"strings"
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
	// Who reacted first is up to the race of the two outboxes; the server lists an
	// emoji's users by the seq of their react, and so does every store.
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
	for _, tc := range []*tclient{a, b} {
		got, _, err := tc.Store().Get(room, keep.ID)
		if err != nil || !slices.Equal(got.Reactions["👍"], hist[0].Reactions["👍"]) {
			t.Errorf("a store lists 👍 %v (%v); the server %v", got.Reactions["👍"], err, hist[0].Reactions["👍"])
		}
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

// TestRefusedUpdateAcrossKillAndRestart: alice's laptop queues updates while the
// server is down (SIGKILL) and the app quits with them on disk; her phone deletes one
// of their targets meanwhile, and gets there first. When the laptop's app starts
// again, the edit of the deleted message is refused (invalid) and undone, the other
// updates are stored once; the failure outlives another kill and app restart, and
// Retry then says why it cannot be (deleted) and Discard drops it.
func TestRefusedUpdateAcrossKillAndRestart(t *testing.T) {
	srv := startServerProc(t)
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	laptop := startClient(t, srv.url(), "", fast)
	bob := startClient(t, srv.url(), "", fast)
	register(t, laptop, "alice")
	register(t, bob, "bob")
	phone := startClient(t, srv.url(), "", fast)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := phone.Login(ctx, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	phone.waitSynced()
	room := laptop.generalRoom()
	keep, err := laptop.Send(room, "teh plan")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := laptop.Send(room, "a secret")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, laptop)
	hi, err := bob.Send(room, "hi")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, bob)
	phone.waitUntil("the phone has all three", func() bool { return len(phone.msgs) == 3 })
	laptop.waitUntil("the laptop has bob's", func() bool { return laptop.msgs[hi.ID].ID != "" })

	srv.kill()
	laptop.waitUntil("laptop offline", func() bool { return laptop.State().State == StateOffline })
	phone.waitUntil("phone offline", func() bool { return phone.State().State == StateOffline })
	if _, err := laptop.Edit(room, keep.ID, "the plan"); err != nil {
		t.Fatal(err)
	}
	if _, err := laptop.React(room, hi.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	refused, err := laptop.Edit(room, gone.ID, "a secret, edited")
	if err != nil {
		t.Fatal(err)
	}
	dir := laptop.dir
	laptop.shutdown() // the app quits with three updates queued
	if _, err := phone.Delete(room, gone.ID); err != nil {
		t.Fatal(err)
	}

	srv.start()
	phone.Nudge()
	bob.Nudge()
	flush(t, phone)
	laptop = startClient(t, srv.url(), dir, fast)
	laptop.waitSynced()
	flush(t, laptop)
	laptop.waitUntil("the edit of the deleted message refused", func() bool { return len(laptop.failed) == 1 })
	f := laptop.updateFailures()[0]
	if f.Update.ID != refused.UpdateID || !strings.HasPrefix(f.Reason, model.CodeInvalid) {
		t.Fatalf("failure = %+v; want the edit of the deleted message, invalid", f)
	}
	laptop.waitUntil("the laptop shows the delete, the edit and the reaction", func() bool {
		g, _, _ := laptop.Store().Get(room, gone.ID)
		k, _, _ := laptop.Store().Get(room, keep.ID)
		h, _, _ := laptop.Store().Get(room, hi.ID)
		return g.Deleted && g.Content == "" && k.Content == "the plan" && len(h.Reactions["👍"]) == 1
	})
	for _, tc := range []*tclient{bob, phone} {
		tc.waitUntil("the others fold the laptop's updates", func() bool {
			return tc.msgs[keep.ID].Content == "the plan" && len(tc.msgs[hi.ID].Reactions["👍"]) == 1 && tc.msgs[gone.ID].Deleted
		})
	}
	rooms, err := bob.API().Rooms(ctx, bob.mustToken(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if r.ID == room && r.LastSeq != 3+3 {
			t.Errorf("room's last seq = %d; want 6 (3 messages, the edit, the reaction and the delete, each once)", r.LastSeq)
		}
	}

	// Killed again, the app restarted again: the failure is still there to settle.
	srv.kill()
	laptop.shutdown()
	srv.start()
	laptop = startClient(t, srv.url(), dir, fast)
	laptop.waitSynced()
	failed, err := laptop.Store().FailedUpdates(room)
	if err != nil || len(failed) != 1 || failed[0].Update.ID != refused.UpdateID || failed[0].Reason != f.Reason || !failed[0].Target.Deleted {
		t.Fatalf("FailedUpdates after the restarts = %+v, %v", failed, err)
	}
	if _, err := laptop.RetryUpdate(room, refused.UpdateID); !errors.Is(err, storage.ErrDeleted) {
		t.Errorf("RetryUpdate of an edit of a deleted message = %v; want ErrDeleted", err)
	}
	if err := laptop.DiscardUpdate(room, refused.UpdateID); err != nil {
		t.Fatal(err)
	}
	if failed, _ := laptop.Store().FailedUpdates(room); len(failed) != 0 {
		t.Errorf("FailedUpdates after Discard = %+v", failed)
	}
	if n, _ := laptop.Store().OutboxLen(); n != 0 {
		t.Errorf("outbox holds %d", n)
	}
}
