package net

import (
	"context"
	"sync"

	"github.com/parleychat/parley/model"
)

// markQueue holds the delivered and read marks to tell the server, coalesced: only the
// highest seq of each room and kind goes out.
type markQueue struct {
	kick chan struct{}

	mu   sync.Mutex
	want map[markKey]int64
	sent map[markKey]int64
}

type markKey struct {
	kind   string // model.TypeDelivered or model.TypeRead
	roomID string
}

func newMarkQueue() *markQueue {
	return &markQueue{kick: make(chan struct{}, 1), want: map[markKey]int64{}, sent: map[markKey]int64{}}
}

func (q *markQueue) delivered(roomID string, seq int64) {
	q.set(markKey{model.TypeDelivered, roomID}, seq)
}
func (q *markQueue) read(roomID string, seq int64) { q.set(markKey{model.TypeRead, roomID}, seq) }

func (q *markQueue) set(k markKey, seq int64) {
	if seq <= 0 {
		return
	}
	q.mu.Lock()
	if seq > q.want[k] {
		q.want[k] = seq
	}
	q.mu.Unlock()
	q.signal()
}

func (q *markQueue) signal() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// newConnection forgets what was sent, so that a new connection hears every mark again.
func (q *markQueue) newConnection() {
	q.mu.Lock()
	clear(q.sent)
	q.mu.Unlock()
	q.signal()
}

// due returns the marks not sent yet.
func (q *markQueue) due() []model.MarkFrame {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []model.MarkFrame
	for k, seq := range q.want {
		if seq > q.sent[k] {
			out = append(out, model.MarkFrame{Type: k.kind, RoomID: k.roomID, Seq: seq})
		}
	}
	return out
}

func (q *markQueue) confirm(f model.MarkFrame) {
	q.mu.Lock()
	k := markKey{f.Type, f.RoomID}
	q.sent[k] = max(q.sent[k], f.Seq)
	q.mu.Unlock()
}

// runMarks sends due marks at most once per MarkInterval until ctx ends.
func (c *Client) runMarks(ctx context.Context) {
	for {
		select {
		case <-c.marks.kick:
		case <-ctx.Done():
			return
		}
		if c.cfg.MarkInterval > 0 {
			t := c.clock.NewTimer(c.cfg.MarkInterval)
			select {
			case <-t.C():
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		for _, f := range c.marks.due() {
			if c.sendControl(f) {
				c.marks.confirm(f)
			}
		}
	}
}
