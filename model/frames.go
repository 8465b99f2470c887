package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Frame types of protocol version 1.
const (
	// Server → client.
	TypeHello      = "hello"
	TypeMessage    = "message" // also client → server
	TypeAck        = "ack"
	TypeReceipt    = "receipt"
	TypeSynced     = "synced"
	TypeTyping     = "typing"      // also client → server
	TypeStopTyping = "stop_typing" // also client → server
	TypeUserJoined = "user_joined"
	TypeUserLeft   = "user_left"
	TypeRoom       = "room"
	TypePong       = "pong"
	TypeError      = "error"

	// Client → server.
	TypeSync      = "sync"
	TypeDelivered = "delivered"
	TypeRead      = "read"
	TypePing      = "ping"
)

// ProtocolVersion is the protocol version the server announces in hello.
const ProtocolVersion = "1.1"

// Frame types of protocol version 1.1.
const (
	TypeAuth   = "auth"    // client → server: a new access token for the open session
	TypeAuthOK = "auth_ok" // server → client: the session now lives until expiresAt
)

// Error codes, in `error` frames and in HTTP error bodies.
const (
	CodeInvalid       = "invalid"
	CodeTooLarge      = "too_large"
	CodeRateLimited   = "rate_limited"
	CodeForbidden     = "forbidden"
	CodeInternal      = "internal"
	CodeUsernameTaken = "username_taken"
	CodeBadCreds      = "bad_credentials"
	CodeUnauthorized  = "unauthorized"
	CodeNotFound      = "not_found"
	CodeConflict      = "conflict" // 1.1: a message id another user already used
)

// WebSocket close codes of protocol version 1 besides the standard ones.
const (
	CloseTokenExpired = 4001 // refresh the token, then reconnect
	CloseForbidden    = 4003 // do not reconnect with the same token
)

// Frame is any frame of either direction, flattened: decoding fills the fields its type
// uses and leaves the rest zero. The `room` frame's Room fields share the names of the
// message fields where the protocol does (id).
type Frame struct {
	Type string `json:"type"`

	// message, ack, receipt, synced, typing, sync, delivered, read, error
	ID         string      `json:"id,omitempty"`
	RoomID     string      `json:"roomId,omitempty"`
	Seq        int64       `json:"seq,omitempty"`
	SenderID   string      `json:"senderId,omitempty"`
	SenderName string      `json:"senderName,omitempty"`
	Content    string      `json:"content,omitempty"`
	Timestamp  Time        `json:"timestamp,omitzero"`
	Attachment *Attachment `json:"attachment,omitempty"`
	AfterSeq   int64       `json:"afterSeq,omitempty"`

	// protocol 1.1: message (replyTo), edit, delete, react, update
	ReplyTo     string `json:"replyTo,omitempty"`
	TargetID    string `json:"targetId,omitempty"`
	Op          string `json:"op,omitempty"`
	Emoji       string `json:"emoji,omitempty"`
	On          *bool  `json:"on,omitempty"`
	Topic       string `json:"topic,omitempty"`
	MemberCount int    `json:"memberCount,omitempty"`
	// message: its state folded in, as a 1.1 server may send it (in history and
	// replays), the fields of model.Message of the same names.
	EditedAt  Time      `json:"editedAt,omitzero"`
	Deleted   bool      `json:"deleted,omitempty"`
	Reactions Reactions `json:"reactions,omitempty"`

	// hello, receipt, typing, user_joined, user_left
	UserID           string   `json:"userId,omitempty"`
	DisplayName      string   `json:"displayName,omitempty"`
	HeartbeatSeconds int      `json:"heartbeatSeconds,omitempty"`
	ServerTime       Time     `json:"serverTime,omitzero"`
	Online           []string `json:"online,omitempty"`
	DeliveredSeq     int64    `json:"deliveredSeq,omitempty"`
	ReadSeq          int64    `json:"readSeq,omitempty"`

	// synced, room
	Epoch string `json:"epoch,omitempty"`
	More  bool   `json:"more,omitempty"`

	// room
	Name      string   `json:"name,omitempty"`
	Public    bool     `json:"public,omitempty"`
	Direct    bool     `json:"direct,omitempty"`
	MemberIDs []string `json:"memberIds,omitempty"`
	LastSeq   int64    `json:"lastSeq,omitempty"`
	Unread    int64    `json:"unread,omitempty"`

	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	// hello (1.1)
	Protocol string `json:"protocol,omitempty"`
	// auth, auth_ok (1.1)
	Token     string `json:"token,omitempty"`
	ExpiresAt Time   `json:"expiresAt,omitzero"`
}

// ErrFrame is wrapped by every error DecodeFrame returns.
var ErrFrame = errors.New("malformed frame")

// DecodeFrame decodes one text frame. It fails with an error wrapping ErrFrame when the
// frame is not one JSON object with a string `type`, or a field has the wrong JSON type.
// It does not judge whether the type is known: that is the receiver's business.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return f, fmt.Errorf("%w: not a JSON object", ErrFrame)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Frame{}, fmt.Errorf("%w: field %q has the wrong type", ErrFrame, te.Field)
		}
		return Frame{}, fmt.Errorf("%w: %v", ErrFrame, err)
	}
	if f.Type == "" {
		return Frame{}, fmt.Errorf("%w: no type", ErrFrame)
	}
	return f, nil
}

// AsMessage returns the message a `message` frame carries.
func (f *Frame) AsMessage() Message {
	return Message{ID: f.ID, RoomID: f.RoomID, Seq: f.Seq, SenderID: f.SenderID, SenderName: f.SenderName,
		Content: f.Content, Timestamp: f.Timestamp, Attachment: f.Attachment, ReplyTo: f.ReplyTo,
		EditedAt: f.EditedAt, Deleted: f.Deleted, Reactions: f.Reactions}
}

