package storage

import (
	"encoding/json"
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
// held in the room fails with ErrExists. ReplyTo, if set, is kept as is (the server
// checks it). A room not held yet is added with only its id.
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
		if _, held, err := getMessage(tx, m.RoomID, m.ID); err != nil {
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
		m.EditedAt, m.Deleted, m.Reactions = model.Time{}, false, nil
		row = newRow(m)
		row.Status, row.Own, row.LocalOrder = string(model.StatusSending), true, s.nextOrder()
		if uploadPath != "" {
			row.UploadPath = &uploadPath
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		if err := tx.Create(&outboxRow{MessageID: row.ID, RoomID: row.RoomID, Kind: kindMessage}).Error; err != nil {
			return fmt.Errorf("insert outbox row: %w", err)
		}
		return tx.Exec("INSERT INTO rooms (id) VALUES (?) ON CONFLICT (id) DO NOTHING", row.RoomID).Error
	})
	if err != nil {
		return Message{}, fmt.Errorf("enqueue message %s: %w", m.ID, err)
	}
	return row.message(), nil
}

// Outgoing is one item of the outbox: a message or an update (edit, delete, react).
// Exactly one of the two is set.
type Outgoing struct {
	Message *Message
	Update  *model.Update // Seq is 0
}

// ID returns the id of the message or update.
func (o Outgoing) ID() string {
	if o.Message != nil {
		return o.Message.ID
	}
	return o.Update.ID
}

// RoomID returns the room of the message or update.
func (o Outgoing) RoomID() string {
	if o.Message != nil {
		return o.Message.RoomID
	}
	return o.Update.RoomID
}

// Outbox returns every queued message and update, oldest first (so each room's order
// is kept, updates among messages).
func (s *Store) Outbox() ([]Outgoing, error) {
	var queue []outboxRow
	if err := s.db.Order("position").Find(&queue).Error; err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	var mkeys, ukeys []msgKey
	for _, q := range queue {
		if q.Kind == kindUpdate {
			ukeys = append(ukeys, msgKey{q.RoomID, q.MessageID})
		} else {
			mkeys = append(mkeys, msgKey{q.RoomID, q.MessageID})
		}
	}
	msgs, err := messagesByKey(s.db, mkeys)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	ups, err := updatesByKey(s.db, ukeys)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	out := make([]Outgoing, 0, len(queue))
	for _, q := range queue {
		k := msgKey{q.RoomID, q.MessageID}
		if q.Kind == kindUpdate {
			if r, ok := ups[k]; ok {
				u := r.update()
				out = append(out, Outgoing{Update: &u})
			}
		} else if r, ok := msgs[k]; ok {
			m := r.message()
			var queued folded
			if r.Outgoing != "" && json.Unmarshal([]byte(r.Outgoing), &queued) == nil {
				m.Content, m.Attachment = queued.Content, decodeAttachment(queued.Attachment)
			}
			out = append(out, Outgoing{Message: &m})
		}
	}
	return out, nil
}

// InOutbox reports whether the message or update id of the room still waits in the
// outbox (false once acked, failed, or never queued).
func (s *Store) InOutbox(roomID, id string) (bool, error) {
	var n int64
	if err := s.db.Model(&outboxRow{}).Where("room_id = ? AND message_id = ?", roomID, id).Count(&n).Error; err != nil {
		return false, fmt.Errorf("read outbox: %w", err)
	}
	return n > 0, nil
}

