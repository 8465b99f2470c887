package server

import (
	"runtime"
	"sync"

	"github.com/parleychat/parley/model"
)

// fanout carries the hub's events to the sessions. deliver (the broker's subscriber)
// queues an event; a goroutine, which exists while events wait, delivers them in the
// order they came. It takes all that wait at a time, a pass: when events come slowly
// a pass is one event and goes out at once, and when they come faster than they can
// be written a pass holds several, and each connection still gets one write with all
// of its frames of the pass. So the fan-out keeps up at any rate without waiting on
// purpose, and a connection's frames are never reordered: a pass starts when the one
// before it has been written or queued everywhere.
type fanout struct {
	mu      sync.Mutex
	events  []Event
	spare   []Event
	running bool
	stopped bool // the hub is closing: later events are dropped
	wg      sync.WaitGroup

	// The pass's state; only the running goroutine touches it.
	targets []passTarget
	index   map[*session]int
	beatNow bool // another node asked for a beat (EventBeatRequest)
}

// stop drops the events that come from now on and waits for the queued ones.
func (f *fanout) stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.wg.Wait()
}

// passTarget is one session's frames in a pass, in order. Frames of an event that
// was the session's first in the pass share that event's one-frame slice (its cap is
// 1, so appending the next copies it).
type passTarget struct {
	s      *session
	frames []outFrame
}

// fanoutSplit is the number of sessions in a pass from which the writes are shared
// among the cores.
const fanoutSplit = 128

// fanoutPassHook, when set (by tests, before any server starts), is called with the
// number of message events of every pass that has any, before the pass is written.
var fanoutPassHook func(events int)

// keepEvents is the largest event buffer the fan-out keeps between passes.
const keepEvents = 64

// deliver is the broker's subscriber: it queues ev for the fan-out and returns.
func (h *hub) deliver(ev Event) {
	f := &h.fan
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return
	}
	f.events = append(f.events, ev)
	if !f.running {
		f.running = true
		f.wg.Add(1)
		go h.fanoutLoop()
	}
	f.mu.Unlock()
}

// countMessages answers how many of evs are messages.
func countMessages(evs []Event) int {
	n := 0
	for i := range evs {
		if evs[i].Type == model.TypeMessage {
			n++
		}
	}
	return n
}

// fanoutLoop runs passes until no event waits, then ends.
func (h *hub) fanoutLoop() {
	f := &h.fan
	defer f.wg.Done()
	for {
		f.mu.Lock()
		evs := f.events
		if len(evs) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.events, f.spare = f.spare, nil
		f.mu.Unlock()

		if fanoutPassHook != nil {
			if n := countMessages(evs); n > 0 {
				fanoutPassHook(n)
			}
		}
		pass, control := h.prepare(evs)
		h.fanoutPass(pass, control)
		if f.beatNow {
			f.beatNow = false
			h.publishBeat(false)
		}

		clear(pass)
		clear(evs)
		if cap(evs) <= keepEvents {
			f.mu.Lock()
			f.spare = evs[:0]
			f.mu.Unlock()
		}
	}
}

// fanoutPass delivers evs: it gathers each session's frames under the hub's read lock,
// then writes them without it (a write must not hold up connects and disconnects). A
// big pass's writes are shared among the cores, and the pass returns when all are
// done. A session whose queue is full is closed as a slow consumer; nobody waits for it.
func (h *hub) fanoutPass(evs []Event, control bool) {
	f := &h.fan
	targets := f.targets[:0]
	var one []outFrame
	add := func(s *session, fr outFrame) {
		if len(evs) == 1 && !control {
			// A session is named once per event: no need to look it up.
			targets = append(targets, passTarget{s: s, frames: one})
			return
		}
		if f.index == nil {
			f.index = make(map[*session]int)
		}
		if j, ok := f.index[s]; ok {
			targets[j].frames = append(targets[j].frames, fr)
			return
		}
		f.index[s] = len(targets)
		if len(one) == 0 || !sameFrame(one[0], fr) {
			one = []outFrame{fr} // a presence frame of this pass's control events
		}
		targets = append(targets, passTarget{s: s, frames: one})
	}
	// Presence changes the hub's state as it makes frames: such a pass holds mu for
	// writing, a pass of frames only for reading.
	if control {
		h.mu.Lock()
	} else {
		h.mu.RLock()
	}
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case EventFrame:
			if len(ev.Data) == 0 {
				continue
			}
			fr := outFrame{typ: ev.Type, data: ev.Data}
			one = []outFrame{fr}
			h.eachTargetLocked(ev, func(s *session) { add(s, fr) })
		case EventBeatRequest:
			if ev.Node != h.node {
				f.beatNow = true
			}
		case kindDone:
		default:
			h.presenceLocked(ev, add)
		}
	}
	if control {
		h.mu.Unlock()
	} else {
		h.mu.RUnlock()
	}
	clear(f.index)

	parts := 1
	if len(targets) >= fanoutSplit {
		parts = min(runtime.GOMAXPROCS(0), len(targets)/(fanoutSplit/2))
	}
	if parts <= 1 {
		writeTargets(targets)
	} else {
		var wg sync.WaitGroup
		size := (len(targets) + parts - 1) / parts
		for start := size; start < len(targets); start += size {
			part := targets[start:min(start+size, len(targets))]
			wg.Add(1)
			go func() {
				defer wg.Done()
				writeTargets(part)
			}()
		}
		writeTargets(targets[:size])
		wg.Wait()
	}
	clear(targets)
	if cap(targets) > 4*fanoutSplit*8 {
		targets = nil // a huge pass's array is not kept
	}
	f.targets = targets[:0]
}

// sameFrame reports whether a and b are the one encoded frame.
func sameFrame(a, b outFrame) bool {
	return len(a.data) == len(b.data) && len(a.data) > 0 && &a.data[0] == &b.data[0]
}

// writeTargets hands each session its frames of the pass. Presence frames alone are
// queued, to wait for company (session.enqueueLocked); any other frame takes them along.
func writeTargets(ts []passTarget) {
	for i := range ts {
		if onlyPresence(ts[i].frames) {
			ts[i].s.pushFrames(ts[i].frames)
			continue
		}
		ts[i].s.tryDeliver(ts[i].frames)
	}
}

// onlyPresence reports whether every frame is user_joined or user_left.
func onlyPresence(frames []outFrame) bool {
	for _, f := range frames {
		if f.typ != model.TypeUserJoined && f.typ != model.TypeUserLeft {
			return false
		}
	}
	return true
}

// eachTargetLocked calls fn for every session ev goes to; the caller holds h.mu.
func (h *hub) eachTargetLocked(ev *Event, fn func(*session)) {
	add := func(userID string) {
		if userID == ev.Except && userID != "" {
			return
		}
		if u, ok := h.users[userID]; ok {
			for s := range u.sessions {
				if ev.ExceptConn == "" || s.id != ev.ExceptConn {
					fn(s)
				}
			}
		}
	}
	if len(ev.UserIDs) > 0 {
		for _, id := range ev.UserIDs {
			add(id)
		}
		return
	}
	rs, ok := h.rooms[ev.RoomID]
	if !ok {
		return
	}
	for m := range rs.members {
		add(m)
	}
}
