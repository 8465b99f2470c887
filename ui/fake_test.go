package ui

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/parleychat/parley/model"
)

// fakeEngine is an in-memory Engine for widget tests.
type fakeEngine struct {
	mu      sync.Mutex
	me      string
	rows    map[string][]Row // room → rows in order
	rooms   []RoomItem
	sent    []string
	retried []string
	typing  []string
	read    map[string]int64
	nudges  int
	users   []model.User
	calls   []string
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{me: "u-me", rows: map[string][]Row{}, read: map[string]int64{}}
}

// fill puts n messages into room, alternating senders, one a minute from start.
func (f *fakeEngine) fill(room string, n int, start time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 1; i <= n; i++ {
		sender, name := "u-alice", "Alice"
		if i%3 == 0 {
			sender, name = f.me, "Me"
		}
		r := Row{ID: fmt.Sprintf("%s-%06d", room, i), RoomID: room, Seq: int64(i), SenderID: sender,
			SenderName: name, Text: fmt.Sprintf("message %d", i), Time: start.Add(time.Duration(i) * time.Minute),
			Own: sender == f.me}
		if r.Own {
			r.Status = model.StatusRead
		}
		f.rows[room] = append(f.rows[room], r)
	}
}

func (f *fakeEngine) UserID() string { return f.me }

func (f *fakeEngine) Send(room, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, text)
	return nil
}

func (f *fakeEngine) Retry(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, id)
	return nil
}

func (f *fakeEngine) Typing(room string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.typing = append(f.typing, room)
}

func (f *fakeEngine) MarkRead(room string, seq int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq > f.read[room] {
		f.read[room] = seq
	}
}

func (f *fakeEngine) Nudge() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nudges++
}

func (f *fakeEngine) Latest(room string, n int) ([]Row, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "latest")
	rs := f.rows[room]
	return append([]Row(nil), rs[max(0, len(rs)-n):]...), nil
}

func (f *fakeEngine) Before(room string, seq int64, n int) ([]Row, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("before %d", seq))
	rs := f.rows[room]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Seq >= seq })
	return append([]Row(nil), rs[max(0, i-n):i]...), nil
}

func (f *fakeEngine) After(room string, seq int64, n int) ([]Row, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("after %d", seq))
	rs := f.rows[room]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Seq > seq })
	return append([]Row(nil), rs[i:min(len(rs), i+n)]...), nil
}

func (f *fakeEngine) Rooms() ([]RoomItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RoomItem(nil), f.rooms...), nil
}

func (f *fakeEngine) CreateRoom(name string, public bool) (RoomItem, error) {
	return RoomItem{ID: "r-" + name, Name: name, Public: public}, nil
}

func (f *fakeEngine) DM(userID string) (RoomItem, error) {
	return RoomItem{ID: "dm-" + userID, Name: userID, Direct: true, PeerID: userID}, nil
}

func (f *fakeEngine) JoinRoom(id string) (RoomItem, error) { return RoomItem{ID: id, Name: id}, nil }

func (f *fakeEngine) SearchUsers(q string) ([]model.User, error) { return f.users, nil }
