package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleychat/parley/model"
)

// Presence across nodes. A user is online while any node holds a session of theirs.
// A node publishes EventPresence when it gets a user's first session (Up) and when it
// loses the last; every node, this one included, keeps which nodes hold each user and
// tells its own sessions: user_joined when a user comes to be held anywhere, and
// user_left when a user has been held nowhere for the grace period. So a reconnect to
// another node within the grace is, for everyone, no change at all.
//
// Events can be lost, and a node can die without a word. So every node also publishes
// a beat every NodeBeat with the users it holds (which replaces what the others know
// of it) and the rooms' last seqs it stored (which fills a room's lost last message);
// a node silent for nodeTimeout is taken for dead and its users start their grace,
// counted from its last beat. A node that (re)joins asks everyone for a beat at once.

// hub-internal event kinds: queued to the fan-out by this node, never published.
const (
	kindGrace     EventKind = 200 + iota // UserIDs[0]'s grace (generation Seq) is over
	kindNodeCheck                        // time to expire the nodes gone silent
	kindDone                             // an event prepare found nothing to do for
)

// nodeState is what this node knows of another node.
type nodeState struct {
	users map[string]struct{}
	last  time.Time // its last beat or presence event
}

// beat is an EventBeat's Data.
type beat struct {
	Users []presenceEntry  `json:"users"`
	Seqs  map[string]int64 `json:"seqs,omitempty"`
}

// nodeTimeout is how long a node may stay silent before it is taken for dead.
func (h *hub) nodeTimeout() time.Duration { return 3 * h.cfg.NodeBeat }

// connect registers a session and queues hello before any other frame can reach it;
// the user's first session here is published (EventPresence), and the fan-out tells
// those who share a room when the user was not online before.
func (h *hub) connect(ctx context.Context, s *session) error {
	var u *userState
	for u == nil {
		if err := h.loadUser(ctx, s.userID, s.displayName); err != nil {
			return fmt.Errorf("load rooms of %s: %w", s.userID, err)
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return errStopped
		}
		if lu, ok := h.users[s.userID]; ok && lu.loaded {
			u = lu
		} else {
			// The user's last leave was settled meanwhile and its state forgotten.
			h.mu.Unlock()
		}
	}
	defer h.mu.Unlock()
	u.name = s.displayName
	online := make([]string, 0)
	h.eachSharerLocked(u, func(o *userState) {
		if o.online {
			online = append(online, o.id)
		}
	})
	// Not sorted: the protocol names no order, and with everyone in one room the
	// list is every online user (sorting it was a fifth of a connect).
	s.push(model.TypeHello, encode(model.HelloFrame{Type: model.TypeHello, UserID: s.userID, DisplayName: s.displayName,
		HeartbeatSeconds: h.cfg.HeartbeatSeconds, ServerTime: model.NewTime(h.cfg.Now()), Online: online,
		Protocol: model.ProtocolVersion}))
	first := len(u.sessions) == 0
	u.sessions[s] = struct{}{}
	if u.grace != nil {
		// Back within the grace: ending it here changes nothing anyone sees, and
		// leaves the fan-out nothing to do for this up (a reconnect storm's case).
		u.grace.Stop()
		u.grace = nil
		u.graceGen++
	}
	if first {
		// Published under mu, so that a user's ups and downs go out in the order they
		// happened here (the broker only queues).
		h.publish(Event{Kind: EventPresence, UserIDs: []string{u.id}, Name: u.name, Up: true})
	}
	return nil
}

// disconnect unregisters a session; the user's last session here is published.
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
	h.publish(Event{Kind: EventPresence, UserIDs: []string{u.id}, Name: u.name})
	// A user gone before the fan-out made it online has no leave to settle (both
	// events change nothing): forget it now.
	h.forgetIfIdleLocked(u)
}

// heldLocked reports whether a node holds a session of u; the caller holds mu.
func heldLocked(u *userState) bool { return len(u.sessions) > 0 || len(u.remote) > 0 }

// presenceNoopLocked reports whether settling u would change nothing: its presence
// already follows whether it is held. The caller holds mu (for reading at least).
func presenceNoopLocked(u *userState) bool {
	held := heldLocked(u)
	return (held && u.online && u.grace == nil) || (!held && !u.online) || (!held && u.online && u.grace != nil)
}

