package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/model"
)

// roomState is the hub's view of a room. Once cached, its membership is complete and
// kept current: every membership change goes through the hub.
type roomState struct {
	id      string
	name    string
	public  bool
	direct  bool
	epoch   string
	lastSeq atomic.Int64 // the newest seq this node knows of: stored here or delivered
	members map[string]struct{}
	// holders counts the user states whose rooms hold this room (under mu): at 0 no
	// one here needs it, and it leaves the cache (forgetIfIdleLocked). A room read
	// again later takes its seqs from the store, the gap-fill's fanSeq included.
	holders int

	// fanSeq is the seq of the room's last message the fan-out delivered; only the
	// fan-out goroutine reads and writes it (fanout.go).
	fanSeq int64
}

// userState is the hub's view of a user who has connected since the server started,
// or who holds a session on another node.
type userState struct {
	id       string
	name     string
	loaded   bool // every room of the user is cached (loadUser); not for a user seen only on other nodes
	sessions map[*session]struct{}
	remote   map[string]struct{} // the other nodes that hold a session of the user
	rooms    map[string]struct{}
	online   bool // what this node told its sessions (presence.go)
	graceGen int  // bumped when the grace starts or ends, so a stale grace timer does nothing
	grace    *time.Timer
	typing   map[string]*typingState
	mark     uint64 // the hub's visit that last reached this user (eachSharerLocked)
}

// typingState is one user's typing mark in one room.
type typingState struct {
	lastRelay time.Time
	gen       int
	timer     *time.Timer
}

// hub knows who is connected and in which rooms, and fans frames out to sessions.
// It also keeps presence (with its grace period) and typing.
type hub struct {
	cfg     Config
	store   Store
	broker  Broker
	log     *slog.Logger
	metrics *metrics
	node    string // this node's id in the events it publishes
	shared  bool   // the broker reaches other nodes: presence beats, membership re-checks

	loadMu sync.Mutex // serialises store reads that fill the cache with membership changes

	mu     sync.RWMutex
	rooms  map[string]*roomState
	users  map[string]*userState
	closed bool
	visit  uint64 // eachSharerLocked's mark; under mu

	presenceChanged bool // someone came or left since the presence file was written; under mu

	nodes     map[string]*nodeState // the other nodes heard from; under mu (presence.go)
	hintMu    sync.Mutex
	seqHints  map[string]int64 // rooms' newest seqs stored here since the last beat; under hintMu
	beatStop  chan struct{}
	beatsDone chan struct{}

	unsubscribe func()

	fan fanout // deliver's queue and its goroutine (fanout.go)
}

func newHub(cfg Config, store Store, broker Broker, m *metrics) *hub {
	_, local := broker.(*MemoryBroker)
	h := &hub{
		cfg: cfg, store: store, broker: broker, log: cfg.Logger, metrics: m,
		node:   newID(),
		shared: !local,
		rooms:  make(map[string]*roomState),
		users:  make(map[string]*userState),
		nodes:  make(map[string]*nodeState),
	}
	h.unsubscribe = broker.Subscribe(h.deliver)
	if h.shared {
		h.startBeats()
	}
	return h
}

// close stops every timer and the broker subscription, refuses new sessions and
// answers the registered ones. The other nodes hear that this node holds no one now.
func (h *hub) close() []*session {
	h.stopBeats()
	h.unsubscribe()
	h.fan.stop() // the last events are written or queued
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	var out []*session
	for _, u := range h.users {
		for s := range u.sessions {
			out = append(out, s)
		}
		if u.grace != nil {
			u.grace.Stop()
		}
		for _, t := range u.typing {
			if t.timer != nil {
				t.timer.Stop()
			}
		}
	}
	return out
}

// sessionList answers every registered session.
func (h *hub) sessionList() []*session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*session
	for _, u := range h.users {
		for s := range u.sessions {
			out = append(out, s)
		}
	}
	return out
}

// msTime converts Unix milliseconds to a time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// encodeFailed is sent in the unlikely case a frame cannot be encoded.
var encodeFailed = []byte(`{"type":"error","code":"internal","message":"frame encoding failed"}`)

// encode marshals a frame once for every receiver. The frames are plain structs, so
// it does not fail in practice; if it did, the receivers get an internal error frame.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return encodeFailed
	}
	return b
}

