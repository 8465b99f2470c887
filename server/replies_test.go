package server_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// gatedStore holds one AppendMessages call, once shut, until open is closed: the
// frames sent meanwhile wait for the group commit after it, all in one batch.
type gatedStore struct {
	server.Store
	shut    atomic.Bool
	entered chan struct{}
	open    chan struct{}
}

func (g *gatedStore) AppendMessages(ctx context.Context, msgs []server.NewMessage) ([]server.StoredMessage, error) {
	if g.shut.CompareAndSwap(true, false) {
		g.entered <- struct{}{}
		<-g.open
	}
	return g.Store.AppendMessages(ctx, msgs)
}

// TestReplyInTheTargetsBatch: a reply sent right after its target, before the target
// is stored, goes into the same group commit and is stored after it; replies to
// another room's message or to no message still get error not_found, in the same
// batch.
func TestReplyInTheTargetsBatch(t *testing.T) {
	st, err := server.OpenSQLite("file:" + filepath.ToSlash(filepath.Join(t.TempDir(), "parley.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	gate := &gatedStore{Store: st, entered: make(chan struct{}, 1), open: make(chan struct{})}
	cfg := testConfig()
	cfg.Store = gate
	in := servertest.Start(t, cfg)
	opened := false
	defer func() {
		if !opened {
			close(gate.open)
		}
	}()
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	var priv model.Room
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "alone"}, &priv)
	elsewhere := alice.send(t, priv.ID, "in another room")
	alice.wantAck(t, elsewhere)

	gate.shut.Store(true)
	first := alice.send(t, "general", "holds the commit")
	select {
	case <-gate.entered:
	case <-time.After(servertest.DefaultWait):
		t.Fatal("the first message never reached the store")
	}
	target := alice.send(t, "general", "target")
	// A pong follows a frame once the frame is read and judged (queued for the commit).
	alice.c.Send(t, model.TypeFrame{Type: model.TypePing})
	alice.c.WaitType(t, model.TypePong)
	reply, other, none := model.NewMessageID(), model.NewMessageID(), model.NewMessageID()
	for _, f := range []model.SendFrame{
		{ID: reply, ReplyTo: target},
		{ID: other, ReplyTo: elsewhere},
		{ID: none, ReplyTo: model.NewMessageID()},
	} {
		f.Type, f.RoomID, f.Content = model.TypeMessage, "general", "a reply"
		bob.c.Send(t, f)
	}
	bob.c.Send(t, model.TypeFrame{Type: model.TypePing})
	var early []model.Frame
	bob.c.WaitFor(t, "pong", func(f model.Frame) bool {
		if f.Type == model.TypeError {
			early = append(early, f)
		}
		return f.Type == model.TypePong
	})
	if len(early) > 0 {
		t.Fatalf("answered before the target's commit: %+v", early)
	}
	close(gate.open)
	opened = true
	alice.wantAck(t, first)
	tseq := alice.wantAck(t, target).Seq
	if got := bob.wantAck(t, reply); got.Seq != tseq+1 {
		t.Fatalf("reply acked at seq %d, its target at %d", got.Seq, tseq)
	}
	bob.wantError(t, other, model.CodeNotFound)
	bob.wantError(t, none, model.CodeNotFound)
	if f := alice.c.WaitFor(t, "the reply", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == reply }); f.ReplyTo != target {
		t.Fatalf("reply frame %+v", f)
	}
}