// presenceLocked applies a presence event (EventPresence, EventBeat, kindGrace,
// kindNodeCheck) and adds the frames it makes for this node's sessions. It runs in a
// fan-out pass with mu held for writing, so a hello's online list and the
// user_joined frames never disagree.
func (h *hub) presenceLocked(ev *Event, add func(*session, outFrame)) {
	if h.closed {
		return
	}
	now := time.Now()
	switch ev.Kind {
	case EventPresence:
		if len(ev.UserIDs) != 1 {
			return
		}
		id := ev.UserIDs[0]
		if ev.Node == h.node {
			if u, ok := h.users[id]; ok {
				h.settleLocked(u, h.cfg.PresenceGrace, add)
			}
			return
		}
		n := h.nodeLocked(ev.Node, now)
		u := h.userLocked(id, ev.Name)
		if ev.Up {
			n.users[id] = struct{}{}
			holdRemote(u, ev.Node)
		} else {
			delete(n.users, id)
			delete(u.remote, ev.Node)
		}
		h.settleLocked(u, h.cfg.PresenceGrace, add)
	case EventBeat:
		if ev.Node == h.node {
			return
		}
		var b beat
		if err := json.Unmarshal(ev.Data, &b); err != nil {
			h.log.Warn("beat", "node", ev.Node, "err", err)
			return
		}
		n := h.nodeLocked(ev.Node, now)
		held := make(map[string]struct{}, len(b.Users))
		for _, e := range b.Users {
			held[e.ID] = struct{}{}
			if _, ok := n.users[e.ID]; ok {
				continue
			}
			n.users[e.ID] = struct{}{}
			u := h.userLocked(e.ID, e.Name)
			holdRemote(u, ev.Node)
			h.settleLocked(u, h.cfg.PresenceGrace, add)
		}
		for id := range n.users {
			if _, ok := held[id]; ok {
				continue
			}
			delete(n.users, id)
			if u, ok := h.users[id]; ok {
				delete(u.remote, ev.Node)
				h.settleLocked(u, h.cfg.PresenceGrace, add)
			}
		}
	case kindGrace:
		u, ok := h.users[ev.UserIDs[0]]
		if !ok || int64(u.graceGen) != ev.Seq || heldLocked(u) {
			return
		}
		u.grace = nil
		h.leaveLocked(u, add)
		h.forgetIfIdleLocked(u)
	case kindNodeCheck:
		for node, n := range h.nodes {
			silent := now.Sub(n.last)
			if silent <= h.nodeTimeout() {
				continue
			}
			delete(h.nodes, node)
			if len(n.users) == 0 {
				continue // it left (its last beat held no one), or never held anyone
			}
			h.log.Warn("node silent, its users leave after the grace", "node", node, "silent", silent, "users", len(n.users))
			for id := range n.users {
				if u, ok := h.users[id]; ok {
					delete(u.remote, node)
					h.settleLocked(u, h.cfg.PresenceGrace-silent, add)
				}
			}
		}
	}
}

// holdRemote records that node holds a session of u.
func holdRemote(u *userState, node string) {
	if u.remote == nil {
		u.remote = make(map[string]struct{})
	}
	u.remote[node] = struct{}{}
}

// nodeLocked answers the state of another node, heard from at now.
func (h *hub) nodeLocked(node string, now time.Time) *nodeState {
	n, ok := h.nodes[node]
	if !ok {
		n = &nodeState{users: make(map[string]struct{})}
		h.nodes[node] = n
	}
	n.last = now
	return n
}

// settleLocked makes u's presence follow whether a node holds u: held, u is online
// (user_joined if u was not) and any grace ends; held nowhere, u leaves after grace.
func (h *hub) settleLocked(u *userState, grace time.Duration, add func(*session, outFrame)) {
	if heldLocked(u) {
		if u.grace != nil {
			u.grace.Stop()
			u.grace = nil
			u.graceGen++
		}
		if !u.online {
			u.online = true
			h.presenceChanged = true
			h.sendSharersLocked(u, add, model.TypeUserJoined)
		}
		return
	}
	if !u.online || u.grace != nil {
		h.forgetIfIdleLocked(u)
		return
	}
	if grace <= 0 {
		h.leaveLocked(u, add)
		h.forgetIfIdleLocked(u)
		return
	}
	h.startGraceLocked(u, grace)
}

// startGraceLocked arms u's grace timer: when it ends, the fan-out decides.
func (h *hub) startGraceLocked(u *userState, grace time.Duration) {
	u.graceGen++
	ev := Event{Kind: kindGrace, UserIDs: []string{u.id}, Seq: int64(u.graceGen)}
	u.grace = time.AfterFunc(grace, func() { h.deliver(ev) })
}

func (h *hub) leaveLocked(u *userState, add func(*session, outFrame)) {
	if !u.online {
		return
	}
	u.online = false
	h.presenceChanged = true
	h.sendSharersLocked(u, add, model.TypeUserLeft)
}

// sendSharersLocked adds a presence frame about u for every session of the users who
// share a room with u; the caller holds mu for writing.
func (h *hub) sendSharersLocked(u *userState, add func(*session, outFrame), typ string) {
	f := outFrame{typ: typ, data: encode(model.PresenceFrame{Type: typ, UserID: u.id, DisplayName: u.name})}
	h.eachSharerLocked(u, func(o *userState) {
		for s := range o.sessions {
			add(s, f)
		}
	})
}

// startBeats publishes this node's beat every NodeBeat, and checks for silent nodes,
// until stopBeats. It first asks the other nodes for theirs.
func (h *hub) startBeats() {
	h.beatStop, h.beatsDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.beatsDone)
		t := time.NewTicker(h.cfg.NodeBeat)
		defer t.Stop()
		h.publish(Event{Kind: EventBeatRequest})
		for {
			select {
			case <-t.C:
				h.publishBeat(false)
				h.deliver(Event{Kind: kindNodeCheck})
			case <-h.beatStop:
				return
			}
		}
	}()
}

// stopBeats ends the beats and tells the other nodes that this one holds no one now.
func (h *hub) stopBeats() {
	if h.beatStop == nil {
		return
	}
	close(h.beatStop)
	<-h.beatsDone
	h.publishBeat(true)
}

// publishBeat publishes the users this node holds (none when leaving) and the
// rooms' seqs it stored since the last beat.
func (h *hub) publishBeat(leaving bool) {
	var b beat
	// The beat is published under mu, like the ups and downs: a down that happens
	// after this list goes out after it, and does not come first to be undone by it.
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !leaving {
		for _, u := range h.users {
			if len(u.sessions) > 0 {
				b.Users = append(b.Users, presenceEntry{ID: u.id, Name: u.name})
			}
		}
	}
	h.hintMu.Lock()
	b.Seqs, h.seqHints = h.seqHints, nil
	h.hintMu.Unlock()
	data, err := json.Marshal(b)
	if err != nil {
		h.log.Warn("beat", "err", err)
		return
	}
	h.publish(Event{Kind: EventBeat, Data: data})
}
