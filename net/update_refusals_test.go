package net

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
	"github.com/parleychat/parley/storage"
)

// faultyStore is the server's real SQLite Store whose AppendUpdates fails (as a
// database that is locked or unwritable does) while fail is above zero, once a call.
type faultyStore struct {
	server.Store
	fail atomic.Int32
}

func (s *faultyStore) AppendUpdates(ctx context.Context, ups []server.NewUpdate) ([]server.StoredUpdate, error) {
	if s.fail.Add(-1) >= 0 {
		return nil, errors.New("database is locked")
	}
	return s.Store.AppendUpdates(ctx, ups)
}

// startFaultyServer runs a test server on a faultyStore.
func startFaultyServer(t *testing.T) (*servertest.Instance, *faultyStore) {
	t.Helper()
	st, err := server.OpenSQLite(filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the server stops (cleanups run last first)
	fs := &faultyStore{Store: st}
	return startServer(t, server.Config{Store: fs}), fs
}

// updateFailures returns the refusals the client reported so far.
func (tc *tclient) updateFailures() []storage.UpdateFailure {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return slices.Clone(tc.failed)
}

// TestInternalRefusedUpdateIsSentAgain: an update the server could not store
// (`error internal`: its database was locked) is sent again with the same id, not
// failed and undone; it is stored once, and the other member sees it.
func TestInternalRefusedUpdateIsSentAgain(t *testing.T) {
	srv, fs := startFaultyServer(t)
	fast := func(c *Config) { c.RateLimitedRetry = 50 * time.Millisecond }
	a := startClient(t, srv.URL, "", fast)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	m, err := a.Send(room, "teh plan")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	fs.fail.Store(2)
	ch, err := a.Edit(room, m.ID, "the plan")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	if got := a.updateFailures(); len(got) != 0 {
		t.Fatalf("refused for good: %+v; want it sent again", got)
	}
	if st, reason, _, _ := a.Store().UpdateStatus(room, ch.UpdateID); st != model.StatusSent {
		t.Fatalf("the edit is %s (%s); want sent", st, reason)
	}
	if fs.fail.Load() >= 0 {
		t.Fatalf("the store refused %d times; want 2", 2-fs.fail.Load())
	}
	b.waitUntil("bob sees the edit", func() bool { return b.msgs[m.ID].Content == "the plan" })
	if got, _, _ := a.Store().Get(room, m.ID); got.Content != "the plan" {
		t.Errorf("alice's store holds %q", got.Content)
	}
	rooms, err := a.FetchRooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if r.ID == room && r.LastSeq != 2 {
			t.Errorf("last seq %d; want 2 (the message and the edit, once)", r.LastSeq)
		}
	}
}

