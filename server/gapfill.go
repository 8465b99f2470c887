package server

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Where gaps are filled. The Broker may lose another node's events and deliver
// different nodes' events in any order; the Store is the truth. The fan-out delivers
// each room's messages in seq order, once: before a pass it drops a message this
// node delivered already, and when a message's seq is beyond the next one it reads
// the missing ones from the Store and delivers them first (a room's seqs are
// gap-free, and a seq is stored only after every lower one is). A room's last message
// cannot be followed by a later one to show its loss, so the beats carry the seqs a
// node stored (presence.go), and a Broker that lost events delivers EventResync: then
// every cached room is read from the Store past what was delivered.

// fillPage is how many missing messages one Store read fetches.
const fillPage = 500

// fillTimeout bounds the Store reads of one pass.
const fillTimeout = 10 * time.Second

// prepare readies a pass's events: it orders, de-duplicates and fills the rooms'
// messages, applies membership changes and resyncs after EventResync. When nothing
// needs doing (the single node's case: its messages come in seq order) it answers
// evs itself. control reports events that change presence (the pass then holds mu
// for writing).
func (h *hub) prepare(evs []Event) (out []Event, control bool) {
	// The events that need nothing are taken as they come; the first that needs a
	// store read or a membership change ends this loop.
	i := 0
	h.mu.RLock()
fast:
	for ; i < len(evs); i++ {
		ev := &evs[i]
		switch ev.Kind {
		case EventFrame:
			if len(ev.Joined) > 0 || len(ev.Left) > 0 {
				break fast
			}
			if ev.Seq > 0 {
				if rs, ok := h.rooms[ev.RoomID]; ok {
					if ev.Seq != rs.fanSeq+1 {
						break fast
					}
					rs.fanSeq = ev.Seq
					rs.advance(ev.Seq)
				}
			}
		case EventResync:
			break fast
		case EventBeat:
			if ev.Node != h.node {
				break fast // its seqs
			}
			control = true
		case EventPresence:
			// This node's own up or down usually changes nothing here (a reconnect
			// within the grace): then the pass needs mu only for reading. A change
			// after this look publishes an event of its own, which settles it.
			if ev.Node == h.node && len(ev.UserIDs) == 1 {
				if u, ok := h.users[ev.UserIDs[0]]; !ok || presenceNoopLocked(u) {
					ev.Kind = kindDone
					continue
				}
			}
			control = true
		case EventBeatRequest, kindDone:
		default:
			control = true
		}
	}
	h.mu.RUnlock()
	if i == len(evs) {
		return evs, control
	}

	ctx, cancel := context.WithTimeout(context.Background(), fillTimeout)
	defer cancel()
	out = append(make([]Event, 0, len(evs)), evs[:i]...)
	sortRoomMessages(evs[i:])
	for _, ev := range evs[i:] {
		switch ev.Kind {
		case EventFrame:
			if len(ev.Joined) > 0 && ev.RoomID != "" {
				h.joined(ctx, ev.RoomID, ev.Joined)
			}
			for _, id := range ev.Left {
				h.memberRemoved(ev.RoomID, id)
			}
			if ev.Seq > 0 {
				rs := h.cachedRoom(ev.RoomID)
				if rs == nil {
					continue // no one here is in the room
				}
				if ev.Seq <= rs.fanSeq {
					h.metrics.duplicates.Inc()
					continue // delivered already
				}
				out = h.fill(ctx, out, rs, ev.Seq-1)
				rs.fanSeq = ev.Seq
				rs.advance(ev.Seq)
			}
			out = append(out, ev)
		case EventResync:
			out = h.resync(ctx, out)
		case EventBeat:
			control = true
			if ev.Node != h.node {
				out = h.fillHints(ctx, out, ev.Data)
			}
			out = append(out, ev)
		case EventBeatRequest:
			out = append(out, ev)
		case kindDone:
		default:
			control = true
			out = append(out, ev)
		}
	}
	return out, control
}

// sortRoomMessages puts each room's messages in evs in seq order, in the places
// they hold: two nodes' messages that came in the wrong order within one pass need
// no store read.
func sortRoomMessages(evs []Event) {
	var rooms map[string][]int
	for i := range evs {
		if ev := &evs[i]; ev.Kind == EventFrame && ev.Seq > 0 {
			if rooms == nil {
				rooms = make(map[string][]int)
			}
			rooms[ev.RoomID] = append(rooms[ev.RoomID], i)
		}
	}
	for _, at := range rooms {
		sorted := true
		for k := 1; k < len(at); k++ {
			if evs[at[k]].Seq < evs[at[k-1]].Seq {
				sorted = false
				break
			}
		}
		if sorted {
			continue
		}
		msgs := make([]Event, len(at))
		for k, i := range at {
			msgs[k] = evs[i]
		}
		slices.SortStableFunc(msgs, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
		for k, i := range at {
			evs[i] = msgs[k]
		}
	}
}

// cachedRoom answers the cached state of roomID, nil when it is not cached.
func (h *hub) cachedRoom(roomID string) *roomState {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.rooms[roomID]
}

// fill appends the room's messages after what the fan-out delivered up to upto,
// read from the store, and marks them delivered.
func (h *hub) fill(ctx context.Context, out []Event, rs *roomState, upto int64) []Event {
	for rs.fanSeq < upto {
		evs, _, err := streamAfter(ctx, h.store, rs.id, rs.fanSeq, upto, fillPage)
		if err != nil {
			h.log.Warn("fill a gap from the store", "room", rs.id, "after", rs.fanSeq, "upto", upto, "err", err)
			return out
		}
		if len(evs) == 0 {
			return out
		}
		for _, ev := range evs {
			out = append(out, Event{RoomID: rs.id, Seq: ev.seq, Type: ev.typ, Data: encode(ev.frame)})
			rs.fanSeq = ev.seq
			rs.advance(ev.seq)
		}
		h.metrics.gapFilled.Add(float64(len(evs)))
	}
	return out
}

// fillHints fills the rooms whose newest seq, as another node's beat tells, is past
// what was delivered here.
func (h *hub) fillHints(ctx context.Context, out []Event, data []byte) []Event {
	var b beat
	if err := json.Unmarshal(data, &b); err != nil || len(b.Seqs) == 0 {
		return out
	}
	for roomID, seq := range b.Seqs {
		if rs := h.cachedRoom(roomID); rs != nil && seq > rs.fanSeq {
			out = h.fill(ctx, out, rs, seq)
		}
	}
	return out
}

// resync reads every cached room from the store past what was delivered: events of
// other nodes may have been lost while the broker was away.
func (h *hub) resync(ctx context.Context, out []Event) []Event {
	h.mu.RLock()
	rooms := make([]*roomState, 0, len(h.rooms))
	for _, rs := range h.rooms {
		rooms = append(rooms, rs)
	}
	h.mu.RUnlock()
	for _, rs := range rooms {
		out = h.fill(ctx, out, rs, math.MaxInt64)
	}
	h.fan.beatNow = true
	h.publish(Event{Kind: EventBeatRequest})
	return out
}
