package net

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/model"
)

// Typing timing of protocol v1.
const (
	TypingRepeat = 3 * time.Second // keys keep coming: `typing` again at most this often
	TypingIdle   = 2 * time.Second // no key for this long: `stop_typing`
	TypingExpiry = 6 * time.Second // an incoming typing mark without a refresh expires
)

// typingOut debounces the user's keystrokes into typing / stop_typing frames.
type typingOut struct {
	clock Clock
	send  func(frameType, roomID string) // must not block

	mu    sync.Mutex
	rooms map[string]*typingRoom
}

type typingRoom struct {
	lastSent time.Time
	timer    Timer
	gen      int
}

func newTypingOut(c Clock, send func(frameType, roomID string)) *typingOut {
	return &typingOut{clock: c, send: send, rooms: map[string]*typingRoom{}}
}

// keystroke notes a key in roomID: `typing` on the first and then at most every
// TypingRepeat; `stop_typing` after TypingIdle without a key.
func (t *typingOut) keystroke(roomID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	r := t.rooms[roomID]
	if r == nil {
		r = &typingRoom{}
		t.rooms[roomID] = r
	}
	if r.lastSent.IsZero() || now.Sub(r.lastSent) >= TypingRepeat {
		r.lastSent = now
		t.send(model.TypeTyping, roomID)
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	r.gen++
	gen := r.gen
	r.timer = t.clock.AfterFunc(TypingIdle, func() { t.idle(roomID, gen) })
}

// idle ends typing in a room if no key came since the timer of generation gen started.
func (t *typingOut) idle(roomID string, gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.rooms[roomID]; r != nil && r.gen == gen {
		delete(t.rooms, roomID)
		t.send(model.TypeStopTyping, roomID)
	}
}

// stop ends typing in a room at once (the message was sent, or the user left the room).
func (t *typingOut) stop(roomID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.rooms[roomID]; r != nil {
		r.timer.Stop()
		delete(t.rooms, roomID)
		t.send(model.TypeStopTyping, roomID)
	}
}

// reset forgets every room without sending anything (the connection is gone: the
// server drops the marks itself).
func (t *typingOut) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, r := range t.rooms {
		r.timer.Stop()
		delete(t.rooms, id)
	}
}

// typingIn tracks who types in each room from typing / stop_typing frames; a mark
// expires after TypingExpiry without a refresh. Every change of a room's list is reported.
type typingIn struct {
	clock    Clock
	onChange func(roomID string, who []Typist) // called under the lock, must not block

	mu    sync.Mutex
	rooms map[string]map[string]*typingMark
}

type typingMark struct {
	name  string
	timer Timer
	gen   int
}

func newTypingIn(c Clock, onChange func(string, []Typist)) *typingIn {
	return &typingIn{clock: c, onChange: onChange, rooms: map[string]map[string]*typingMark{}}
}

// start notes (or refreshes) a typing mark.
func (t *typingIn) start(roomID, userID, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	users := t.rooms[roomID]
	if users == nil {
		users = map[string]*typingMark{}
		t.rooms[roomID] = users
	}
	m, had := users[userID]
	if !had {
		m = &typingMark{}
		users[userID] = m
	} else {
		m.timer.Stop()
	}
	changed := !had || m.name != name
	m.name = name
	m.gen++
	gen := m.gen
	m.timer = t.clock.AfterFunc(TypingExpiry, func() { t.expire(roomID, userID, gen) })
	if changed {
		t.report(roomID)
	}
}

// stop removes a typing mark.
func (t *typingIn) stop(roomID, userID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.rooms[roomID][userID]; ok {
		m.timer.Stop()
		t.remove(roomID, userID)
	}
}

func (t *typingIn) expire(roomID, userID string, gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.rooms[roomID][userID]; ok && m.gen == gen {
		t.remove(roomID, userID)
	}
}

// clear removes every mark (the connection is gone: nobody is known to type).
func (t *typingIn) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for roomID, users := range t.rooms {
		for _, m := range users {
			m.timer.Stop()
		}
		delete(t.rooms, roomID)
		t.onChange(roomID, []Typist{})
	}
}

func (t *typingIn) remove(roomID, userID string) {
	delete(t.rooms[roomID], userID)
	t.report(roomID)
	if len(t.rooms[roomID]) == 0 {
		delete(t.rooms, roomID)
	}
}

// report hands the room's typists, by name, to onChange.
func (t *typingIn) report(roomID string) {
	who := make([]Typist, 0, len(t.rooms[roomID]))
	for id, m := range t.rooms[roomID] {
		who = append(who, Typist{UserID: id, DisplayName: m.name})
	}
	slices.SortFunc(who, func(a, b Typist) int {
		if c := strings.Compare(a.DisplayName, b.DisplayName); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	t.onChange(roomID, who)
}