func stateOf(r RoomRecord) *roomState {
	rs := &roomState{id: r.ID, name: r.Name, public: r.Public, direct: r.Direct, epoch: r.Epoch,
		fanSeq: r.LastSeq, members: make(map[string]struct{}, len(r.MemberIDs))}
	rs.lastSeq.Store(r.LastSeq)
	for _, m := range r.MemberIDs {
		rs.members[m] = struct{}{}
	}
	return rs
}

// cacheRoomLocked answers the state of r, caching it unless it is cached already;
// the caller holds loadMu and mu. A room that no user state here holds (made or read
// through the API by users with no connection here, looked up by anyone) is answered
// but not cached: nothing would ever release it, and the next look-up reads the
// store, which is the truth for it anyway.
func (h *hub) cacheRoomLocked(r RoomRecord) *roomState {
	if rs, ok := h.rooms[r.ID]; ok {
		return rs
	}
	rs := stateOf(r)
	for m := range rs.members {
		if u, ok := h.users[m]; ok {
			linkLocked(u, rs)
		}
	}
	if rs.holders > 0 {
		h.rooms[r.ID] = rs
	}
	return rs
}

// linkLocked records that u is a member of rs; the caller holds mu for writing.
func linkLocked(u *userState, rs *roomState) {
	if _, ok := u.rooms[rs.id]; ok {
		return
	}
	u.rooms[rs.id] = struct{}{}
	rs.holders++
}

// forgetIfIdleLocked drops u's state when nothing live needs it: no session here or
// on another node, not online (no grace running), no typing mark to expire. The rooms
// that no other user state holds leave the cache with it, so that the hub keeps
// neither every user who ever connected nor every room ever loaded. The caller holds
// mu for writing.
func (h *hub) forgetIfIdleLocked(u *userState) {
	if h.closed || heldLocked(u) || u.online || u.grace != nil || h.users[u.id] != u {
		return
	}
	for _, t := range u.typing {
		if t.timer != nil {
			return
		}
	}
	delete(h.users, u.id)
	for id := range u.rooms {
		if rs, ok := h.rooms[id]; ok {
			if rs.holders--; rs.holders <= 0 {
				delete(h.rooms, id)
			}
		}
	}
}

// room answers the cached state of a room, loading it on a miss; ErrNotFound if no
// such room.
func (h *hub) room(ctx context.Context, roomID string) (*roomState, error) {
	h.mu.RLock()
	rs, ok := h.rooms[roomID]
	h.mu.RUnlock()
	if ok {
		return rs, nil
	}
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.RLock()
	rs, ok = h.rooms[roomID]
	h.mu.RUnlock()
	if ok {
		return rs, nil
	}
	r, err := h.store.Room(ctx, roomID)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cacheRoomLocked(r), nil
}

// maxIDLen bounds the ids worth looking up or echoing: the server makes room and user
// ids short, and message and update ids are UUIDs.
const maxIDLen = 64

// roomInfo is a copy of a room's state, safe to use outside the lock.
type roomInfo struct {
	id, epoch string
	lastSeq   int64
	member    bool
	members   int
}

// access answers whether userID is a member of roomID, with the room's seq and epoch.
// A room that does not exist answers not a member.
func (h *hub) access(ctx context.Context, roomID, userID string) (roomInfo, error) {
	if roomID == "" || len(roomID) > maxIDLen {
		return roomInfo{id: roomID}, nil
	}
	rs, err := h.room(ctx, roomID)
	if errors.Is(err, ErrNotFound) {
		return roomInfo{id: roomID}, nil
	}
	if err != nil {
		return roomInfo{}, fmt.Errorf("load room %s: %w", roomID, err)
	}
	h.mu.RLock()
	_, member := rs.members[userID]
	members := len(rs.members)
	h.mu.RUnlock()
	if !member && h.shared {
		// Another node may have added the member and its event not come (yet).
		if member, err = h.recheckMember(ctx, rs, userID); err != nil {
			return roomInfo{}, fmt.Errorf("load room %s: %w", roomID, err)
		}
	}
	return roomInfo{id: rs.id, epoch: rs.epoch, lastSeq: rs.lastSeq.Load(), member: member, members: members}, nil
}

