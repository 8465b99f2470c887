package model

import "github.com/google/uuid"

// NewMessageID returns a fresh id for a message the client is about to send: a
// UUIDv7, whose first 48 bits are the time in milliseconds. Ids made one after the
// other sort one after the other, so the server's (room, id) index and the client's
// own grow at their right edge instead of at a random page per message: a group
// commit of 500 messages writes a few index pages, not hundreds. Any UUID is a valid
// id; this is only the kind that is cheap to store.
func NewMessageID() string {
	id, err := uuid.NewV7()
	if err != nil { // the system's random source failed: a v4 id is as good a name
		return uuid.NewString()
	}
	return id.String()
}

// ValidMessageID reports whether s is a UUID, the form message ids take.
func ValidMessageID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
