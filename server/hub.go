package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	lastSeq int64
	members map[string]struct{}
}

// userState is the hub's view of a user who has connected since the server started.
type userState struct {
	id       string
	name     string
	sessions map[*session]struct{}
	rooms    map[string]struct{}
	online   bool
	graceGen int // bumped by every connect, so a stale grace timer does nothing
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

	loadMu sync.Mutex // serialises store reads that fill the cache with membership changes

	mu     sync.RWMutex
	rooms  map[string]*roomState
	users  map[string]*userState
	closed bool
	visit  uint64 // eachSharerLocked's mark; under mu

	presenceChanged bool // someone came or left since the presence file was written; under mu

	unsubscribe func()

	fan fanout // deliver's queue and its goroutine (fanout.go)
}

func newHub(cfg Config, store Store, broker Broker, m *metrics) *hub {
	h := &hub{
		cfg: cfg, store: store, broker: broker, log: cfg.Logger, metrics: m,
		rooms: make(map[string]*roomState),
		users: make(map[string]*userState),
	}
	h.unsubscribe = broker.Subscribe(h.deliver)
	return h
}

// close stops every timer and the broker subscription, refuses new sessions and
// answers the registered ones.
func (h *hub) close() []*session {
	h.unsubscribe()
	h.fan.wg.Wait() // the last events are written or queued
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
		lastSeq: r.LastSeq, members: make(map[string]struct{}, len(r.MemberIDs))}
	for _, m := range r.MemberIDs {
		rs.members[m] = struct{}{}
	}
	return rs
}

// cacheRoomLocked caches r unless it is cached already; the caller holds loadMu and mu.
func (h *hub) cacheRoomLocked(r RoomRecord) *roomState {
	if rs, ok := h.rooms[r.ID]; ok {
		return rs
	}
	rs := stateOf(r)
	h.rooms[r.ID] = rs
	for m := range rs.members {
		if u, ok := h.users[m]; ok {
			u.rooms[r.ID] = struct{}{}
		}
	}
	return rs
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

// maxRoomIDLen bounds the room ids worth looking up: the server makes them short.
const maxRoomIDLen = 64

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
	if roomID == "" || len(roomID) > maxRoomIDLen {
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
	defer h.mu.RUnlock()
	_, member := rs.members[userID]
	return roomInfo{id: rs.id, epoch: rs.epoch, lastSeq: rs.lastSeq, member: member, members: len(rs.members)}, nil
}

// loadUser makes sure every room of userID is cached and the user has a state.
func (h *hub) loadUser(ctx context.Context, userID, name string) error {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.RLock()
	_, ok := h.users[userID]
	h.mu.RUnlock()
	if ok {
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
	loaded := make([]RoomRecord, 0, len(missing))
	for _, id := range missing {
		r, err := h.store.Room(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		loaded = append(loaded, r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	u := &userState{id: userID, name: name, sessions: make(map[*session]struct{}),
		rooms: make(map[string]struct{}, len(ids))} // typing is made at the first mark
	h.users[userID] = u
	for _, r := range loaded {
		h.cacheRoomLocked(r)
	}
	for _, id := range ids {
		if _, ok := h.rooms[id]; ok {
			u.rooms[id] = struct{}{}
		}
	}
	return nil
}

// roomCreated caches a room just stored.
func (h *hub) roomCreated(r RoomRecord) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cacheRoomLocked(r)
}

// memberAdded records a membership just stored, loading the room when it is not
// cached yet so that the user's rooms stay complete.
func (h *hub) memberAdded(ctx context.Context, roomID, userID string) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.RLock()
	_, cached := h.rooms[roomID]
	h.mu.RUnlock()
	if !cached {
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
	rs.members[userID] = struct{}{}
	if u, ok := h.users[userID]; ok {
		u.rooms[roomID] = struct{}{}
	}
}

// stored records a room's new seq after a commit.
func (h *hub) stored(roomID string, seq int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rs, ok := h.rooms[roomID]; ok && seq > rs.lastSeq {
		rs.lastSeq = seq
	}
}

// online reports whether userID has a connection (or is within the grace period).
func (h *hub) online(userID string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	u, ok := h.users[userID]
	return ok && u.online
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

// sendSharersLocked queues data to every session of the users who share a room with
// u; the caller holds mu for writing.
func (h *hub) sendSharersLocked(u *userState, typ string, data []byte) {
	h.eachSharerLocked(u, func(o *userState) {
		for s := range o.sessions {
			s.push(typ, data)
		}
	})
}

// connect registers a session: the user becomes online (telling those who share a
// room unless the user was within the grace period) and hello is queued before any
// other frame can reach the session.
func (h *hub) connect(ctx context.Context, s *session) error {
	if err := h.loadUser(ctx, s.userID, s.displayName); err != nil {
		return fmt.Errorf("load rooms of %s: %w", s.userID, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errStopped
	}
	u := h.users[s.userID]
	u.name = s.displayName
	u.graceGen++
	if u.grace != nil {
		u.grace.Stop()
		u.grace = nil
	}
	var joined []byte
	if !u.online {
		u.online = true
		h.presenceChanged = true
		joined = encode(model.PresenceFrame{Type: model.TypeUserJoined, UserID: u.id, DisplayName: u.name})
	}
	online := make([]string, 0)
	h.eachSharerLocked(u, func(o *userState) {
		if o.online {
			online = append(online, o.id)
		}
		if joined != nil {
			for s := range o.sessions {
				s.push(model.TypeUserJoined, joined)
			}
		}
	})
	// Not sorted: the protocol names no order, and with everyone in one room the
	// list is every online user (sorting it was a fifth of a connect).
	s.push(model.TypeHello, encode(model.HelloFrame{Type: model.TypeHello, UserID: s.userID, DisplayName: s.displayName,
		HeartbeatSeconds: h.cfg.HeartbeatSeconds, ServerTime: model.NewTime(h.cfg.Now()), Online: online,
		Protocol: model.ProtocolVersion}))
	u.sessions[s] = struct{}{}
	return nil
}

// disconnect unregisters a session; when it was the user's last, the user goes
// offline after the grace period unless they reconnect.
func (h *hub) disconnect(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.users[s.userID]
	if !ok {
		return
	}
	if _, ok := u.sessions[s]; !ok {
		return
	}
	delete(u.sessions, s)
	if len(u.sessions) > 0 || h.closed {
		return
	}
	if h.cfg.PresenceGrace <= 0 {
		h.leaveLocked(u)
		return
	}
	gen := u.graceGen
	u.grace = time.AfterFunc(h.cfg.PresenceGrace, func() { h.graceOver(u.id, gen) })
}

// graceOver ends a grace period: if the user has not come back, they left.
func (h *hub) graceOver(userID string, gen int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.users[userID]
	if !ok || h.closed || u.graceGen != gen || len(u.sessions) > 0 {
		return
	}
	u.grace = nil
	h.leaveLocked(u)
}

func (h *hub) leaveLocked(u *userState) {
	if !u.online {
		return
	}
	u.online = false
	h.presenceChanged = true
	h.sendSharersLocked(u, model.TypeUserLeft, encode(model.PresenceFrame{Type: model.TypeUserLeft, UserID: u.id, DisplayName: u.name}))
}

// publish hands an event to the broker, logging a failure.
func (h *hub) publish(ev Event) {
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
	h.mu.Unlock()
	h.publish(Event{RoomID: roomID, Except: userID, Type: model.TypeStopTyping,
		Data: encode(model.TypingFrame{Type: model.TypeStopTyping, RoomID: roomID, UserID: userID, DisplayName: name})})
}
