package net

import (
	"context"
	"sync"
	"time"

	"github.com/parleychat/parley/storage"
)

// FrameInterval is how long the engine coalesces events into one Batch: one screen frame.
const FrameInterval = 16 * time.Millisecond

// State is where the connection stands.
type State int

// The connection states.
const (
	// StateSignedOut: no account, or the server no longer accepts its token. Login or
	// Register moves on.
	StateSignedOut State = iota
	// StateConnecting: dialling, or between the upgrade and the end of the first sync.
	StateConnecting
	// StateOnline: hello received; the outbox is being flushed and live frames arrive.
	StateOnline
	// StateOffline: the connection failed; the next try is at StateEvent.NextTry.
	StateOffline
)

// String returns the state's lower-case name.
func (s State) String() string {
	switch s {
	case StateSignedOut:
		return "signed-out"
	case StateConnecting:
		return "connecting"
	case StateOnline:
		return "online"
	case StateOffline:
		return "offline"
	}
	return "unknown"
}

// StateEvent is a change of the connection's state.
type StateEvent struct {
	State   State
	NextTry time.Time // StateOffline: when the next dial happens (Nudge makes it now)
	Synced  bool      // StateOnline: the first sync of every room after hello is done
	Err     error     // StateOffline, StateSignedOut: why; nil for a plain sign-out
	// Throttled (StateOnline): the server refused a message for sending too fast; the
	// outbox waits and goes out in order at a slower pace. It ends when the outbox is empty.
	Throttled bool
}

// Typist is a member typing in a room.
type Typist struct {
	UserID      string
	DisplayName string
}

// Batch is everything that changed within one frame interval. Fields with nothing to
// say are nil. A message or room appears once per batch, in its latest form.
type Batch struct {
	// Messages are new messages and own messages whose status changed, in the order
	// they first changed within the batch.
	Messages []storage.Message
	// Rooms are rooms added or changed (name, members, last seq, read mark).
	Rooms []storage.Room
	// Reset names rooms whose history was cleared because the server's epoch changed:
	// the UI drops what it shows of them and reloads from the store.
	Reset []string
	// Typing maps a room id to who types in it now, for the rooms whose typists changed.
	// An empty list means nobody types any more.
	Typing map[string][]Typist
	// Presence maps a user id to whether the user is online, for users that changed.
	Presence map[string]bool
	// State is the latest connection state, when it changed. States that followed each
	// other within one frame are coalesced: only the last is reported.
	State *StateEvent

	// Changed are messages already shown whose content, EditedAt, Deleted or Reactions
	// changed (an update from anyone, an own optimistic edit, delete or react, or its
	// undo): the UI refreshes their one row. A message new in this batch is in
	// Messages instead, in its latest form.
	Changed []storage.Message
	// Failed are own edits, deletes and reactions the server refused for good; their
	// change is undone already (the target is in Changed). They stay failed, in
	// Store.FailedUpdates, until Client.RetryUpdate or Client.DiscardUpdate.
	Failed []storage.UpdateFailure
	// Left names rooms the user left or was removed from (room_left): they are gone
	// from the store.
	Left []string
	// Uploads maps a queued message's id to how far its file's upload has come, for
	// the uploads that moved (SendFile).
	Uploads map[string]UploadProgress
}

// empty reports whether the batch has nothing to say.
func (b *Batch) empty() bool {
	return len(b.Messages) == 0 && len(b.Rooms) == 0 && len(b.Reset) == 0 &&
		len(b.Typing) == 0 && len(b.Presence) == 0 && b.State == nil && len(b.Uploads) == 0 &&
		len(b.Changed) == 0 && len(b.Failed) == 0 && len(b.Left) == 0
}

// msgKey names a message in a batch: ids are unique within a room only.
type msgKey struct{ room, id string }

// batcher coalesces events into Batches and hands them out at most once per interval.
// Producers never block: while the consumer is slow, the pending batch grows.
type batcher struct {
	clock    Clock
	interval time.Duration
	out      chan Batch
	kick     chan struct{}

	loadRoom func(id string) (storage.Room, bool) // reads a room's stored form

	mu      sync.Mutex
	pending Batch
	roomIDs []string       // rooms changed, read by loadRoom when the batch goes out
	msgIdx  map[msgKey]int // message → index in pending.Messages
	chgIdx  map[msgKey]int // message → index in pending.Changed
	roomIdx map[string]int // room id → index in roomIDs
}

func newBatcher(c Clock, interval time.Duration, loadRoom func(string) (storage.Room, bool)) *batcher {
	return &batcher{clock: c, interval: interval, out: make(chan Batch), kick: make(chan struct{}, 1),
		loadRoom: loadRoom, msgIdx: map[msgKey]int{}, chgIdx: map[msgKey]int{}, roomIdx: map[string]int{}}
}