// recheckMember reads from the store whether userID is a member of rs, and records
// the membership when it is.
func (h *hub) recheckMember(ctx context.Context, rs *roomState, userID string) (bool, error) {
	r, err := h.store.Room(ctx, rs.id)
	if err != nil {
		return false, err
	}
	if !slices.Contains(r.MemberIDs, userID) {
		return false, nil
	}
	h.joined(ctx, rs.id, []string{userID})
	return true, nil
}

// loadUser makes sure every room of userID is cached and the user has a loaded state.
func (h *hub) loadUser(ctx context.Context, userID, name string) error {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.RLock()
	u, ok := h.users[userID]
	loaded := ok && u.loaded
	h.mu.RUnlock()
	if loaded {
		return nil
	}
	// Only the rooms not cached yet are read with their members: a big room such as
	// general is read once, not at every member's first connect.
	ids, err := h.store.RoomIDsOf(ctx, userID)
	if err != nil {
		return err
	}
	h.mu.RLock()
	var missing []string
	for _, id := range ids {
		if _, ok := h.rooms[id]; !ok {
			missing = append(missing, id)
		}
	}
	h.mu.RUnlock()
	loaded2 := make([]RoomRecord, 0, len(missing))
	for _, id := range missing {
		r, err := h.store.Room(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		loaded2 = append(loaded2, r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok = h.users[userID]
	if !ok {
		u = newUserState(userID, name)
		h.users[userID] = u
	}
	u.loaded = true
	for _, r := range loaded2 {
		h.cacheRoomLocked(r)
	}
	for _, id := range ids {
		if rs, ok := h.rooms[id]; ok {
			linkLocked(u, rs)
			// The store is the truth: a membership another node added reaches this
			// cache here even if its event was lost.
			rs.members[userID] = struct{}{}
		}
	}
	return nil
}

// newUserState makes the state of a user; typing and remote are made when needed.
func newUserState(userID, name string) *userState {
	return &userState{id: userID, name: name, sessions: make(map[*session]struct{}), rooms: make(map[string]struct{})}
}

// userLocked answers the state of userID, making one (with the rooms cached here
// that have the user as a member) if there is none; the caller holds mu for writing.
func (h *hub) userLocked(userID, name string) *userState {
	if u, ok := h.users[userID]; ok {
		return u
	}
	u := newUserState(userID, name)
	for _, rs := range h.rooms {
		if _, ok := rs.members[userID]; ok {
			linkLocked(u, rs)
		}
	}
	h.users[userID] = u
	return u
}

// roomCreated caches a room just stored.
func (h *hub) roomCreated(r RoomRecord) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cacheRoomLocked(r)
}

// memberAdded records a membership just stored.
func (h *hub) memberAdded(ctx context.Context, roomID, userID string) {
	h.joined(ctx, roomID, []string{userID})
}

// joined records memberships of roomID just stored (here or on another node). A room
// not cached yet is loaded when one of the users is loaded here, so that the user's
// rooms stay complete; otherwise no one here needs it.
func (h *hub) joined(ctx context.Context, roomID string, userIDs []string) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.RLock()
	_, cached := h.rooms[roomID]
	local := false
	for _, id := range userIDs {
		if u, ok := h.users[id]; ok && u.loaded {
			local = true
		}
	}
	h.mu.RUnlock()
	if !cached {
		if !local {
			return
		}
		r, err := h.store.Room(ctx, roomID)
		if err != nil {
			h.log.Warn("load room", "room", roomID, "err", err)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.cacheRoomLocked(r)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := h.rooms[roomID]
	for _, id := range userIDs {
		rs.members[id] = struct{}{}
		if u, ok := h.users[id]; ok {
			linkLocked(u, rs)
		}
	}
}

// memberRemoved records a membership just deleted: from now on no frame of the room
// reaches the user.
func (h *hub) memberRemoved(roomID, userID string) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	rs, cached := h.rooms[roomID]
	if cached {
		delete(rs.members, userID)
	}
	u, ok := h.users[userID]
	if !ok {
		return
	}
	if _, held := u.rooms[roomID]; !held {
		return
	}
	delete(u.rooms, roomID)
	if cached {
		if rs.holders--; rs.holders <= 0 {
			delete(h.rooms, roomID)
		}
	}
}

// roomChanged records a room's new name.
func (h *hub) roomChanged(r RoomRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rs, ok := h.rooms[r.ID]; ok {
		rs.name = r.Name
	}
}

// stored records a room's new seq after a commit here.
func (h *hub) stored(roomID string, seq int64) {
	h.mu.RLock()
	rs, ok := h.rooms[roomID]
	h.mu.RUnlock()
	if ok {
		rs.advance(seq)
	}
	if h.shared {
		h.hintMu.Lock()
		if h.seqHints == nil {
			h.seqHints = make(map[string]int64)
		}
		h.seqHints[roomID] = max(h.seqHints[roomID], seq)
		h.hintMu.Unlock()
	}
}

// advance moves the room's newest known seq up to seq.
func (rs *roomState) advance(seq int64) {
	for {
		cur := rs.lastSeq.Load()
		if seq <= cur || rs.lastSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// online reports whether userID has a connection here or elsewhere (or is within the
// grace period).
func (h *hub) online(userID string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	u, ok := h.users[userID]
	return ok && (u.online || len(u.sessions) > 0)
}

// eachSharerLocked calls fn once for every user with a state who shares a room with
// u, u excluded. It marks the users it visits instead of building a set: a user in a
// big room reaches every member at each connect, and a set per connect was most of
// a reconnect storm's cost. The caller holds mu for writing.
func (h *hub) eachSharerLocked(u *userState, fn func(*userState)) {
	h.visit++
	mark := h.visit
	u.mark = mark
	for id := range u.rooms {
		rs, ok := h.rooms[id]
		if !ok {
			continue
		}
		for m := range rs.members {
			o, ok := h.users[m]
			if !ok || o.mark == mark {
				continue
			}
			o.mark = mark
			fn(o)
		}
	}
}

// publish hands an event, as this node's, to the broker, logging a failure.
func (h *hub) publish(ev Event) {
	ev.Node = h.node
	if err := h.broker.Publish(context.Background(), ev); err != nil {
		h.log.Warn("publish", "type", ev.Type, "room", ev.RoomID, "err", err)
	}
}

// typing relays a typing mark at most once a second per user and room, and arms the
// expiry that relays stop_typing when no refresh comes.
func (h *hub) typing(userID, name, roomID string) {
	h.mu.Lock()
	u, ok := h.users[userID]
	if !ok || h.closed {
		h.mu.Unlock()
		return
	}
	t := u.typing[roomID]
	if t == nil {
		t = &typingState{}
		if u.typing == nil {
			u.typing = make(map[string]*typingState)
		}
		u.typing[roomID] = t
	}
	now := h.cfg.Now()
	relay := t.lastRelay.IsZero() || now.Sub(t.lastRelay) >= time.Second
	if relay {
		t.lastRelay = now
	}
	t.gen++
	gen := t.gen
	if t.timer != nil {
		t.timer.Stop()
	}
	t.timer = time.AfterFunc(h.cfg.TypingExpiry, func() { h.typingExpired(userID, name, roomID, gen) })
	h.mu.Unlock()
	if relay {
		h.publish(Event{RoomID: roomID, Except: userID, Type: model.TypeTyping,
			Data: encode(model.TypingFrame{Type: model.TypeTyping, RoomID: roomID, UserID: userID, DisplayName: name})})
	}
}

// stopTyping always relays stop_typing and disarms the expiry.
func (h *hub) stopTyping(userID, name, roomID string) {
	h.mu.Lock()
	if u, ok := h.users[userID]; ok {
		if t := u.typing[roomID]; t != nil {
			t.gen++
			if t.timer != nil {
				t.timer.Stop()
				t.timer = nil
			}
		}
	}
	h.mu.Unlock()
	h.publish(Event{RoomID: roomID, Except: userID, Type: model.TypeStopTyping,
		Data: encode(model.TypingFrame{Type: model.TypeStopTyping, RoomID: roomID, UserID: userID, DisplayName: name})})
}

func (h *hub) typingExpired(userID, name, roomID string, gen int) {
	h.mu.Lock()
	u, ok := h.users[userID]
	if !ok || h.closed {
		h.mu.Unlock()
		return
	}
	t := u.typing[roomID]
	if t == nil || t.gen != gen {
		h.mu.Unlock()
		return
	}
	t.timer = nil
	h.forgetIfIdleLocked(u)
	h.mu.Unlock()
	h.publish(Event{RoomID: roomID, Except: userID, Type: model.TypeStopTyping,
		Data: encode(model.TypingFrame{Type: model.TypeStopTyping, RoomID: roomID, UserID: userID, DisplayName: name})})
}
