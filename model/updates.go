package model

// Frame types, codes and shapes of protocol 1.1's replies, edits, deletes and reactions,
// its rooms directory and settings, search and uploads (protocol.md, "Version 1.1
// additions"). An update is an event in a room's stream: it takes the room's next seq
// like a message, so sync replays it in order and recovery stays gap-free.

// Frame types of protocol 1.1's conversations.
const (
	TypeEdit     = "edit"      // client → server
	TypeDelete   = "delete"    // client → server
	TypeReact    = "react"     // client → server
	TypeUpdate   = "update"    // server → client: an edit, delete or react that took a seq
	TypeRoomLeft = "room_left" // server → client: the user left or was removed
)

// Update ops, the `op` of an `update` frame: the client frame type that made it.
const (
	OpEdit   = TypeEdit
	OpDelete = TypeDelete
	OpReact  = TypeReact
)

// Limits of protocol 1.1.
const (
	MaxEmojiBytes        = 32  // one reaction: one grapheme cluster of at most 32 bytes
	MaxReactionsPerMsg   = 20  // distinct emoji on one message
	MaxTopicRunes        = 256 // a room's topic
	MaxAddMembers        = 100 // user ids in one POST /api/rooms/{id}/members
	PublicRoomsMaxLimit  = 200
	SearchMaxLimit       = 200
	SearchDefaultLimit   = 50
	ThumbMaxSide         = 320      // thumbnails, on the longer side
	MaxImagePixels       = 40 << 20 // about 40 megapixels; larger images are refused undecoded
	MaxUploadNameBytes   = 255
	DefaultUploadMaxSize = 25 << 20
)

// Reactions maps an emoji to the ids of the users who reacted with it, in the order
// they reacted.
type Reactions map[string][]string

// UpdateFrame carries an update from server to client, live and in sync replays.
// Content is set for edits; Emoji and On for reactions.
type UpdateFrame struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	RoomID     string `json:"roomId"`
	Seq        int64  `json:"seq"`
	SenderID   string `json:"senderId"`
	SenderName string `json:"senderName"`
	TargetID   string `json:"targetId"`
	Op         string `json:"op"`
	Content    string `json:"content,omitempty"`
	Emoji      string `json:"emoji,omitempty"`
	On         *bool  `json:"on,omitempty"`
	Timestamp  Time   `json:"timestamp"`
}

// Update is an update as stored and replayed: the fields of UpdateFrame but the type.
type Update struct {
	ID         string `json:"id"`
	RoomID     string `json:"roomId"`
	Seq        int64  `json:"seq"`
	SenderID   string `json:"senderId"`
	SenderName string `json:"senderName"`
	TargetID   string `json:"targetId"`
	Op         string `json:"op"`
	Content    string `json:"content,omitempty"`
	Emoji      string `json:"emoji,omitempty"`
	On         bool   `json:"on,omitempty"`
	Timestamp  Time   `json:"timestamp"`
}

// Frame returns the update as the frame that carries it.
func (u Update) Frame() UpdateFrame {
	f := UpdateFrame{Type: TypeUpdate, ID: u.ID, RoomID: u.RoomID, Seq: u.Seq, SenderID: u.SenderID,
		SenderName: u.SenderName, TargetID: u.TargetID, Op: u.Op, Content: u.Content, Emoji: u.Emoji,
		Timestamp: u.Timestamp}
	if u.Op == OpReact {
		on := u.On
		f.On = &on
	}
	return f
}

// AsUpdate returns the update an `update` frame carries.
func (f *Frame) AsUpdate() Update {
	return Update{ID: f.ID, RoomID: f.RoomID, Seq: f.Seq, SenderID: f.SenderID, SenderName: f.SenderName,
		TargetID: f.TargetID, Op: f.Op, Content: f.Content, Emoji: f.Emoji, On: f.On != nil && *f.On,
		Timestamp: f.Timestamp}
}

// EditFrame is a client's edit of one of its own messages.
type EditFrame struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	RoomID   string `json:"roomId"`
	TargetID string `json:"targetId"`
	Content  string `json:"content"`
}

// DeleteFrame is a client's delete of one of its own messages.
type DeleteFrame struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	RoomID   string `json:"roomId"`
	TargetID string `json:"targetId"`
}

// ReactFrame is a client's reaction to a message (On false takes it back).
type ReactFrame struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	RoomID   string `json:"roomId"`
	TargetID string `json:"targetId"`
	Emoji    string `json:"emoji"`
	On       bool   `json:"on"`
}

// RoomLeftFrame tells a user they are no longer a member of a room.
type RoomLeftFrame struct {
	Type   string `json:"type"`
	RoomID string `json:"roomId"`
}

// PublicRoom is an entry of GET /api/rooms/public.
type PublicRoom struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Topic        string `json:"topic"`
	MemberCount  int    `json:"memberCount"`
	LastActivity Time   `json:"lastActivity"`
}

// PublicRoomsResponse answers GET /api/rooms/public.
type PublicRoomsResponse struct {
	Rooms []PublicRoom `json:"rooms"`
}

// PatchRoomRequest is the body of PATCH /api/rooms/{id}; a nil field is left as it is.
type PatchRoomRequest struct {
	Name  *string `json:"name,omitempty"`
	Topic *string `json:"topic,omitempty"`
}

// AddMembersRequest is the body of POST /api/rooms/{id}/members.
type AddMembersRequest struct {
	UserIDs []string `json:"userIds"`
}

// SearchResponse answers GET /api/search: matching messages, newest first.
type SearchResponse struct {
	Messages []Message `json:"messages"`
}

// UploadResponse answers POST /api/uploads. URL and ThumbURL are paths on the same
// server; ThumbURL, Width and Height are set for images only.
type UploadResponse struct {
	URL      string `json:"url"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	MIME     string `json:"mime"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	ThumbURL string `json:"thumbUrl,omitempty"`
}