func (b *batcher) signal() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *batcher) addMessages(ms []storage.Message) { b.add(ms, false) }

// addChanged notes messages whose folded state changed.
func (b *batcher) addChanged(ms []storage.Message) { b.add(ms, true) }

// add notes messages, new or (changed) whose folded state changed. A message already
// pending, in either list, keeps its place there and takes its latest form: one row.
func (b *batcher) add(ms []storage.Message, changed bool) {
	if len(ms) == 0 {
		return
	}
	b.mu.Lock()
	for _, m := range ms {
		k := msgKey{m.RoomID, m.ID}
		if i, ok := b.msgIdx[k]; ok {
			b.pending.Messages[i] = m
			continue
		}
		if i, ok := b.chgIdx[k]; ok {
			b.pending.Changed[i] = m
			continue
		}
		if changed {
			b.chgIdx[k] = len(b.pending.Changed)
			b.pending.Changed = append(b.pending.Changed, m)
		} else {
			b.msgIdx[k] = len(b.pending.Messages)
			b.pending.Messages = append(b.pending.Messages, m)
		}
	}
	b.mu.Unlock()
	b.signal()
}

func (b *batcher) addFailed(f storage.UpdateFailure) {
	b.mu.Lock()
	b.pending.Failed = append(b.pending.Failed, f)
	b.mu.Unlock()
	b.signal()
}

func (b *batcher) addLeft(roomID string) {
	b.mu.Lock()
	b.pending.Left = append(b.pending.Left, roomID)
	b.mu.Unlock()
	b.signal()
}

// addRooms notes rooms that changed; their stored form is read when the batch goes out,
// so a room that changes a thousand times within a frame is read once.
func (b *batcher) addRooms(ids ...string) {
	if len(ids) == 0 {
		return
	}
	b.mu.Lock()
	for _, id := range ids {
		if _, ok := b.roomIdx[id]; ok {
			continue
		}
		b.roomIdx[id] = len(b.roomIDs)
		b.roomIDs = append(b.roomIDs, id)
	}
	b.mu.Unlock()
	b.signal()
}

func (b *batcher) addReset(ids []string) {
	if len(ids) == 0 {
		return
	}
	b.mu.Lock()
	b.pending.Reset = append(b.pending.Reset, ids...)
	b.mu.Unlock()
	b.signal()
}

func (b *batcher) setTyping(room string, who []Typist) {
	b.mu.Lock()
	if b.pending.Typing == nil {
		b.pending.Typing = map[string][]Typist{}
	}
	b.pending.Typing[room] = who
	b.mu.Unlock()
	b.signal()
}

func (b *batcher) setPresence(p map[string]bool) {
	if len(p) == 0 {
		return
	}
	b.mu.Lock()
	if b.pending.Presence == nil {
		b.pending.Presence = map[string]bool{}
	}
	for id, on := range p {
		b.pending.Presence[id] = on
	}
	b.mu.Unlock()
	b.signal()
}

func (b *batcher) setUpload(id string, p UploadProgress) {
	b.mu.Lock()
	if b.pending.Uploads == nil {
		b.pending.Uploads = map[string]UploadProgress{}
	}
	b.pending.Uploads[id] = p
	b.mu.Unlock()
	b.signal()
}

func (b *batcher) setState(s StateEvent) {
	b.mu.Lock()
	b.pending.State = &s
	b.mu.Unlock()
	b.signal()
}

// take returns the pending batch and starts a new one.
func (b *batcher) take() (Batch, bool) {
	b.mu.Lock()
	if b.pending.empty() && len(b.roomIDs) == 0 {
		b.mu.Unlock()
		return Batch{}, false
	}
	out, ids := b.pending, b.roomIDs
	b.pending, b.roomIDs = Batch{}, nil
	clear(b.msgIdx)
	clear(b.chgIdx)
	clear(b.roomIdx)
	b.mu.Unlock()
	for _, id := range ids {
		if r, ok := b.loadRoom(id); ok {
			out.Rooms = append(out.Rooms, r)
		}
	}
	return out, !out.empty()
}

// run hands batches to the consumer until ctx ends, then closes the channel.
func (b *batcher) run(ctx context.Context) {
	defer close(b.out)
	var last time.Time
	for {
		select {
		case <-b.kick:
		case <-ctx.Done():
			return
		}
		// Wait out the rest of the frame since the last batch, so that what arrives
		// meanwhile joins this one: at most one batch per interval.
		if wait := b.interval - b.clock.Now().Sub(last); wait > 0 {
			t := b.clock.NewTimer(wait)
			select {
			case <-t.C():
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		batch, ok := b.take()
		if !ok {
			continue
		}
		select {
		case b.out <- batch:
			last = b.clock.Now()
		case <-ctx.Done():
			return
		}
	}
}
