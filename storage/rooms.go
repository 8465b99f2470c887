package storage

import (
	"time"

	"github.com/parleychat/parley/model"
)

// Room is a room as the store holds it, with the preview the rooms list shows.
type Room struct {
	ID        string
	Name      string
	Public    bool
	Direct    bool
	MemberIDs []string
	Epoch     string
	// LastSeq is the highest seq the server told us exists (the max of the messages
	// held and of the room info).
	LastSeq int64
	// ReadSeq is our own read mark.
	ReadSeq int64
	// Preview, PreviewSender and PreviewAt describe the room's newest message (a pending
	// own one when there is one): its text (or "📎 name" for an attachment without
	// text), its sender's display name and its time. Empty for a room without messages.
	Preview       string
	PreviewSender string
	PreviewAt     time.Time
}

// Unread returns how many messages are not read yet: max(0, LastSeq-ReadSeq).
func (r Room) Unread() int64 {
	return max(0, r.LastSeq-r.ReadSeq)
}

// UpsertRooms inserts or updates rooms in one transaction. LastSeq only moves forward.
// A room whose epoch changed is cleared (its messages with a seq and its receipts are
// dropped; own pending and failed messages are kept) and its id returned in reset: the
// caller syncs it again from 0. A room seen for the first time (or reset) takes its read
// mark from the server's figures (LastSeq-Unread).
func (s *Store) UpsertRooms(rooms []model.Room) (reset []string, err error) {
	return nil, nil
}

// Rooms returns every room, the room with the latest activity (newest message) first;
// rooms without messages follow, by name.
func (s *Store) Rooms() ([]Room, error) {
	return nil, nil
}

// Room returns one room; false when it is not held.
func (s *Store) Room(id string) (Room, bool, error) {
	return Room{}, false, nil
}

// SyncCursor returns the highest seq held for the room (0 when none): the afterSeq of
// the next `sync`.
func (s *Store) SyncCursor(roomID string) (int64, error) {
	return 0, nil
}

// SetReadSeq moves the room's read mark forward to seq; it reports whether it moved
// (false for a lower or equal seq, or an unknown room).
func (s *Store) SetReadSeq(roomID string, seq int64) (bool, error) {
	return false, nil
}

// SetLastSeq moves the room's LastSeq forward to seq (a `synced` frame's seq, say).
// An unknown room is added with only its id, to be filled in by UpsertRooms.
func (s *Store) SetLastSeq(roomID string, seq int64) error {
	return nil
}
