package storage

// ApplyReceipt stores another member's receipt for a room (each mark only moves
// forward) and moves the own messages it covers forward: those with seq ≤ readSeq to
// read, those with seq ≤ deliveredSeq to delivered. It returns the messages that changed.
// A receipt from the account's own user is stored but moves nothing.
func (s *Store) ApplyReceipt(roomID, userID string, deliveredSeq, readSeq int64) ([]Message, error) {
	return nil, nil
}