// OutboxLen returns how many messages and updates are queued.
func (s *Store) OutboxLen() (int, error) {
	var n int64
	if err := s.db.Model(&outboxRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return int(n), nil
}

// Acked is what ApplyAcks did.
type Acked struct {
	// Messages are the own messages the acks moved (seq, timestamp, status).
	Messages []Message
	// Changed are targets of own updates the acks confirmed whose folded state moved
	// to the server's order (a reaction to its place by seq; the text of the edit
	// newest by seq, with the server's time).
	Changed []Message
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
// covers its seq) and leaves the outbox; its room's LastSeq moves forward. An ack of an
// own pending update gives it its seq and takes it out of the outbox (its change was
// applied when it was queued, and now takes its place by seq). It returns what
// changed; an ack for an unknown or already acked message changes nothing (but takes
// it out of the outbox if it was still there).
func (s *Store) ApplyAcks(acks []Ack) (Acked, error) {
	keys := make([]msgKey, 0, len(acks))
	for _, a := range acks {
		if a.ID != "" && a.Seq > 0 {
			keys = append(keys, msgKey{a.RoomID, a.ID})
		}
	}
	if len(keys) == 0 {
		return Acked{}, nil
	}
	var changed, refolded []messageRow
	err := s.write(func(tx *gorm.DB) error {
		changed = nil
		held, err := messagesByKey(tx, keys)
		if err != nil {
			return err
		}
		var others []msgKey
		marks := receiptMarks{}
		for _, a := range acks {
			k := msgKey{a.RoomID, a.ID}
			row, ok := held[k]
			if !ok {
				others = append(others, k)
				continue
			}
			if a.Seq <= 0 || row.Seq != 0 || !row.Own {
				continue
			}
			row.Seq = a.Seq
			if !a.Timestamp.IsZero() {
				row.TimeMS = toMS(a.Timestamp)
			}
			if err := s.settle(tx, &row, marks); err != nil {
				return err
			}
			held[k] = row
			changed = append(changed, row)
		}
		if refolded, err = ackUpdates(tx, acks, others); err != nil {
			return err
		}
		return finishAcked(tx, keys, changed)
	})
	if err != nil {
		return Acked{}, fmt.Errorf("apply acks: %w", err)
	}
	return Acked{Messages: toMessages(changed), Changed: toMessages(refolded)}, nil
}

// ackUpdates applies the acks of own pending updates among keys and returns the
// targets whose folded state that moved (restate).
func ackUpdates(tx *gorm.DB, acks []Ack, keys []msgKey) ([]messageRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ups, err := updatesByKey(tx, keys)
	if err != nil {
		return nil, err
	}
	var confirmed []updateRow
	var healed []messageRow
	for _, a := range acks {
		k := msgKey{a.RoomID, a.ID}
		r, ok := ups[k]
		if !ok || !r.Own || r.Seq != 0 || a.Seq <= 0 {
			continue
		}
		failed := r.Status == string(model.StatusFailed)
		r.Seq, r.Status = a.Seq, string(model.StatusSent)
		if !a.Timestamp.IsZero() {
			r.TimeMS = toMS(a.Timestamp)
		}
		if failed {
			// Stored after all (a resend crossed its refusal): its change, undone, is
			// folded again as the server's.
			t, err := refoldFailed(tx, &r)
			if err != nil {
				return nil, err
			}
			if t != nil {
				healed = append(healed, *t)
			}
		}
		if err := confirmUpdate(tx, r); err != nil {
			return nil, err
		}
		if r.Op == model.OpDelete {
			if err := purgeEdits(tx, r.targetKey()); err != nil {
				return nil, err
			}
		}
		if err := raiseLastSeq(tx, r.RoomID, r.Seq); err != nil {
			return nil, fmt.Errorf("raise last seq of room %s: %w", r.RoomID, err)
		}
		ups[k] = r
		confirmed = append(confirmed, r)
	}
	moved, err := restate(tx, confirmed)
	if err != nil {
		return nil, err
	}
	for _, h := range healed {
		if !slices.ContainsFunc(moved, func(m messageRow) bool { return m.key() == h.key() }) {
			moved = append(moved, h)
		}
	}
	return moved, nil
}

// refoldFailed applies a failed own update (its seq just given) to its target again,
// unless something newer stands, and answers the target when it changed.
func refoldFailed(tx *gorm.DB, r *updateRow) (*messageRow, error) {
	t, held, err := getMessage(tx, r.RoomID, r.TargetID)
	if err != nil || !held {
		return nil, err
	}
	f, err := loadFolder(tx, []msgKey{t.key()})
	if err != nil {
		return nil, err
	}
	r.Applied = true
	if !f.apply(&t, r) {
		return nil, nil
	}
	if err := writeFolded(tx, t); err != nil {
		return nil, err
	}
	return &t, nil
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
func finishAcked(tx *gorm.DB, keys []msgKey, acked []messageRow) error {
	top := make(map[string]int64)
	for _, r := range acked {
		err := tx.Model(&messageRow{}).Where("room_id = ? AND id = ?", r.RoomID, r.ID).Updates(map[string]any{
			"seq": r.Seq, "ts_ms": r.TimeMS, "status": r.Status, "error": r.Error,
			"sender_id": r.SenderID, "sender_name": r.SenderName, "content": r.Content, "attachment": r.Attachment,
			"outgoing": "",
		}).Error
		if err != nil {
			return fmt.Errorf("ack message %s: %w", r.ID, err)
		}
		top[r.RoomID] = max(top[r.RoomID], r.Seq)
	}
	for room, ids := range groupByRoom(keys) {
		for chunk := range slices.Chunk(ids, batchSize) {
			if err := tx.Where("room_id = ? AND message_id IN ?", room, chunk).Delete(&outboxRow{}).Error; err != nil {
				return fmt.Errorf("remove acked from outbox: %w", err)
			}
		}
	}
	for room, seq := range top {
		if err := raiseLastSeq(tx, room, seq); err != nil {
			return fmt.Errorf("raise last seq of room %s: %w", room, err)
		}
	}
	return nil
}

// MarkFailed moves a sending own message to failed with the reason, and takes it out
// of the outbox. It reports false (and no error) when the message is unknown or not
// sending. The `error` frame names only an id: own ids are made by this client
// (UUIDv4), so among own messages one id names one message.
func (s *Store) MarkFailed(id, reason string) (Message, bool, error) {
	var (
		row   messageRow
		moved bool
	)
	err := s.write(func(tx *gorm.DB) error {
		r, held, err := getOwnMessage(tx, id)
		if err != nil || !held {
			return err
		}
		row = r
		if !model.Status(row.Status).CanMove(model.StatusFailed) {
			return nil
		}
		row.Status, row.Error = string(model.StatusFailed), reason
		err = tx.Model(&messageRow{}).Where("pk = ?", row.PK).
			Updates(map[string]any{"status": row.Status, "error": row.Error}).Error
		if err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if err := tx.Where("room_id = ? AND message_id = ?", row.RoomID, id).Delete(&outboxRow{}).Error; err != nil {
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

// FailUpdate is MarkFailed for an own pending update: the server refused it, so its
// optimistic change to the target is undone, it is marked failed and leaves the
// outbox. ok is false when no own sending update has that id.
func (s *Store) FailUpdate(id, reason string) (f UpdateFailure, ok bool, err error) {
	err = s.write(func(tx *gorm.DB) error {
		f, ok, err = failUpdate(tx, id, reason)
		return err
	})
	if err != nil {
		return UpdateFailure{}, false, fmt.Errorf("mark update %s failed: %w", id, err)
	}
	return f, ok, nil
}

// getOwnMessage reads the own message with that id.
func getOwnMessage(tx *gorm.DB, id string) (messageRow, bool, error) {
	var rows []messageRow
	if err := tx.Where("id = ? AND own", id).Order("seq").Limit(1).Find(&rows).Error; err != nil {
		return messageRow{}, false, fmt.Errorf("read message %s: %w", id, err)
	}
	if len(rows) == 0 {
		return messageRow{}, false, nil
	}
	return rows[0], true, nil
}

// Retry moves a failed message back to sending and puts it at the end of the outbox
// with the same id (and a new LocalOrder, so it shows below the other pending ones).
// A message already sending is returned as is. Unknown ids fail with ErrNotFound, other
// statuses with ErrStatus. Like MarkFailed it looks among own messages only.
func (s *Store) Retry(id string) (Message, error) {
	var row messageRow
	err := s.write(func(tx *gorm.DB) error {
		r, held, err := getOwnMessage(tx, id)
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
		err = tx.Model(&messageRow{}).Where("pk = ?", row.PK).
			Updates(map[string]any{"status": row.Status, "error": "", "local_order": row.LocalOrder}).Error
		if err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if err := tx.Create(&outboxRow{MessageID: row.ID, RoomID: row.RoomID, Kind: kindMessage}).Error; err != nil {
			return fmt.Errorf("insert outbox row: %w", err)
		}
		return nil
	})
	if err != nil {
		return Message{}, fmt.Errorf("retry message %s: %w", id, err)
	}
	return row.message(), nil
}