// TestInternalRefusalsEndInFailure: an update the server can never store is sent
// again maxInternalRetries times, then fails with the server's reason and is undone;
// RetryUpdate sends it again once the server is well, DiscardUpdate drops another.
func TestInternalRefusalsEndInFailure(t *testing.T) {
	srv, fs := startFaultyServer(t)
	a := startClient(t, srv.URL, "", func(c *Config) { c.RateLimitedRetry = 50 * time.Millisecond })
	register(t, a, "alice")
	room := a.generalRoom()
	m, err := a.Send(room, "teh plan")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	fs.fail.Store(1 << 20)
	edit, err := a.Edit(room, m.ID, "the plan")
	if err != nil {
		t.Fatal(err)
	}
	react, err := a.React(room, m.ID, "👀", true)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	a.waitUntil("both refused", func() bool { return len(a.failed) == 2 })
	got := a.updateFailures()
	if len(got) != 2 || got[0].Update.ID != edit.UpdateID || !strings.HasPrefix(got[0].Reason, model.CodeInternal) {
		t.Fatalf("failures = %+v; want the edit and the react, internal", got)
	}
	if refused := 1<<20 - fs.fail.Load(); refused < 2*(maxInternalRetries+1) {
		t.Errorf("the store was asked %d times; want each update %d times", refused, maxInternalRetries+1)
	}
	a.waitUntil("both undone", func() bool {
		x := a.msgs[m.ID]
		return x.Content == "teh plan" && len(x.Reactions) == 0
	})
	failed, err := a.Store().FailedUpdates(room)
	if err != nil || len(failed) != 2 {
		t.Fatalf("FailedUpdates = %+v, %v", failed, err)
	}

	fs.fail.Store(0)
	if _, err := a.RetryUpdate(room, edit.UpdateID); err != nil {
		t.Fatal(err)
	}
	if err := a.DiscardUpdate(room, react.UpdateID); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	if st, _, _, _ := a.Store().UpdateStatus(room, edit.UpdateID); st != model.StatusSent {
		t.Errorf("retried edit is %s; want sent", st)
	}
	if failed, _ := a.Store().FailedUpdates(room); len(failed) != 0 {
		t.Errorf("FailedUpdates after retry and discard = %+v", failed)
	}
	hist, err := a.API().Messages(context.Background(), a.mustToken(t), room, 0, 10)
	if err != nil || len(hist) != 1 || hist[0].Content != "the plan" || len(hist[0].Reactions) != 0 {
		t.Fatalf("server history = %+v, %v; want the retried edit only", hist, err)
	}
}

// TestRefusedUpdateFailsUntilRetried: an update the server refuses for good (a 21st
// emoji: invalid) fails with its reason, is undone and stays failed (across a restart
// of the app too) until RetryUpdate sends it again, now accepted.
func TestRefusedUpdateFailsUntilRetried(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	room := a.generalRoom()
	m, err := a.Send(room, "vote")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	emoji := []rune("😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗")
	for _, e := range emoji[:model.MaxReactionsPerMsg] {
		if _, err := a.React(room, m.ID, string(e), true); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, a)
	extra, err := a.React(room, m.ID, string(emoji[model.MaxReactionsPerMsg]), true)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	a.waitUntil("the 21st refused", func() bool { return len(a.failed) == 1 })
	got := a.updateFailures()
	if len(got) != 1 || got[0].Update.ID != extra.UpdateID || !strings.HasPrefix(got[0].Reason, model.CodeInvalid) ||
		len(got[0].Target.Reactions) != model.MaxReactionsPerMsg {
		t.Fatalf("failures = %+v; want the 21st emoji refused, invalid, undone", got)
	}

	// The app restarts: the failure is still there to offer Retry.
	dir := a.dir
	a.shutdown()
	a = startClient(t, srv.URL, dir, nil)
	a.waitSynced()
	failed, err := a.Store().FailedUpdates(room)
	if err != nil || len(failed) != 1 || failed[0].Update.ID != extra.UpdateID || failed[0].Reason != got[0].Reason {
		t.Fatalf("FailedUpdates after a restart = %+v, %v", failed, err)
	}
	if _, err := a.React(room, m.ID, string(emoji[0]), false); err != nil {
		t.Fatal(err)
	}
	ch, err := a.RetryUpdate(room, extra.UpdateID)
	if err != nil || ch.UpdateID != extra.UpdateID || len(ch.Target.Reactions) != model.MaxReactionsPerMsg {
		t.Fatalf("RetryUpdate = %+v, %v", ch, err)
	}
	flush(t, a)
	if st, _, _, _ := a.Store().UpdateStatus(room, extra.UpdateID); st != model.StatusSent {
		t.Errorf("retried react is %s; want sent", st)
	}
	hist, err := a.API().Messages(context.Background(), a.mustToken(t), room, 0, 10)
	if err != nil || len(hist) != 1 || len(hist[0].Reactions[string(emoji[model.MaxReactionsPerMsg])]) != 1 {
		t.Fatalf("server history = %+v, %v; want the retried reaction", hist, err)
	}
}
