package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is the wire form of every timestamp: RFC 3339 with milliseconds, in UTC.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a time.Time that travels as RFC 3339 with milliseconds in UTC.
// The zero Time encodes as null.
type Time struct{ time.Time }

// NewTime returns t truncated to the millisecond and in UTC, as it will travel.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// FormatTime formats t as the protocol does.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time: %w", err)
	}
	t.Time = p.UTC()
	return nil
}

// Attachment describes a file uploaded through POST /api/uploads.
type Attachment struct {
	URL    string `json:"url"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	MIME   string `json:"mime"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	// ThumbURL is the upload's thumbnail, for images (protocol 1.1).
	ThumbURL string `json:"thumbUrl,omitempty"`
}

// Message is a stored chat message as the server delivers it.
type Message struct {
	ID         string      `json:"id"`
	RoomID     string      `json:"roomId"`
	Seq        int64       `json:"seq"`
	SenderID   string      `json:"senderId"`
	SenderName string      `json:"senderName"`
	Content    string      `json:"content"`
	Timestamp  Time        `json:"timestamp"`
	Attachment *Attachment `json:"attachment,omitempty"`

	// Protocol 1.1: the message this one answers, and its state folded in from updates
	// (in history; live clients fold update frames themselves).
	ReplyTo   string    `json:"replyTo,omitempty"`
	EditedAt  Time      `json:"editedAt,omitzero"`
	Deleted   bool      `json:"deleted,omitempty"`
	Reactions Reactions `json:"reactions,omitempty"`
}

// Room is a chat room as the HTTP API and the `room` frame describe it.
type Room struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Public    bool     `json:"public"`
	Direct    bool     `json:"direct"`
	MemberIDs []string `json:"memberIds"`
	LastSeq   int64    `json:"lastSeq"`
	Unread    int64    `json:"unread"`
	Epoch     string   `json:"epoch"`
	// Protocol 1.1.
	Topic       string `json:"topic"`
	MemberCount int    `json:"memberCount"`
}

// User is an entry of GET /api/users.
type User struct {
	UserID      string `json:"userId"`
	DisplayName string `json:"displayName"`
	Online      bool   `json:"online"`
}

// Status is where one of the user's own messages stands.
type Status string

// The statuses of an own message. They only move forward, in this order:
// sending → sent → delivered → read; failed only from sending, and back to sending on retry.
const (
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusRead      Status = "read"
	StatusFailed    Status = "failed"
)

// rank orders the forward statuses; failed sits beside sending.
func (s Status) rank() int {
	switch s {
	case StatusSending, StatusFailed:
		return 0
	case StatusSent:
		return 1
	case StatusDelivered:
		return 2
	case StatusRead:
		return 3
	}
	return -1
}

// CanMove reports whether a message whose status is s may take status next.
// Statuses move only forward; failed is reachable only from sending and leads
// back to sending (a retry) or forward (the ack arrived after all).
func (s Status) CanMove(next Status) bool {
	if s == next || s.rank() < 0 || next.rank() < 0 {
		return false
	}
	switch {
	case next == StatusFailed:
		return s == StatusSending
	case s == StatusFailed && next == StatusSending:
		return true
	}
	return next.rank() > s.rank()
}
