package server_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// brokerNodes makes two nodes' brokers on one medium; a single-node broker answers
// itself twice. The test closes them.
type brokerNodes func(t *testing.T) (a, b server.Broker)

func TestMemoryBrokerContract(t *testing.T) {
	testBrokerContract(t, func(t *testing.T) (server.Broker, server.Broker) {
		b := server.NewMemoryBroker()
		return b, b
	})
}

func TestNATSBrokerContract(t *testing.T) {
	ns := servertest.StartNATS(t)
	testBrokerContract(t, func(t *testing.T) (server.Broker, server.Broker) {
		return dialNATS(t, ns, "a"), dialNATS(t, ns, "b")
	})
}

// dialNATS connects a NATS broker, closed when the test ends.
func dialNATS(t testing.TB, ns *servertest.NATS, name string) *server.NATSBroker {
	t.Helper()
	b, err := server.DialNATS(ns.URL, name, nil)
	if err != nil {
		t.Fatalf("dial NATS: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close NATS broker: %v", err)
		}
	})
	return b
}

// recorder keeps the events a subscriber got.
type recorder struct {
	mu     sync.Mutex
	events []server.Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) add(ev server.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// frames answers the events of kind EventFrame got so far.
func (r *recorder) frames() []server.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []server.Event
	for _, ev := range r.events {
		if ev.Kind == server.EventFrame {
			out = append(out, ev)
		}
	}
	return out
}

// waitFrames waits until n frame events came, and answers them.
func (r *recorder) waitFrames(t *testing.T, n int) []server.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if evs := r.frames(); len(evs) >= n {
			return evs
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("%d frame events before the deadline, want %d", len(r.frames()), n)
		}
	}
}

// testBrokerContract checks what the Broker interface's doc promises.
func testBrokerContract(t *testing.T, nodes brokerNodes) {
	ctx := context.Background()
	full := server.Event{Kind: server.EventFrame, Node: "n1", RoomID: "room", UserIDs: []string{"u1", "u2"},
		Except: "u3", Seq: 42, Joined: []string{"u4"}, Name: "Zoë", Up: true, Type: "message", Data: []byte(`{"type":"message"}`)}

	t.Run("every field arrives unchanged, locally before Publish returns", func(t *testing.T) {
		a, b := nodes(t)
		local, remote := newRecorder(), newRecorder()
		defer a.Subscribe(local.add)()
		defer b.Subscribe(remote.add)()
		if err := a.Publish(ctx, full); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if got := local.frames(); len(got) != 1 || !reflect.DeepEqual(got[0], full) {
			t.Fatalf("local subscriber got %+v before Publish returned, want %+v", got, full)
		}
		if got := remote.waitFrames(t, 1); !reflect.DeepEqual(got[0], full) {
			t.Fatalf("other node's subscriber got %+v, want %+v", got[0], full)
		}
	})

	t.Run("one publisher's events in order, each once", func(t *testing.T) {
		a, b := nodes(t)
		local, remote := newRecorder(), newRecorder()
		defer a.Subscribe(local.add)()
		defer b.Subscribe(remote.add)()
		const n = 2000
		for i := 1; i <= n; i++ {
			if err := a.Publish(ctx, server.Event{RoomID: "r", Seq: int64(i), Data: []byte("x")}); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
		for name, r := range map[string]*recorder{"local": local, "remote": remote} {
			evs := r.waitFrames(t, n)
			if len(evs) != n {
				t.Fatalf("%s: %d events, want %d (one each)", name, len(evs), n)
			}
			for i, ev := range evs {
				if ev.Seq != int64(i+1) {
					t.Fatalf("%s: event %d has seq %d, want %d", name, i, ev.Seq, i+1)
				}
			}
		}
		// A last event shows that nothing more (a doubled one) was on its way.
		if err := a.Publish(ctx, server.Event{RoomID: "r", Seq: n + 1}); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if evs := remote.waitFrames(t, n+1); len(evs) != n+1 || evs[n].Seq != n+1 {
			t.Fatalf("after the last: %d events, last seq %d", len(evs), evs[len(evs)-1].Seq)
		}
	})

	t.Run("unsubscribe stops delivery", func(t *testing.T) {
		a, b := nodes(t)
		gone, stays := newRecorder(), newRecorder()
		unsub := b.Subscribe(gone.add)
		defer b.Subscribe(stays.add)()
		unsub()
		if err := a.Publish(ctx, server.Event{Seq: 1}); err != nil {
			t.Fatalf("publish: %v", err)
		}
		stays.waitFrames(t, 1)
		if n := len(gone.frames()); n != 0 {
			t.Fatalf("an unsubscribed function got %d events", n)
		}
	})

	t.Run("publish after close fails", func(t *testing.T) {
		a, _ := nodes(t)
		if err := a.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if err := a.Publish(ctx, server.Event{Seq: 1}); !errors.Is(err, server.ErrBrokerClosed) {
			t.Fatalf("publish after close: %v, want ErrBrokerClosed", err)
		}
	})
}

// TestNATSBrokerResyncsAfterReconnect: when NATS comes back after a restart, each
// broker tells its subscribers to catch up (events may have been lost), events flow
// again, and Healthy says where the link is.
func TestNATSBrokerResyncsAfterReconnect(t *testing.T) {
	ns := servertest.StartNATS(t)
	a, b := dialNATS(t, ns, "a"), dialNATS(t, ns, "b")
	got := newRecorder()
	defer b.Subscribe(got.add)()
	if err := b.Healthy(); err != nil {
		t.Fatalf("healthy before: %v", err)
	}
	ns.Stop()
	waitUntil(t, "b sees NATS gone", func() bool { return b.Healthy() != nil })
	ns.Start(t)
	waitUntil(t, "a resyncs", func() bool { return a.Healthy() == nil })
	waitUntil(t, "b gets EventResync", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		for _, ev := range got.events {
			if ev.Kind == server.EventResync {
				return true
			}
		}
		return false
	})
	// b's subscription is back at the server: a's next event reaches it.
	deadline := time.Now().Add(10 * time.Second)
	for i := int64(1); len(got.frames()) == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no event through NATS after the restart")
		}
		if err := a.Publish(context.Background(), server.Event{Seq: i}); err != nil {
			t.Fatalf("publish: %v", err)
		}
		select {
		case <-got.notify:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestSortRoomMessages: within a pass each room's messages are put in seq order in
// the places they hold; other events and other rooms stay where they are.
func TestSortRoomMessages(t *testing.T) {
	evs := []server.Event{
		{RoomID: "a", Seq: 3}, {Kind: server.EventPresence, UserIDs: []string{"u"}}, {RoomID: "b", Seq: 9},
		{RoomID: "a", Seq: 2}, {RoomID: "t", Type: "typing"}, {RoomID: "b", Seq: 10}, {RoomID: "a", Seq: 4},
	}
	server.SortRoomMessages(evs)
	want := []server.Event{
		{RoomID: "a", Seq: 2}, {Kind: server.EventPresence, UserIDs: []string{"u"}}, {RoomID: "b", Seq: 9},
		{RoomID: "a", Seq: 3}, {RoomID: "t", Type: "typing"}, {RoomID: "b", Seq: 10}, {RoomID: "a", Seq: 4},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("sorted to %+v, want %+v", evs, want)
	}
}
