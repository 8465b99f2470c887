package storage

import (
	"time"

	"github.com/parleychat/parley/model"
)

// Enqueue stores a new own message with status sending and puts it in the outbox, in one
// transaction. An empty ID gets a fresh one (model.NewMessageID); empty SenderID and
// SenderName are the account's; a zero Timestamp is the local time (the ack replaces it
// with the server's). Seq is ignored. RoomID is required (ErrInvalid); an id already
// held fails with ErrExists.
func (s *Store) Enqueue(m model.Message) (Message, error) {
	return Message{}, nil
}

// Outbox returns every queued message, oldest first (so each room's order is kept).
func (s *Store) Outbox() ([]Message, error) {
	return nil, nil
}

// OutboxLen returns how many messages are queued.
func (s *Store) OutboxLen() (int, error) {
	return 0, nil
}

// Ack is the server's confirmation that it stored an own message (an `ack` frame).
type Ack struct {
	ID        string
	RoomID    string
	Seq       int64
	Timestamp time.Time
}

// ApplyAcks applies acks in one transaction: each pending message takes its seq and the
// server's timestamp, becomes sent (or delivered/read when a stored receipt already
// covers its seq) and leaves the outbox; its room's LastSeq moves forward. It returns the
// messages that changed; an ack for an unknown or already acked message changes nothing.
func (s *Store) ApplyAcks(acks []Ack) ([]Message, error) {
	return nil, nil
}

// MarkFailed moves a sending message to failed with the reason, and takes it out of the
// outbox. It reports false (and no error) when the message is unknown or not sending.
func (s *Store) MarkFailed(id, reason string) (Message, bool, error) {
	return Message{}, false, nil
}

// Retry moves a failed message back to sending and puts it at the end of the outbox
// with the same id (and a new LocalOrder, so it shows below the other pending ones).
// A message already sending is returned as is. Unknown ids fail with ErrNotFound, other
// statuses with ErrStatus.
func (s *Store) Retry(id string) (Message, error) {
	return Message{}, nil
}
