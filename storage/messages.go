package storage

import "github.com/parleychat/parley/model"

// Message is a message as the store holds it.
type Message struct {
	model.Message // Seq is 0 while the message is pending (sending or failed)
	// Status is where an own message stands (sending, sent, delivered, read, failed);
	// "" for other users' messages.
	Status model.Status
	// Own is true for messages the account's user sent (from this device or another).
	Own bool
	// Error is the last error text of a failed message.
	Error string
	// LocalOrder is the order in which this store enqueued or received the message;
	// it sorts pending messages, which have no seq yet.
	LocalOrder int64
}

// Pending reports whether the message waits for the server: it has no seq yet.
func (m Message) Pending() bool { return m.Seq == 0 }

// Latest returns the room's newest n messages with a seq, oldest first, followed by the
// room's own messages without a seq (sending or failed), in the order they were enqueued.
func (s *Store) Latest(roomID string, n int) ([]Message, error) {
	return nil, nil
}

// Before returns the n messages of the room just before beforeSeq, oldest first: the
// page above what is shown. Pending messages are not included.
func (s *Store) Before(roomID string, beforeSeq int64, n int) ([]Message, error) {
	return nil, nil
}

// After returns the n messages of the room just after afterSeq, oldest first: the page
// below what is shown. Pending messages are not included (Latest has them).
func (s *Store) After(roomID string, afterSeq int64, n int) ([]Message, error) {
	return nil, nil
}

// Get returns one message by id; false when it is not held.
func (s *Store) Get(id string) (Message, bool, error) {
	return Message{}, false, nil
}

// CountMessages returns how many messages of the room are held, pending ones included.
func (s *Store) CountMessages(roomID string) (int64, error) {
	return 0, nil
}