// AsRoom returns the room a `room` frame carries.
func (f *Frame) AsRoom() Room {
	return Room{ID: f.ID, Name: f.Name, Public: f.Public, Direct: f.Direct, MemberIDs: f.MemberIDs,
		LastSeq: f.LastSeq, Unread: f.Unread, Epoch: f.Epoch, Topic: f.Topic, MemberCount: f.MemberCount}
}

// The frames below are what each side encodes. Each carries exactly the fields the
// protocol names for its type, zero values included, so that any client can rely on them.

// HelloFrame is the first frame after the upgrade.
type HelloFrame struct {
	Type             string   `json:"type"`
	UserID           string   `json:"userId"`
	DisplayName      string   `json:"displayName"`
	HeartbeatSeconds int      `json:"heartbeatSeconds"`
	ServerTime       Time     `json:"serverTime"`
	Online           []string `json:"online"`
	Protocol         string   `json:"protocol"` // ProtocolVersion
}

// AuthFrame hands the open session a new access token (1.1).
type AuthFrame struct {
	Type  string `json:"type"`
	Token string `json:"token"`
}

// AuthOKFrame answers an accepted AuthFrame with the session's new expiry (1.1).
type AuthOKFrame struct {
	Type      string `json:"type"`
	ExpiresAt Time   `json:"expiresAt"`
}

// MessageFrame carries a stored message from server to client.
type MessageFrame struct {
	Type string `json:"type"`
	Message
}

// AckFrame confirms that the server stored a client's message.
type AckFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	RoomID    string `json:"roomId"`
	Seq       int64  `json:"seq"`
	Timestamp Time   `json:"timestamp"`
}

// ReceiptFrame reports another member's delivered and read marks.
type ReceiptFrame struct {
	Type         string `json:"type"`
	RoomID       string `json:"roomId"`
	UserID       string `json:"userId"`
	DeliveredSeq int64  `json:"deliveredSeq"`
	ReadSeq      int64  `json:"readSeq"`
}

// SyncedFrame ends a sync replay.
type SyncedFrame struct {
	Type   string `json:"type"`
	RoomID string `json:"roomId"`
	Seq    int64  `json:"seq"`
	Epoch  string `json:"epoch"`
	More   bool   `json:"more"`
}

// TypingFrame is a typing or stop_typing relay from server to client.
type TypingFrame struct {
	Type        string `json:"type"`
	RoomID      string `json:"roomId"`
	UserID      string `json:"userId"`
	DisplayName string `json:"displayName"`
}

// PresenceFrame is user_joined or user_left.
type PresenceFrame struct {
	Type        string `json:"type"`
	UserID      string `json:"userId"`
	DisplayName string `json:"displayName"`
}

// RoomFrame tells a client about a room it was added to or that changed.
type RoomFrame struct {
	Type string `json:"type"`
	Room
}

// ErrorFrame reports a refused client frame.
type ErrorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
}

// TypeFrame is a frame with nothing but its type: ping and pong.
type TypeFrame struct {
	Type string `json:"type"`
}

// SendFrame is a client's message.
type SendFrame struct {
	Type       string      `json:"type"`
	ID         string      `json:"id"`
	RoomID     string      `json:"roomId"`
	Content    string      `json:"content"`
	Attachment *Attachment `json:"attachment,omitempty"`
	ReplyTo    string      `json:"replyTo,omitempty"` // protocol 1.1
}

// SyncFrame asks for every message of a room after a seq.
type SyncFrame struct {
	Type     string `json:"type"`
	RoomID   string `json:"roomId"`
	AfterSeq int64  `json:"afterSeq"`
}

// MarkFrame is a client's delivered or read mark.
type MarkFrame struct {
	Type   string `json:"type"`
	RoomID string `json:"roomId"`
	Seq    int64  `json:"seq"`
}

// RoomOnlyFrame is a client's typing or stop_typing.
type RoomOnlyFrame struct {
	Type   string `json:"type"`
	RoomID string `json:"roomId"`
}

// APIError is the body of every HTTP error: {"error": {"code", "message"}}.
type APIError struct {
	Err struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// NewAPIError builds an APIError body.
func NewAPIError(code, message string) APIError {
	var e APIError
	e.Err.Code, e.Err.Message = code, message
	return e
}

// AuthResponse answers register, login and refresh.
type AuthResponse struct {
	UserID       string `json:"userId"`
	Username     string `json:"username"`
	DisplayName  string `json:"displayName"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresAt    Time   `json:"expiresAt"`
}

// RegisterRequest is the body of POST /api/register.
type RegisterRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"displayName"`
}

// LoginRequest is the body of POST /api/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// RefreshRequest is the body of POST /api/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// LogoutRequest is the body of POST /api/logout (protocol 1.1).
type LogoutRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// CreateRoomRequest is the body of POST /api/rooms.
type CreateRoomRequest struct {
	Name      string   `json:"name"`
	MemberIDs []string `json:"memberIds"`
	Public    bool     `json:"public"`
}

// DMRequest is the body of POST /api/dm.
type DMRequest struct {
	UserID string `json:"userId"`
}

// RoomsResponse answers GET /api/rooms.
type RoomsResponse struct {
	Rooms []Room `json:"rooms"`
}

// MessagesResponse answers GET /api/rooms/{id}/messages.
type MessagesResponse struct {
	Messages []Message `json:"messages"`
}

// UsersResponse answers GET /api/users.
type UsersResponse struct {
	Users []User `json:"users"`
}
