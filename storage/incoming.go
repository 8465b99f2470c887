package storage

import (
	"fmt"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Ingested is what Ingest did with a batch of messages from the server.
type Ingested struct {
	// Fresh holds the messages not held before, in the order given.
	Fresh []Message
	// Acked holds own pending messages that came back from the server before (or
	// instead of) their ack: they took their seq and status sent, and left the outbox.
	Acked []Message
}

// SaveIncoming is Ingest returning only the fresh messages. Own pending messages that
// the batch acks are not among them: use Ingest to learn of those too.
func (s *Store) SaveIncoming(msgs []model.Message) (fresh []Message, err error) {
	in, err := s.Ingest(msgs)
	return in.Fresh, err
}

// Ingest stores messages from the server (live or replayed by a sync) in one
// transaction, deduplicated by (room, id): a message already held is skipped, unless it is one
// of our own pending messages, which the arrival acks (see Ingested.Acked). Messages
// whose sender is the account's user are own messages with status sent (sent from
// another device), or delivered/read when a stored receipt covers them. Each room's
// LastSeq moves forward to the highest seq received; a room not held yet is added with
// only its id. Updates held for a fresh message (they arrived before it) are folded
// into it. Messages without an id, a room id or a positive seq are ignored.
func (s *Store) Ingest(msgs []model.Message) (Ingested, error) {
	batch := make([]model.Message, 0, len(msgs))
	keys := make([]msgKey, 0, len(msgs))
	seen := make(map[msgKey]bool, len(msgs))
	for _, m := range msgs {
		k := msgKey{m.RoomID, m.ID}
		if m.ID == "" || m.RoomID == "" || m.Seq <= 0 || seen[k] {
			continue
		}
		seen[k] = true
		batch = append(batch, m)
		keys = append(keys, k)
	}
	if len(batch) == 0 {
		return Ingested{}, nil
	}
	var fresh, acked []messageRow
	err := s.write(func(tx *gorm.DB) error {
		fresh, acked = nil, nil
		held, err := messagesByKey(tx, keys)
		if err != nil {
			return err
		}
		marks := receiptMarks{}
		top := make(map[string]int64)
		for _, m := range batch {
			top[m.RoomID] = max(top[m.RoomID], m.Seq)
			h, isHeld := held[msgKey{m.RoomID, m.ID}]
			if isHeld && (h.Seq != 0 || !h.Own) {
				continue // a duplicate
			}
			row := newRow(m)
			if isHeld {
				// Our own pending message, back from the server: it counts as the ack.
				row.Status, row.Own, row.LocalOrder = h.Status, true, h.LocalOrder
				if h.Outgoing != "" {
					// Own updates changed it already; their echoes confirm, not re-apply.
					row.Content, row.Attachment, row.EditedMS, row.Deleted, row.Reactions = h.Content, h.Attachment, h.EditedMS, h.Deleted, h.Reactions
				}
				if err := s.settle(tx, &row, marks); err != nil {
					return err
				}
				acked = append(acked, row)
				continue
			}
			row.LocalOrder = s.nextOrder()
			if s.self != "" && m.SenderID == s.self {
				row.Own, row.Status = true, string(model.StatusSending)
				if err := s.settle(tx, &row, marks); err != nil {
					return err
				}
			}
			fresh = append(fresh, row)
		}
		if err := foldPending(tx, fresh); err != nil {
			return err
		}
		if len(fresh) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&fresh, insertRows).Error; err != nil {
				return fmt.Errorf("insert messages: %w", err)
			}
		}
		ackedKeys := make([]msgKey, len(acked))
		for i, r := range acked {
			ackedKeys[i] = r.key()
		}
		if err := finishAcked(tx, ackedKeys, acked); err != nil {
			return err
		}
		for room, seq := range top {
			if err := raiseLastSeq(tx, room, seq); err != nil {
				return fmt.Errorf("raise last seq of room %s: %w", room, err)
			}
		}
		return nil
	})
	if err != nil {
		return Ingested{}, fmt.Errorf("save %d incoming messages: %w", len(batch), err)
	}
	return Ingested{Fresh: toMessages(fresh), Acked: toMessages(acked)}, nil
}
