package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// apiTimeout bounds one HTTP call made for the screens.
const apiTimeout = 15 * time.Second

// clientEngine is the Engine over the real client engine and its store.
type clientEngine struct {
	c     *pnet.Client
	store *storage.Store

	mu     sync.Mutex
	selfID string   // the account the names below are of
	names  []string // the signed-in user's display name and username, to name direct rooms after the other member

	downloads *storage.Downloads // opened on first use (attach.go)
}

func newClientEngine(c *pnet.Client) *clientEngine {
	return &clientEngine{c: c, store: c.Store()}
}

// selfNames returns the signed-in user's display name and username, read from the
// account again when another account signed in (or the first one, after the engine
// was made).
func (e *clientEngine) selfNames() []string {
	id := e.c.UserID()
	e.mu.Lock()
	defer e.mu.Unlock()
	if id == e.selfID && e.names != nil {
		return e.names
	}
	if a, ok, err := e.c.Account(); err == nil && ok && a.UserID == id {
		e.selfID, e.names = id, []string{a.DisplayName, a.Username}
		return e.names
	}
	return nil
}

func (e *clientEngine) UserID() string { return e.c.UserID() }

func (e *clientEngine) Send(roomID, text string) error {
	_, err := e.c.Send(roomID, text)
	if err != nil {
		return errors.New(pnet.UserMessage(err))
	}
	return nil
}

func (e *clientEngine) Retry(id string) error {
	_, err := e.c.Retry(id)
	return err
}

func (e *clientEngine) Typing(roomID string) { e.c.Typing(roomID) }

func (e *clientEngine) MarkRead(roomID string, seq int64) { _ = e.c.MarkRead(roomID, seq) }

func (e *clientEngine) Nudge() { e.c.Nudge() }

func (e *clientEngine) Latest(roomID string, n int) ([]Row, error) {
	ms, err := e.store.Latest(roomID, n)
	if err != nil {
		return nil, fmt.Errorf("latest of %s: %w", roomID, err)
	}
	return e.decorate(rowsOf(ms), ms), nil
}

// Before reads the page above seq from the store and, when the store has less than a
// page, from the server's history.
func (e *clientEngine) Before(roomID string, seq int64, n int) ([]Row, error) {
	ms, err := e.store.Before(roomID, seq, n)
	if err != nil {
		return nil, fmt.Errorf("messages of %s before %d: %w", roomID, seq, err)
	}
	want := min(int64(n), seq-1)
	if int64(len(ms)) < want {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		if hs, err := e.c.History(ctx, roomID, seq, n); err == nil {
			ms = hs
		}
	}
	return e.decorate(rowsOf(ms), ms), nil
}

func (e *clientEngine) After(roomID string, seq int64, n int) ([]Row, error) {
	ms, err := e.store.After(roomID, seq, n)
	if err != nil {
		return nil, fmt.Errorf("messages of %s after %d: %w", roomID, seq, err)
	}
	return e.decorate(rowsOf(ms), ms), nil
}

func (e *clientEngine) Rooms() ([]RoomItem, error) {
	rs, err := e.c.Rooms()
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	return e.roomItems(rs), nil
}

func (e *clientEngine) CreateRoom(name string, public bool) (RoomItem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	r, err := e.c.CreateRoom(ctx, name, nil, public)
	if err != nil {
		return RoomItem{}, errors.New(pnet.UserMessage(err))
	}
	return e.roomItem(r), nil
}

func (e *clientEngine) DM(userID string) (RoomItem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	r, err := e.c.DM(ctx, userID)
	if err != nil {
		return RoomItem{}, errors.New(pnet.UserMessage(err))
	}
	return e.roomItem(r), nil
}

func (e *clientEngine) JoinRoom(roomID string) (RoomItem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	r, err := e.c.JoinRoom(ctx, roomID)
	if err != nil {
		return RoomItem{}, errors.New(pnet.UserMessage(err))
	}
	return e.roomItem(r), nil
}

func (e *clientEngine) SearchUsers(query string) ([]model.User, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	us, err := e.c.SearchUsers(ctx, query)
	if err != nil {
		return nil, errors.New(pnet.UserMessage(err))
	}
	return us, nil
}

// rowOf is the list's view of a stored message.
func rowOf(m storage.Message) Row {
	text := m.Content
	if m.Deleted {
		text = deletedText
	}
	return Row{ID: m.ID, RoomID: m.RoomID, Seq: m.Seq, LocalOrder: m.LocalOrder, SenderID: m.SenderID,
		SenderName: m.SenderName, Text: text, Time: m.Timestamp.Time, Own: m.Own, Status: m.Status, Err: m.Error,
		Att: attachmentOf(m), ReplyTo: m.ReplyTo, Edited: !m.EditedAt.IsZero() && !m.Deleted, Deleted: m.Deleted}
}

