package ui

import (
	"time"

	"github.com/parleychat/parley/model"
)

// Row is what the chat list shows of one message.
type Row struct {
	ID         string
	RoomID     string
	Seq        int64 // 0 until the server has stored it
	LocalOrder int64 // orders messages that have no seq yet
	SenderID   string
	SenderName string
	Text       string
	Time       time.Time
	Own        bool
	Status     model.Status // own messages only
	Err        string       // why it failed, when Status is failed
	Att        Attachment   // the message's file, if any (bubble_attach.go)
	// Protocol 1.1's folded state (see conversation.go): the message answered, a short
	// "Name: text" of it when held, whether it was edited or deleted, and its reactions
	// in chip form (encoded so that a Row stays comparable).
	ReplyTo   string
	Quote     string
	Edited    bool
	Deleted   bool
	Reactions string
	// MentionsMe: another's message that names the user as @name.
	MentionsMe bool
}

// before reports whether r sorts above o in the list: stored messages by seq, then the
// ones still waiting for their seq in the order they were written.
func (r Row) before(o Row) bool {
	switch {
	case r.Seq > 0 && o.Seq > 0:
		return r.Seq < o.Seq
	case r.Seq > 0:
		return true
	case o.Seq > 0:
		return false
	}
	return r.LocalOrder < o.LocalOrder
}

// RoomItem is what the rooms list shows of one room.
type RoomItem struct {
	ID          string
	Name        string
	Direct      bool
	Public      bool
	PeerID      string // direct rooms: the other member
	Online      bool   // direct rooms: the other member is online
	Preview     string
	PreviewTime time.Time
	Unread      int64
	LastSeq     int64
}

// ConnPhase is where the connection to the server stands.
type ConnPhase int

// The phases of the connection banner.
const (
	PhaseOnline ConnPhase = iota
	PhaseConnecting
	PhaseOffline
)

// ConnState is the connection state the banner shows.
type ConnState struct {
	Phase   ConnPhase
	RetryAt time.Time // PhaseOffline: when the next attempt is due
	Err     string
	// Throttled: the server refused a message for sending too fast; the outbox waits
	// and goes out in order, slower.
	Throttled bool
}

// Typist is a member typing in a room.
type Typist struct {
	RoomID string
	UserID string
	Name   string
}

// Update is one batch of engine events, applied to the screens in one go.
type Update struct {
	Rows     []Row               // new or changed messages
	Rooms    []RoomItem          // new or changed rooms
	Typing   map[string][]Typist // room id → who is typing now (rooms absent: unchanged)
	Conn     *ConnState          // nil: unchanged
	Presence map[string]bool     // user id → online (absent: unchanged)
	Reset    []string            // rooms whose history was dropped: reload them
	Notify   []Row               // messages from others worth a notification
	Uploads  map[string]Progress // message id → how far its file's upload has come
	Changed  []Row               // messages shown already that were edited, deleted or reacted to
	Failed   []FailedChange      // own edits, deletes or reactions refused for good (undone already)
	Left     []string            // rooms the user is no longer a member of
}

// Engine is what the screens need of the client engine and its local store.
// Calls that may block on the network are made off the UI goroutine.
type Engine interface {
	// UserID is the signed-in user.
	UserID() string
	// Send queues text for the room; it shows as sending until the server acks it.
	Send(roomID, text string) error
	// Retry sends a failed message again under the same id.
	Retry(id string) error
	// Typing tells the room the user is typing; the engine debounces.
	Typing(roomID string)
	// MarkRead marks every message of the room up to seq as read.
	MarkRead(roomID string, seq int64)
	// Nudge makes the engine try to connect now.
	Nudge()
	// Latest returns the newest n messages of the room, oldest first.
	Latest(roomID string, n int) ([]Row, error)
	// Before returns up to n messages older than seq, oldest first, from the local store
	// and then the server's history.
	Before(roomID string, seq int64, n int) ([]Row, error)
	// After returns up to n messages newer than seq, oldest first.
	After(roomID string, seq int64, n int) ([]Row, error)
	// Rooms lists the user's rooms.
	Rooms() ([]RoomItem, error)
	// CreateRoom makes a group room and returns it.
	CreateRoom(name string, public bool) (RoomItem, error)
	// DM opens the direct room with a user.
	DM(userID string) (RoomItem, error)
	// JoinRoom joins a public room by id.
	JoinRoom(roomID string) (RoomItem, error)
	// SearchUsers finds users by name.
	SearchUsers(query string) ([]model.User, error)
}
