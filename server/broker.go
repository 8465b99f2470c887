package server

import (
	"context"
	"errors"
	"sync"
)

// EventKind says what an Event carries.
type EventKind uint8

// The kinds of events a Broker carries between nodes.
const (
	// EventFrame: Data is a frame for the members of RoomID, or else the users in
	// UserIDs, never Except. A message frame carries its room's Seq: a node delivers
	// a room's messages in seq order, dropping what it delivered already and filling
	// a gap from the Store. Joined, when set, are users who became members of RoomID
	// before this frame.
	EventFrame EventKind = iota
	// EventPresence: Node now holds (Up) or no longer holds a session of UserIDs[0],
	// whose display name is Name.
	EventPresence
	// EventBeat: Node is alive; Data (the hub's beat, JSON) lists the users it holds
	// sessions of and the last seqs it stored.
	EventBeat
	// EventBeatRequest: Node has just joined (or rejoined) and asks every node for a
	// beat now.
	EventBeatRequest
	// EventResync is made by a Broker for its own subscribers only, never published:
	// the link to the other nodes was lost and is back (or events were dropped), so
	// events may be missing and the subscriber must catch up from the Store.
	EventResync
)

// Event is one thing that happened on a node, for every node's hub. Data is encoded
// once and shared by every receiver.
type Event struct {
	Kind    EventKind
	Node    string // the node that published it
	RoomID  string
	UserIDs []string
	Except  string
	// ExceptConn names a session (by its id) that must not get the frame: a user's
	// own receipt skips the session that sent the mark. Session ids are a node's own,
	// so it is not carried to the other nodes.
	ExceptConn string
	Seq        int64
	Joined     []string
	Name       string
	Up         bool
	Type       string // the frame's type, for metrics
	Data       []byte // receivers must not modify it
}

// ErrBrokerClosed answers a Publish after Close.
var ErrBrokerClosed = errors.New("broker closed")

// Broker carries events from the node that made them to the hub of every node,
// itself included. Its guarantees, which every implementation is tested against
// (broker_test.go):
//
//   - Every subscriber of the publishing node gets each event exactly once, before
//     Publish returns: a node serves its own sessions even when it cannot reach the
//     others.
//   - Another node's subscribers get an event at most once: a distributed Broker may
//     lose events (core NATS does, on a reconnect or a slow consumer). The Store is
//     the truth; the hub fills a gap in a room's seqs from it, and a Broker that may
//     have lost events delivers EventResync to its own subscribers when it notices.
//   - Order: the events of one Publish caller reach each subscriber in the order they
//     were published. Events of different callers, or of different nodes, interleave
//     in any order. A caller that needs an order (the committer's messages, in seq
//     order) publishes from one goroutine.
//   - Subscribers are called from several goroutines at once (each publisher's, and
//     the one reading from other nodes) and must not block: the hub only queues.
//   - Events are not changed in transit; Data and the slices are shared, read only.
type Broker interface {
	Publish(ctx context.Context, ev Event) error
	// Subscribe registers fn for every event published from now on; the returned
	// function unregisters it.
	Subscribe(fn func(Event)) (unsubscribe func())
	// Close unregisters every subscriber; a Publish after it answers ErrBrokerClosed.
	Close() error
}

// subscribers is a set of subscriber functions, shared by the Broker implementations.
type subscribers struct {
	mu     sync.RWMutex
	next   int
	subs   map[int]func(Event)
	closed bool
}

// deliver calls every subscriber with ev; ErrBrokerClosed after close.
func (ss *subscribers) deliver(ev Event) error {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	if ss.closed {
		return ErrBrokerClosed
	}
	for _, fn := range ss.subs {
		fn(ev)
	}
	return nil
}

func (ss *subscribers) add(fn func(Event)) func() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.subs == nil {
		ss.subs = make(map[int]func(Event))
	}
	id := ss.next
	ss.next++
	ss.subs[id] = fn
	return func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		delete(ss.subs, id)
	}
}

func (ss *subscribers) close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	clear(ss.subs)
}

// MemoryBroker is the Broker of a single node: Publish hands the event to every
// subscriber before it returns, and nothing is ever lost.
type MemoryBroker struct {
	subs subscribers
}

// NewMemoryBroker returns an empty MemoryBroker.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{} }

// Publish implements Broker.
func (b *MemoryBroker) Publish(_ context.Context, ev Event) error { return b.subs.deliver(ev) }

// Subscribe implements Broker.
func (b *MemoryBroker) Subscribe(fn func(Event)) func() { return b.subs.add(fn) }

// Close implements Broker.
func (b *MemoryBroker) Close() error {
	b.subs.close()
	return nil
}