func rowsOf(ms []storage.Message) []Row {
	rows := make([]Row, len(ms))
	for i, m := range ms {
		rows[i] = rowOf(m)
		if rows[i].Time.IsZero() {
			rows[i].Time = time.Now()
		}
	}
	return rows
}

func (e *clientEngine) roomItems(rs []storage.Room) []RoomItem {
	items := make([]RoomItem, len(rs))
	for i, r := range rs {
		items[i] = e.roomItem(r)
	}
	return items
}

// roomItem is the rooms list's view of a stored room.
func (e *clientEngine) roomItem(r storage.Room) RoomItem {
	it := RoomItem{ID: r.ID, Name: r.Name, Direct: r.Direct, Public: r.Public, Preview: previewLine(r, e.c.UserID()),
		PreviewTime: r.PreviewAt, Unread: r.Unread(), LastSeq: r.LastSeq}
	if r.Direct {
		it.Name = peerName(r.Name, e.selfNames()...)
		me := e.c.UserID()
		for _, id := range r.MemberIDs {
			if id != me {
				it.PeerID = id
			}
		}
		it.Online = it.PeerID != "" && e.c.Online(it.PeerID)
	}
	return it
}

// updateOf turns an engine batch into a screen update.
func (e *clientEngine) updateOf(b pnet.Batch) Update {
	u := Update{Presence: b.Presence}
	if len(b.Messages) > 0 {
		u.Rows = make([]Row, 0, len(b.Messages))
		for _, m := range b.Messages {
			r := rowOf(m)
			if r.Time.IsZero() {
				r.Time = time.Now()
			}
			u.Rows = append(u.Rows, r)
		}
		u.Rows = e.decorate(u.Rows, b.Messages)
		for i, m := range b.Messages {
			if !m.Own && m.Status == "" {
				u.Notify = append(u.Notify, notifyRow(u.Rows[i]))
			}
		}
	}
	e.conversationUpdate(&u, b)
	if len(b.Rooms) > 0 {
		u.Rooms = e.roomItems(b.Rooms)
	}
	if b.Typing != nil {
		u.Typing = make(map[string][]Typist, len(b.Typing))
		for room, who := range b.Typing {
			ts := make([]Typist, 0, len(who))
			for _, t := range who {
				ts = append(ts, Typist{RoomID: room, UserID: t.UserID, Name: t.DisplayName})
			}
			u.Typing[room] = ts
		}
	}
	if b.State != nil {
		st := connStateOf(*b.State)
		u.Conn = &st
	}
	u.Reset = b.Reset
	u.Uploads = uploadsOf(b.Uploads)
	return u
}

// connStateOf is the banner's view of the engine's state.
func connStateOf(s pnet.StateEvent) ConnState {
	st := ConnState{Throttled: s.Throttled}
	if s.Err != nil {
		st.Err = pnet.UserMessage(s.Err)
	}
	switch s.State {
	case pnet.StateOnline:
		st.Phase = PhaseOnline
	case pnet.StateOffline:
		st.Phase, st.RetryAt = PhaseOffline, s.NextTry
	default:
		st.Phase = PhaseConnecting
	}
	return st
}

// oneLine folds a preview onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// previewLine is the rooms list's line for a room's newest message: "You: text" for the
// user's own (told by the sender's id, not the display name, which others may share),
// "Name: text" for another member's in a group, the bare text in a direct room. A newest
// message with neither text nor file was deleted: it says so, as its bubble does.
func previewLine(r storage.Room, me string) string {
	text := oneLine(r.Preview)
	if text == "" && !r.PreviewAt.IsZero() {
		text = deletedText
	}
	switch {
	case text == "":
		return ""
	case r.PreviewOwn || (me != "" && r.PreviewSenderID == me):
		return "You: " + text
	case !r.Direct && r.PreviewSender != "":
		return r.PreviewSender + ": " + text
	}
	return text
}

// peerName names a direct room after the other member: the server calls it "Ann & Bob"
// after the two display names, in either order. me are the user's own names (display
// name first); a name that contains " & " itself still matches.
func peerName(name string, me ...string) string {
	for _, n := range me {
		if n == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(name, n+" & "); ok && rest != "" {
			return rest
		}
		if rest, ok := strings.CutSuffix(name, " & "+n); ok && rest != "" {
			return rest
		}
	}
	return name
}
