package model

import "github.com/google/uuid"

// NewMessageID returns a fresh UUIDv4 for a message the client is about to send.
func NewMessageID() string { return uuid.NewString() }

// ValidMessageID reports whether s is a UUID, the form message ids take.
func ValidMessageID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
