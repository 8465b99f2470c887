package server

import (
	"context"
	"sync"
)

// Event is one frame to fan out, encoded once and shared by every receiver.
// It goes to the members of RoomID, or else to the users in UserIDs, never to Except
// nor to the session whose id is ExceptConn (a user's own receipt skips the session
// that sent the mark).
type Event struct {
	RoomID     string
	UserIDs    []string
	Except     string
	ExceptConn string
	Type       string // the frame's type, for metrics
	Data       []byte // the encoded frame; receivers must not modify it
}

// Broker carries events from the node that made them to every node's hub. The
// in-memory broker serves one node; a distributed one (NATS) can replace it without
// touching the hub. Publish must deliver one publisher's events in order.
type Broker interface {
	Publish(ctx context.Context, ev Event) error
	// Subscribe registers fn for every event published from now on; the returned
	// function unregisters it.
	Subscribe(fn func(Event)) (unsubscribe func())
	Close() error
}

// MemoryBroker is the in-process Broker: Publish hands the event to every subscriber
// before it returns.
type MemoryBroker struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

// NewMemoryBroker returns an empty MemoryBroker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{subs: make(map[int]func(Event))}
}

// Publish implements Broker.
func (b *MemoryBroker) Publish(_ context.Context, ev Event) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.subs {
		fn(ev)
	}
	return nil
}

// Subscribe implements Broker.
func (b *MemoryBroker) Subscribe(fn func(Event)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}
}

// Close implements Broker.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.subs)
	return nil
}
