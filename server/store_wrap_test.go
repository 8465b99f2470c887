package server_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// wrappingStore is the real store with every error of the calls below wrapped (as a
// Store that adds context to its errors does), and a MessagesAfter that can be made
// to block until its context ends.
type wrappingStore struct {
	server.Store

	mu      sync.Mutex
	block   bool                 // the next MessagesAfter blocks
	entered chan context.Context // gets the blocked call's context
	release chan struct{}        // unblocks it whatever its context does
}

func newWrappingStore(t *testing.T) *wrappingStore {
	t.Helper()
	st, err := server.OpenSQLite("file:" + filepath.ToSlash(filepath.Join(t.TempDir(), "parley.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // the caller closes a Config.Store, after the server
	return &wrappingStore{Store: st, entered: make(chan context.Context, 1), release: make(chan struct{})}
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("wrapping store: %w", err)
}

func (w *wrappingStore) UserByUsername(ctx context.Context, name string) (server.UserRecord, error) {
	u, err := w.Store.UserByUsername(ctx, name)
	return u, wrap(err)
}

func (w *wrappingStore) UserByID(ctx context.Context, id string) (server.UserRecord, error) {
	u, err := w.Store.UserByID(ctx, id)
	return u, wrap(err)
}

func (w *wrappingStore) CreateUser(ctx context.Context, u server.UserRecord, room string) error {
	return wrap(w.Store.CreateUser(ctx, u, room))
}

func (w *wrappingStore) Room(ctx context.Context, id string) (server.RoomRecord, error) {
	r, err := w.Store.Room(ctx, id)
	return r, wrap(err)
}

func (w *wrappingStore) RoomIDsOf(ctx context.Context, userID string) ([]string, error) {
	ids, err := w.Store.RoomIDsOf(ctx, userID)
	return ids, wrap(err)
}

func (w *wrappingStore) RefreshByHash(ctx context.Context, hash string) (server.RefreshRecord, error) {
	r, err := w.Store.RefreshByHash(ctx, hash)
	return r, wrap(err)
}

func (w *wrappingStore) RotateRefresh(ctx context.Context, old string, next server.RefreshRecord) (server.RefreshRecord, error) {
	r, err := w.Store.RotateRefresh(ctx, old, next)
	return r, wrap(err)
}

func (w *wrappingStore) MessagesAfter(ctx context.Context, roomID string, after, upto int64, limit int) ([]model.Message, error) {
	w.mu.Lock()
	block := w.block
	w.block = false
	w.mu.Unlock()
	if block {
		w.entered <- ctx
		select {
		case <-ctx.Done():
			return nil, wrap(ctx.Err())
		case <-w.release:
		}
	}
	msgs, err := w.Store.MessagesAfter(ctx, roomID, after, upto, limit)
	return msgs, wrap(err)
}

// TestWrappingStore: a Store that wraps its errors (fmt.Errorf %w) changes no answer:
// a room that does not exist is still "forbidden", not "internal", for a message and a
// sync; a taken username, a wrong login and an unknown refresh token answer as ever.
func TestWrappingStore(t *testing.T) {
	cfg := testConfig()
	cfg.Store = newWrappingStore(t)
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	id := alice.send(t, "no-such-room", "hello?")
	if f := alice.ackOf(t, id); f.Type != model.TypeError || f.Code != model.CodeForbidden {
		t.Fatalf("message to a room that does not exist: %+v, want error forbidden", f)
	}
	alice.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "no-such-room"})
	if f := alice.c.WaitType(t, model.TypeError); f.Code != model.CodeForbidden {
		t.Fatalf("sync of a room that does not exist: %+v, want error forbidden", f)
	}
	alice.ackOf(t, alice.send(t, server.GeneralRoomID, "still fine"))

	var e model.APIError
	if st := in.Do(t, "POST", "/api/register", "", model.RegisterRequest{Username: "alice", Password: password}, &e); st != http.StatusConflict {
		t.Errorf("taken username: %d %+v", st, e)
	}
	if st := in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "nobody", Password: password}, nil); st != http.StatusUnauthorized {
		t.Errorf("unknown user's login: %d", st)
	}
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: "made-up"}, nil); st != http.StatusUnauthorized {
		t.Errorf("unknown refresh token: %d", st)
	}
}

// TestStoreCallEndsWithSession: a store call made for a session (a sync's read) gets
// a context that ends when the session does (here, closed 4001 when its token
// expires), so a slow store does not hold a closed connection's goroutine.
func TestStoreCallEndsWithSession(t *testing.T) {
	st := newWrappingStore(t)
	cfg := testConfig()
	cfg.Store = st
	cfg.AccessTTL = 2 * time.Second
	in := servertest.Start(t, cfg)
	defer close(st.release) // before the server stops: a call the fix missed unblocks
	alice := connect(t, in, "alice")
	st.mu.Lock()
	st.block = true
	st.mu.Unlock()
	alice.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID})
	var ctx context.Context
	select {
	case ctx = <-st.entered:
	case <-time.After(servertest.DefaultWait):
		t.Fatal("the sync never reached the store")
	}
	if st := alice.c.WaitClosed(t); st != 4001 {
		t.Fatalf("closed %d, want 4001 at the token's expiry", st)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session is closed, and its store call's context has not ended")
	}
}
