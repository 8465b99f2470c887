package storage

import (
	"fmt"
	"slices"
	"time"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

// Enqueue stores a new own message with status sending and puts it in the outbox, in one
// transaction. An empty ID gets a fresh one (model.NewMessageID); empty SenderID and
// SenderName are the account's; a zero Timestamp is the local time (the ack replaces it
// with the server's). Seq is ignored. RoomID is required (ErrInvalid); an id already
// held fails with ErrExists. A room not held yet is added with only its id.
func (s *Store) Enqueue(m model.Message) (Message, error) { return s.enqueue(m, "") }

// enqueue is Enqueue; a non-empty uploadPath is the file the message waits to upload.
func (s *Store) enqueue(m model.Message, uploadPath string) (Message, error) {
	if m.RoomID == "" {
		return Message{}, fmt.Errorf("enqueue message: no room id: %w", ErrInvalid)
	}
	if m.ID == "" {
		m.ID = model.NewMessageID()
	}
	m.Seq = 0
	if m.Timestamp.IsZero() {
		m.Timestamp = model.NewTime(s.now())
	}
	var row messageRow
	err := s.write(func(tx *gorm.DB) error {
		if _, held, err := getMessage(tx, m.ID); err != nil {
			return err
		} else if held {
			return ErrExists
		}
		if m.SenderID == "" {
			m.SenderID = s.self
		}
		if m.SenderName == "" {
			m.SenderName = s.selfName
		}
		row = newRow(m)
		row.Status, row.Own, row.LocalOrder = string(model.StatusSending), true, s.nextOrder()
		if uploadPath != "" {
			row.UploadPath = &uploadPath
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		if err := tx.Create(&outboxRow{MessageID: row.ID, RoomID: row.RoomID}).Error; err != nil {
			return fmt.Errorf("insert outbox row: %w", err)
		}
		return tx.Exec("INSERT INTO rooms (id) VALUES (?) ON CONFLICT (id) DO NOTHING", row.RoomID).Error
	})
	if err != nil {
		return Message{}, fmt.Errorf("enqueue message %s: %w", m.ID, err)
	}
	return row.message(), nil
}

// Outbox returns every queued message, oldest first (so each room's order is kept).
func (s *Store) Outbox() ([]Message, error) {
	var rows []messageRow
	err := s.db.Raw(`SELECT m.* FROM outbox o JOIN messages m ON m.id = o.message_id ORDER BY o.position`).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return toMessages(rows), nil
}

// OutboxLen returns how many messages are queued.
func (s *Store) OutboxLen() (int, error) {
	var n int64
	if err := s.db.Model(&outboxRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return int(n), nil
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
// messages that changed; an ack for an unknown or already acked message changes nothing
// (but takes it out of the outbox if it was still there).
func (s *Store) ApplyAcks(acks []Ack) ([]Message, error) {
	ids := make([]string, 0, len(acks))
	for _, a := range acks {
		if a.ID != "" && a.Seq > 0 {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var changed []messageRow
	err := s.write(func(tx *gorm.DB) error {
		held, err := messagesByID(tx, ids)
		if err != nil {
			return err
		}
		marks := receiptMarks{}
		for _, a := range acks {
			row, ok := held[a.ID]
			if !ok || a.Seq <= 0 || row.Seq != 0 || !row.Own {
				continue
			}
			row.Seq = a.Seq
			if !a.Timestamp.IsZero() {
				row.TimeMS = toMS(a.Timestamp)
			}
			if err := s.settle(tx, &row, marks); err != nil {
				return err
			}
			held[a.ID] = row
			changed = append(changed, row)
		}
		return finishAcked(tx, ids, changed)
	})
	if err != nil {
		return nil, fmt.Errorf("apply acks: %w", err)
	}
	return toMessages(changed), nil
}

// settle gives a pending own message that just got its seq its status: sent, or
// delivered/read when a stored receipt covers the seq. s.mu must be held.
func (s *Store) settle(tx *gorm.DB, row *messageRow, marks receiptMarks) error {
	m, err := marks.get(tx, row.RoomID, s.self)
	if err != nil {
		return err
	}
	next := m.status(row.Seq)
	if model.Status(row.Status).CanMove(next) {
		row.Status = string(next)
	}
	row.Error = ""
	return nil
}

// finishAcked writes the acked rows, takes every acked id out of the outbox and moves
// the rooms' LastSeq forward.
func finishAcked(tx *gorm.DB, ids []string, acked []messageRow) error {
	top := make(map[string]int64)
	for _, r := range acked {
		err := tx.Model(&messageRow{}).Where("id = ?", r.ID).Updates(map[string]any{
			"seq": r.Seq, "ts_ms": r.TimeMS, "status": r.Status, "error": r.Error,
			"sender_id": r.SenderID, "sender_name": r.SenderName, "content": r.Content, "attachment": r.Attachment,
		}).Error
		if err != nil {
			return fmt.Errorf("ack message %s: %w", r.ID, err)
		}
		top[r.RoomID] = max(top[r.RoomID], r.Seq)
	}
	for chunk := range slices.Chunk(ids, batchSize) {
		if err := tx.Where("message_id IN ?", chunk).Delete(&outboxRow{}).Error; err != nil {
			return fmt.Errorf("remove acked from outbox: %w", err)
		}
	}
	for room, seq := range top {
		if err := raiseLastSeq(tx, room, seq); err != nil {
			return fmt.Errorf("raise last seq of room %s: %w", room, err)
		}
	}
	return nil
}

// MarkFailed moves a sending message to failed with the reason, and takes it out of the
// outbox. It reports false (and no error) when the message is unknown or not sending.
func (s *Store) MarkFailed(id, reason string) (Message, bool, error) {
	var (
		row   messageRow
		moved bool
	)
	err := s.write(func(tx *gorm.DB) error {
		r, held, err := getMessage(tx, id)
		if err != nil || !held {
			return err
		}
		row = r
		if !model.Status(row.Status).CanMove(model.StatusFailed) {
			return nil
		}
		row.Status, row.Error = string(model.StatusFailed), reason
		err = tx.Model(&messageRow{}).Where("id = ?", id).
			Updates(map[string]any{"status": row.Status, "error": row.Error}).Error
		if err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if err := tx.Where("message_id = ?", id).Delete(&outboxRow{}).Error; err != nil {
			return fmt.Errorf("remove from outbox: %w", err)
		}
		moved = true
		return nil
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("mark message %s failed: %w", id, err)
	}
	if row.ID == "" {
		return Message{}, false, nil
	}
	return row.message(), moved, nil
}

// Retry moves a failed message back to sending and puts it at the end of the outbox
// with the same id (and a new LocalOrder, so it shows below the other pending ones).
// A message already sending is returned as is. Unknown ids fail with ErrNotFound, other
// statuses with ErrStatus.
func (s *Store) Retry(id string) (Message, error) {
	var row messageRow
	err := s.write(func(tx *gorm.DB) error {
		r, held, err := getMessage(tx, id)
		if err != nil {
			return err
		}
		if !held {
			return ErrNotFound
		}
		row = r
		switch model.Status(row.Status) {
		case model.StatusSending:
			return nil
		case model.StatusFailed:
		default:
			return fmt.Errorf("%w: message is %s", ErrStatus, row.Status)
		}
		row.Status, row.Error, row.LocalOrder = string(model.StatusSending), "", s.nextOrder()
		err = tx.Model(&messageRow{}).Where("id = ?", id).
			Updates(map[string]any{"status": row.Status, "error": "", "local_order": row.LocalOrder}).Error
		if err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if err := tx.Create(&outboxRow{MessageID: row.ID, RoomID: row.RoomID}).Error; err != nil {
			return fmt.Errorf("insert outbox row: %w", err)
		}
		return nil
	})
	if err != nil {
		return Message{}, fmt.Errorf("retry message %s: %w", id, err)
	}
	return row.message(), nil
}
