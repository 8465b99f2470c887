package server

import (
	"context"
	"errors"

	"github.com/parleychat/parley/model"
)

// Store errors.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrIDTaken answers a message whose id another sender already used in its room:
	// the stored message is not theirs to be acked.
	ErrIDTaken = errors.New("message id taken by another sender")
	// ErrNoReplyTarget answers a message whose replyTo names no message of its room:
	// none stored, and none before it in the same batch.
	ErrNoReplyTarget = errors.New("replyTo names no message of the room")
)

// UserRecord is a stored account.
type UserRecord struct {
	ID           string
	Username     string
	DisplayName  string
	PasswordHash []byte
	CreatedAtMs  int64
}

// RoomRecord is a stored room with its members.
type RoomRecord struct {
	ID        string
	Name      string
	Public    bool
	Direct    bool
	DirectKey string // "userA|userB" sorted, for direct rooms
	Epoch     string
	LastSeq   int64
	MemberIDs []string
	Topic     string // protocol 1.1
}

// MemberRoom is a room as one member sees it: the room and the member's marks.
type MemberRoom struct {
	RoomRecord
	DeliveredSeq int64
	ReadSeq      int64
}

// RefreshRecord is a stored refresh token, by the sha256 of its value.
type RefreshRecord struct {
	Hash        string
	UserID      string
	FamilyID    string
	ExpiresAtMs int64
	Spent       bool
	Revoked     bool
}

// NewMessage is a message to store. Seq and the timestamp are assigned by the store.
type NewMessage struct {
	ID         string
	RoomID     string
	SenderID   string
	SenderName string
	Content    string
	Attachment *model.Attachment
	AtMs       int64  // the time to stamp on it if it is new
	ReplyTo    string // the id of a message of the same room it answers (1.1)
}

// StoredMessage answers one NewMessage: the stored message and whether it was new.
// A resend of a stored id answers the first store's seq and timestamp with New false;
// one by another sender than the stored message's answers Err ErrIDTaken, and one
// whose replyTo names no message of its room Err ErrNoReplyTarget.
type StoredMessage struct {
	Message model.Message
	New     bool
	Err     error
}

// PublicRoomRecord is an entry of the rooms directory.
type PublicRoomRecord struct {
	ID             string
	Name           string
	Topic          string
	MemberCount    int
	LastActivityMs int64 // the last message's time, else the room's creation
}

// Mark is a member's cumulative delivered and read seq in a room; zero means unchanged.
type Mark struct {
	RoomID       string
	UserID       string
	DeliveredSeq int64
	ReadSeq      int64
}

// MarkResult answers one Mark: the member's marks after the update, and whether
// they moved.
type MarkResult struct {
	Mark
	Moved bool
}

