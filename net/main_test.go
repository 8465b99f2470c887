package net

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
	"github.com/parleychat/parley/storage"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		// Toxiproxy's links (their toxics and readers) can outlive their stopped proxy
		// by one pending write.
		if err := goleak.Find(
			goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
			goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),
			// gorm's prepared-statement cache (the server's PrepareStmt) keeps a janitor goroutine per DB.
			goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const testPassword = "correct horse"

// waitLong bounds every wait for an event in these tests.
const waitLong = 2 * time.Minute

// startServer runs a test server with a rate limit that tests can flood.
func startServer(t *testing.T, cfg server.Config) *servertest.Instance {
	t.Helper()
	if cfg.MsgRate == 0 {
		cfg.MsgRate, cfg.MsgBurst = 5000, 5000
	}
	if cfg.PresenceGrace == 0 {
		cfg.PresenceGrace = -1
	}
	return servertest.Start(t, cfg)
}

// tclient is a Client running for a test, with its events collected.
type tclient struct {
	*Client
	t      *testing.T
	dir    string
	cancel context.CancelFunc
	done   chan struct{}

	closeOnce sync.Once

	mu      sync.Mutex
	changed chan struct{}
	msgs    map[string]storage.Message // latest form of every message reported
	trail   map[string][]model.Status  // every status each own message was reported with
	seen    map[string]int             // how many batches reported each message as new (sent by others)
	order   []string                   // ids of others' messages in the order first reported
	batches int
	states  []StateEvent
	typing  map[string][]Typist
	online  map[string]bool
	resets  []string
	failed  []storage.UpdateFailure     // own updates the server refused
	uploads map[string][]UploadProgress // every upload progress reported, by message id
}

// startClient opens a store in dir (a new temp folder when empty) and runs a Client on it.
func startClient(t *testing.T, serverURL, dir string, tweak func(*Config)) *tclient {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := storage.Open(dir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	cfg := Config{ServerURL: serverURL, Store: st, SendRate: 2000, SendBurst: 2000}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tc := &tclient{Client: c, t: t, dir: dir, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}),
		msgs: map[string]storage.Message{}, trail: map[string][]model.Status{}, seen: map[string]int{}, typing: map[string][]Typist{}, online: map[string]bool{}}
	go func() {
		defer close(tc.done)
		c.Run(ctx)
	}()
	go tc.collect()
	t.Cleanup(tc.shutdown)
	return tc
}

// stop ends Run and waits for it (and the event channel) to finish.
func (tc *tclient) stop() {
	tc.cancel()
	<-tc.done
}

// shutdown stops the client and closes its store.
func (tc *tclient) shutdown() {
	tc.stop()
	tc.closeOnce.Do(func() { tc.Store().Close() })
}

func (tc *tclient) collect() {
	for b := range tc.Events() {
		tc.mu.Lock()
		tc.batches++
		for _, m := range b.Messages {
			if _, had := tc.msgs[m.ID]; !had && !m.Own {
				tc.order = append(tc.order, m.ID)
			}
			if !m.Own {
				if _, had := tc.msgs[m.ID]; !had {
					tc.seen[m.ID]++
				}
			}
			tc.msgs[m.ID] = m
			if m.Own {
				tc.trail[m.ID] = append(tc.trail[m.ID], m.Status)
			}
		}
		for room, who := range b.Typing {
			tc.typing[room] = who
		}
		for id, on := range b.Presence {
			tc.online[id] = on
		}
		for _, m := range b.Changed {
			tc.msgs[m.ID] = m
		}
		tc.failed = append(tc.failed, b.Failed...)
		for id, p := range b.Uploads {
			if tc.uploads == nil {
				tc.uploads = map[string][]UploadProgress{}
			}
			tc.uploads[id] = append(tc.uploads[id], p)
		}
		tc.resets = append(tc.resets, b.Reset...)
		if b.State != nil {
			tc.states = append(tc.states, *b.State)
		}
		close(tc.changed)
		tc.changed = make(chan struct{})
		tc.mu.Unlock()
	}
}

// waitUntil waits until cond (called under the lock) holds.
func (tc *tclient) waitUntil(what string, cond func() bool) {
	tc.t.Helper()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		tc.mu.Lock()
		ok := cond()
		ch := tc.changed
		tc.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tc.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// countStatus counts reported own messages with status s; the caller holds tc.mu.
func (tc *tclient) countStatus(s model.Status) int {
	n := 0
	for _, m := range tc.msgs {
		if m.Own && m.Status == s {
			n++
		}
	}
	return n
}

func (tc *tclient) waitSynced() {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := tc.WaitSynced(ctx); err != nil {
		tc.t.Fatalf("wait synced: %v", err)
	}
}

// generalRoom returns the id of the public room every user joins.
func (tc *tclient) generalRoom() string {
	tc.t.Helper()
	rooms, err := tc.Rooms()
	if err != nil {
		tc.t.Fatalf("rooms: %v", err)
	}
	for _, r := range rooms {
		if r.Name == "general" {
			return r.ID
		}
	}
	tc.t.Fatalf("no general room among %d", len(rooms))
	return ""
}

func register(t *testing.T, tc *tclient, username string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := tc.Register(ctx, username, testPassword, ""); err != nil {
		t.Fatalf("register %s: %v", username, err)
	}
	tc.waitSynced()
}

// benchClient makes a Client on a fresh store with a room r1, not running.
func benchClient(b testing.TB) *Client {
	b.Helper()
	st, err := storage.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if err := st.SaveAccount(storage.Account{ServerURL: "http://127.0.0.1:1", UserID: "u1", Username: "ada", RefreshToken: "r"}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.UpsertRooms([]model.Room{{ID: "r1", Name: "general", Public: true, Epoch: "e1"}}); err != nil {
		b.Fatal(err)
	}
	c, err := New(Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
