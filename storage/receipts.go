package storage

import (
	"fmt"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

// ApplyReceipt stores another member's receipt for a room (each mark only moves
// forward; a read mark counts as delivered too) and moves the own messages it covers
// forward: those with seq ≤ readSeq to read, those with seq ≤ deliveredSeq to delivered.
// It returns the messages that changed, by seq. A receipt from the account's own user is
// stored but moves nothing.
func (s *Store) ApplyReceipt(roomID, userID string, deliveredSeq, readSeq int64) ([]Message, error) {
	if roomID == "" || userID == "" {
		return nil, fmt.Errorf("apply receipt: no room or user id: %w", ErrInvalid)
	}
	readSeq = max(readSeq, 0)
	deliveredSeq = max(deliveredSeq, readSeq)
	var changed []messageRow
	err := s.write(func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO receipts (room_id, user_id, delivered_seq, read_seq) VALUES (?, ?, ?, ?)
			ON CONFLICT (room_id, user_id) DO UPDATE SET
				delivered_seq = MAX(delivered_seq, excluded.delivered_seq),
				read_seq = MAX(read_seq, excluded.read_seq)`, roomID, userID, deliveredSeq, readSeq).Error
		if err != nil {
			return fmt.Errorf("store receipt: %w", err)
		}
		if userID == s.self {
			return nil
		}
		// Use the stored marks: an older receipt arriving late moves nothing back.
		var stored receiptRow
		if err := tx.Where("room_id = ? AND user_id = ?", roomID, userID).Take(&stored).Error; err != nil {
			return fmt.Errorf("read receipt: %w", err)
		}
		deliveredSeq, readSeq = stored.DeliveredSeq, stored.ReadSeq
		if deliveredSeq == 0 {
			return nil
		}
		// The status terms repeat idx_messages_unconfirmed's WHERE so that SQLite uses it.
		err = tx.Where("room_id = ? AND status IN ('sent', 'delivered') AND seq > 0 AND seq <= ?", roomID, deliveredSeq).
			Order("seq").Find(&changed).Error
		if err != nil {
			return fmt.Errorf("read covered messages: %w", err)
		}
		mark := receiptMark{delivered: deliveredSeq, read: readSeq}
		kept := changed[:0]
		for _, r := range changed {
			next := mark.status(r.Seq)
			if r.Own && model.Status(r.Status).CanMove(next) {
				r.Status = string(next)
				kept = append(kept, r)
			}
		}
		changed = kept
		err = tx.Exec(`UPDATE messages SET status = 'read'
			WHERE room_id = ? AND status IN ('sent', 'delivered') AND seq > 0 AND seq <= ? AND own`, roomID, readSeq).Error
		if err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		err = tx.Exec(`UPDATE messages SET status = 'delivered'
			WHERE room_id = ? AND status IN ('sent', 'delivered') AND status = 'sent' AND seq > 0 AND seq <= ? AND own`,
			roomID, deliveredSeq).Error
		if err != nil {
			return fmt.Errorf("mark delivered: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply receipt of %s in room %s: %w", userID, roomID, err)
	}
	return toMessages(changed), nil
}

// receiptMark is the furthest any other member of a room has got.
type receiptMark struct{ delivered, read int64 }

// status is the status an own message with that seq has under the mark.
func (m receiptMark) status(seq int64) model.Status {
	switch {
	case seq <= m.read:
		return model.StatusRead
	case seq <= m.delivered:
		return model.StatusDelivered
	}
	return model.StatusSent
}

// receiptMarks caches each room's receipt mark within one transaction.
type receiptMarks map[string]receiptMark

// get returns the room's mark from the other members' receipts (self excluded).
func (ms receiptMarks) get(tx *gorm.DB, roomID, self string) (receiptMark, error) {
	if m, ok := ms[roomID]; ok {
		return m, nil
	}
	var row struct {
		Delivered int64 `gorm:"column:delivered"`
		Read      int64 `gorm:"column:read_mark"`
	}
	err := tx.Raw(`SELECT COALESCE(MAX(delivered_seq), 0) AS delivered, COALESCE(MAX(read_seq), 0) AS read_mark
		FROM receipts WHERE room_id = ? AND user_id != ?`, roomID, self).Scan(&row).Error
	if err != nil {
		return receiptMark{}, fmt.Errorf("read receipts of room %s: %w", roomID, err)
	}
	m := receiptMark{delivered: max(row.Delivered, row.Read), read: row.Read}
	ms[roomID] = m
	return m, nil
}