// Store is what the server keeps on disk. Implementations must be safe for concurrent
// use, also by several Store instances (nodes) on one database: a room's seqs stay
// gap-free and a message id is stored once whichever node stores it.
type Store interface {
	// Ping answers nil when the database answers.
	Ping(ctx context.Context) error

	CreateUser(ctx context.Context, u UserRecord, joinRoomID string) error
	UserByUsername(ctx context.Context, username string) (UserRecord, error)
	UserByID(ctx context.Context, id string) (UserRecord, error)
	SearchUsers(ctx context.Context, query string, limit int) ([]UserRecord, error)

	// EnsureRoom creates the room if no room has its id (idempotent, for `general`).
	EnsureRoom(ctx context.Context, r RoomRecord) error
	// CreateRoom stores a new room with its members; ErrConflict if a direct room of the
	// same pair exists.
	CreateRoom(ctx context.Context, r RoomRecord) error
	AddMember(ctx context.Context, roomID, userID string) error
	Room(ctx context.Context, roomID string) (RoomRecord, error)
	DirectRoom(ctx context.Context, directKey string) (RoomRecord, error)
	RoomsOf(ctx context.Context, userID string) ([]MemberRoom, error)
	// RoomIDsOf answers the ids of the rooms userID belongs to, without loading them.
	RoomIDsOf(ctx context.Context, userID string) ([]string, error)

	// AppendMessages stores a batch of messages in one transaction, assigning each new
	// message the next seq of its room; answers are in the order of msgs. An error
	// means none was stored (the database is unreachable, say); a message's own
	// problem (its room missing, its id taken, ErrNoReplyTarget) is its answer's Err
	// and takes no seq. A reply's target may be a message before it in msgs: the
	// group commit stores a reply sent right after its target in the same batch.
	AppendMessages(ctx context.Context, msgs []NewMessage) ([]StoredMessage, error)
	// MessagesAfter answers a room's messages with afterSeq < seq <= uptoSeq in seq
	// order, for the room's stream (sync replays, gap fills): without reactions, which
	// the stream's react updates after each message bring, in seq order, so that a
	// client folding them gets the users in the order MessagesBefore lists them. An
	// edit's content and a delete are folded in.
	MessagesAfter(ctx context.Context, roomID string, afterSeq, uptoSeq int64, limit int) ([]model.Message, error)
	// MessagesBefore answers the newest limit messages of a room with seq < beforeSeq,
	// oldest first, with their state folded in: each emoji's users in the order of the seqs
	// of the reacts that put them there (a reaction taken back and given again moves
	// to the end; a repeated one moves nothing).
	MessagesBefore(ctx context.Context, roomID string, beforeSeq int64, limit int) ([]model.Message, error)
	// AppendUpdates stores a batch of updates (edits, deletes, reactions) in one
	// transaction, in order, each taking the next seq of its room (the counter
	// messages take theirs from) and changing its target's state; answers are in the
	// order of ups. An error means none was stored; an update's own refusal is its
	// answer's Err.
	AppendUpdates(ctx context.Context, ups []NewUpdate) ([]StoredUpdate, error)
	// UpdatesAfter answers a room's updates with afterSeq < seq <= uptoSeq in seq order.
	UpdatesAfter(ctx context.Context, roomID string, afterSeq, uptoSeq int64, limit int) ([]model.Update, error)
	// MessageByID answers one message of a room, its state folded in; ErrNotFound if
	// the room has no message of that id.
	MessageByID(ctx context.Context, roomID, id string) (model.Message, error)
	// SearchMessages answers the messages matching every word of query, newest first:
	// of roomID, or when roomID is empty of every room userID belongs to.
	SearchMessages(ctx context.Context, userID, roomID, query string, limit int) ([]model.Message, error)

	// UpdateRoom sets a room's name and topic where they are not nil and answers the
	// room; ErrNotFound if there is no such room.
	UpdateRoom(ctx context.Context, roomID string, name, topic *string) (RoomRecord, error)
	// RemoveMember takes userID out of the room; it answers whether they were a member.
	RemoveMember(ctx context.Context, roomID, userID string) (bool, error)
	// PublicRooms answers the public rooms whose name contains query (case-folded),
	// most recently active first.
	PublicRooms(ctx context.Context, query string, limit int) ([]PublicRoomRecord, error)

	// SetMarks moves marks forward (never back) in one transaction and answers each
	// member's marks after the update.
	SetMarks(ctx context.Context, marks []Mark) ([]MarkResult, error)
	// LeadingMarks answers userID's own mark in the room and, with others, the furthest
	// delivered and read marks of the other members: what a client that syncs the room
	// needs for its unread count and its own messages' marks (zero marks left out).
	LeadingMarks(ctx context.Context, roomID, userID string, others bool) ([]Mark, error)
	// OwnUnread answers, per room of userID, how many of the seqs above the user's read
	// mark are never unread: the user's own messages and every update (rooms with none
	// left out).
	OwnUnread(ctx context.Context, userID string) (map[string]int64, error)

	CreateRefresh(ctx context.Context, r RefreshRecord) error
	// RotateRefresh spends the token with hash old and stores next in the same
	// transaction. It answers the old record; ErrConflict when old was already spent
	// (the caller then revokes the family).
	RotateRefresh(ctx context.Context, oldHash string, next RefreshRecord) (RefreshRecord, error)
	RefreshByHash(ctx context.Context, hash string) (RefreshRecord, error)
	RevokeFamily(ctx context.Context, familyID string) error
	// PurgeRefresh deletes at most limit refresh tokens that expired before beforeMs
	// (spent and revoked ones too: an expired token is refused whatever its state) and
	// answers how many it deleted.
	PurgeRefresh(ctx context.Context, beforeMs int64, limit int) (int, error)

	// CreateUpload stores the record of a new upload.
	CreateUpload(ctx context.Context, u UploadRecord) error
	// Upload answers the upload with id; ErrNotFound when there is none.
	Upload(ctx context.Context, id string) (UploadRecord, error)
	// UploadBytesSince answers the bytes userID uploaded at or after sinceMs.
	UploadBytesSince(ctx context.Context, userID string, sinceMs int64) (int64, error)
	// UploadSent records that a message in roomID carried the upload: the room's
	// members may read it and SweepUploads keeps it.
	UploadSent(ctx context.Context, uploadID, roomID string) error
	// CanReadUpload answers whether userID uploaded it or belongs to a room in which
	// it was sent.
	CanReadUpload(ctx context.Context, uploadID, userID string) (bool, error)
	// SweepUploads marks gone at most limit uploads no message carried that were made
	// before beforeMs, or were marked gone already, and answers them: the caller
	// deletes their blobs, then their records (DeleteUpload), so that an upload whose
	// blob could not be deleted is swept again.
	SweepUploads(ctx context.Context, beforeMs int64, limit int) ([]UploadRecord, error)
	// ReleaseUpload answers whether the upload is left to no undeleted message: then
	// it is marked gone (served to no one, refused as an attachment, and swept by the
	// next SweepUploads whatever its age) and its rooms are forgotten.
	ReleaseUpload(ctx context.Context, uploadID string) (bool, error)
	// DeleteUpload deletes the record of an upload and its rooms; none is not an error.
	DeleteUpload(ctx context.Context, uploadID string) error

	Close() error
}
