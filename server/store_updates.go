package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/parleychat/parley/model"
)

// Errors of an update's own (AppendUpdates answers them per update).
var (
	// ErrNotSender answers an edit or delete of another user's message.
	ErrNotSender = errors.New("only the sender may change a message")
	// ErrDeleted answers an update of a deleted message.
	ErrDeleted = errors.New("the message is deleted")
	// ErrTooManyReactions answers a reaction that would be a message's 21st emoji.
	ErrTooManyReactions = errors.New("too many distinct reactions on the message")
)

// updateRow is a stored update: an edit, delete or react that took a seq of its room.
type updateRow struct {
	RoomID     string `gorm:"primaryKey;size:64;uniqueIndex:idx_updates_room_seq,priority:1"`
	ID         string `gorm:"primaryKey;size:64"`
	Seq        int64  `gorm:"not null;uniqueIndex:idx_updates_room_seq,priority:2"`
	SenderID   string `gorm:"size:64;not null"`
	SenderName string `gorm:"size:256;not null"`
	TargetID   string `gorm:"size:64;not null"`
	Op         string `gorm:"size:16;not null"`
	Content    string `gorm:"not null"`
	Emoji      string `gorm:"size:64;not null"`
	On         bool   `gorm:"not null"`
	AtMs       int64  `gorm:"not null"`
}

func (updateRow) TableName() string { return "updates" }

// reactionRow is one user's reaction with one emoji to one message.
type reactionRow struct {
	RoomID    string `gorm:"primaryKey;size:64"`
	MessageID string `gorm:"primaryKey;size:64"`
	Emoji     string `gorm:"primaryKey;size:64"`
	UserID    string `gorm:"primaryKey;size:64"`
	Seq       int64  `gorm:"not null"` // the update's: reactions list in the order they came
}

func (reactionRow) TableName() string { return "reactions" }

// NewUpdate is an update to store; the seq and timestamp are assigned by the store.
type NewUpdate struct {
	ID         string
	RoomID     string
	SenderID   string
	SenderName string
	TargetID   string
	Op         string // model.OpEdit, OpDelete or OpReact
	Content    string // edit: the new, cleaned content
	Emoji      string // react
	On         bool   // react: false takes it back
	AtMs       int64
}

// StoredUpdate answers one NewUpdate like StoredMessage answers a message: a resend of
// a stored id answers the stored update with New false; Err is the update's own
// refusal (ErrIDTaken, ErrNotFound for a target not in the room, ErrNotSender,
// ErrDeleted, ErrTooManyReactions).
type StoredUpdate struct {
	Update model.Update
	New    bool
	Err    error
	// Released is the upload the message a new delete dropped carried; the server
	// deletes it after the commit unless another message still carries it.
	Released string
}

func toUpdate(r updateRow) model.Update {
	return model.Update{ID: r.ID, RoomID: r.RoomID, Seq: r.Seq, SenderID: r.SenderID, SenderName: r.SenderName,
		TargetID: r.TargetID, Op: r.Op, Content: r.Content, Emoji: r.Emoji, On: r.On, Timestamp: model.NewTime(msTime(r.AtMs))}
}

// AppendUpdates stores a batch of updates in one transaction, in order: each is
// judged against its target as the updates before it left it, takes its room's next
// seq and changes the target's state (a delete drops its content, its attachment, the
// content of its edits and its reactions for good).
func (s *gormStore) AppendUpdates(ctx context.Context, ups []NewUpdate) ([]StoredUpdate, error) {
	out := make([]StoredUpdate, len(ups))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rooms []string
		for _, u := range ups {
			if !slices.Contains(rooms, u.RoomID) {
				rooms = append(rooms, u.RoomID)
			}
		}
		slices.Sort(rooms)
		if isPostgres(tx) {
			if err := pgLockRooms(tx, rooms); err != nil {
				return err
			}
		}
		for i, u := range ups {
			r, err := appendUpdate(tx, u)
			if err != nil {
				return err
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("append %d updates: %w", len(ups), err)
	}
	return out, nil
}

// appendUpdate stores one update inside tx; an error is the transaction's, the
// update's own refusal is its answer's Err.
func appendUpdate(tx *gorm.DB, u NewUpdate) (StoredUpdate, error) {
	refuse := func(err error) (StoredUpdate, error) {
		return StoredUpdate{Update: model.Update{ID: u.ID, RoomID: u.RoomID}, Err: fmt.Errorf("update %s of %s: %w", u.ID, u.TargetID, err)}, nil
	}
	var stored []updateRow
	if err := tx.Where("room_id = ? AND id = ?", u.RoomID, u.ID).Limit(1).Find(&stored).Error; err != nil {
		return StoredUpdate{}, fmt.Errorf("find update %s: %w", u.ID, err)
	}
	if len(stored) > 0 {
		if stored[0].SenderID != u.SenderID {
			return refuse(ErrIDTaken)
		}
		return StoredUpdate{Update: toUpdate(stored[0])}, nil
	}
	var target []messageRow
	if err := tx.Where("room_id = ? AND id = ?", u.RoomID, u.TargetID).Limit(1).Find(&target).Error; err != nil {
		return StoredUpdate{}, fmt.Errorf("find target %s: %w", u.TargetID, err)
	}
	if len(target) == 0 {
		return refuse(ErrNotFound)
	}
	t := target[0]
	if t.Deleted {
		return refuse(ErrDeleted)
	}
	if u.Op != model.OpReact && t.SenderID != u.SenderID {
		return refuse(ErrNotSender)
	}
	if u.Op == model.OpReact && u.On {
		var emoji []string
		if err := tx.Model(&reactionRow{}).Distinct("emoji").Where("room_id = ? AND message_id = ?", u.RoomID, u.TargetID).
			Pluck("emoji", &emoji).Error; err != nil {
			return StoredUpdate{}, fmt.Errorf("reactions of %s: %w", u.TargetID, err)
		}
		if !slices.Contains(emoji, u.Emoji) && len(emoji) >= model.MaxReactionsPerMsg {
			return refuse(ErrTooManyReactions)
		}
	}
	var seq int64
	if err := tx.Raw("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", u.RoomID).Scan(&seq).Error; err != nil {
		return StoredUpdate{}, fmt.Errorf("reserve a seq in %s: %w", u.RoomID, err)
	}
	if seq == 0 {
		return refuse(ErrNotFound)
	}
	row := updateRow{RoomID: u.RoomID, ID: u.ID, Seq: seq, SenderID: u.SenderID, SenderName: u.SenderName,
		TargetID: u.TargetID, Op: u.Op, Content: u.Content, Emoji: u.Emoji, On: u.On, AtMs: u.AtMs}
	if err := tx.Create(&row).Error; err != nil {
		return StoredUpdate{}, fmt.Errorf("insert update %s: %w", u.ID, err)
	}
	if err := applyUpdate(tx, row); err != nil {
		return StoredUpdate{}, err
	}
	out := StoredUpdate{Update: toUpdate(row), New: true}
	if u.Op == model.OpDelete && t.Attachment != "" {
		var a model.Attachment
		if json.Unmarshal([]byte(t.Attachment), &a) == nil {
			if id, ok := strings.CutPrefix(a.URL, uploadPrefix); ok {
				out.Released = id
			}
		}
	}
	return out, nil
}

// applyUpdate changes the target's stored state by the update r.
func applyUpdate(tx *gorm.DB, r updateRow) error {
	target := tx.Model(&messageRow{}).Where("room_id = ? AND id = ?", r.RoomID, r.TargetID)
	var err error
	switch r.Op {
	case model.OpEdit:
		err = target.UpdateColumns(map[string]any{"content": r.Content, "edited_at_ms": r.AtMs}).Error
	case model.OpDelete:
		// Gone for good, not hidden: the content, the attachment, the earlier edits'
		// texts and the reactions. The search index follows the content (a trigger
		// on SQLite, an expression index on PostgreSQL).
		err = target.UpdateColumns(map[string]any{"content": "", "attachment": "", "deleted": true}).Error
		if err == nil {
			err = tx.Model(&updateRow{}).Where("room_id = ? AND target_id = ? AND op = ?", r.RoomID, r.TargetID, model.OpEdit).
				UpdateColumn("content", "").Error
		}
		if err == nil {
			err = tx.Where("room_id = ? AND message_id = ?", r.RoomID, r.TargetID).Delete(&reactionRow{}).Error
		}
	case model.OpReact:
		if r.On {
			var n int64
			err = tx.Model(&reactionRow{}).Where("room_id = ? AND message_id = ? AND emoji = ? AND user_id = ?",
				r.RoomID, r.TargetID, r.Emoji, r.SenderID).Count(&n).Error
			if err == nil && n == 0 {
				err = tx.Create(&reactionRow{RoomID: r.RoomID, MessageID: r.TargetID, Emoji: r.Emoji, UserID: r.SenderID, Seq: r.Seq}).Error
			}
		} else {
			err = tx.Where("room_id = ? AND message_id = ? AND emoji = ? AND user_id = ?",
				r.RoomID, r.TargetID, r.Emoji, r.SenderID).Delete(&reactionRow{}).Error
		}
	default:
		return fmt.Errorf("update %s: unknown op %q", r.ID, r.Op)
	}
	if err != nil {
		return fmt.Errorf("apply %s %s to %s: %w", r.Op, r.ID, r.TargetID, err)
	}
	return nil
}

// UpdatesAfter answers the updates of a room with afterSeq < seq <= uptoSeq, in seq
// order, at most limit.
func (s *gormStore) UpdatesAfter(ctx context.Context, roomID string, afterSeq, uptoSeq int64, limit int) ([]model.Update, error) {
	var rows []updateRow
	err := s.db.WithContext(ctx).Where("room_id = ? AND seq > ? AND seq <= ?", roomID, afterSeq, uptoSeq).
		Order("seq").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("updates of %s after %d: %w", roomID, afterSeq, err)
	}
	out := make([]model.Update, len(rows))
	for i, r := range rows {
		out[i] = toUpdate(r)
	}
	return out, nil
}

// MessageByID answers the message id of a room; ErrNotFound if the room has none.
func (s *gormStore) MessageByID(ctx context.Context, roomID, id string) (model.Message, error) {
	var rows []messageRow
	if err := s.db.WithContext(ctx).Where("room_id = ? AND id = ?", roomID, id).Limit(1).Find(&rows).Error; err != nil {
		return model.Message{}, fmt.Errorf("message %s of %s: %w", id, roomID, err)
	}
	if len(rows) == 0 {
		return model.Message{}, ErrNotFound
	}
	msgs := []model.Message{toMessage(rows[0])}
	if err := foldReactions(s.db.WithContext(ctx), roomID, msgs); err != nil {
		return model.Message{}, err
	}
	return msgs[0], nil
}

// foldReactions fills in the reactions of msgs, messages of one room: each emoji's
// users in the order of their rows' seqs, the seq of the react that made the row (a
// repeated react keeps it, a react taken back deletes it). Seqs are unique in a room,
// so the order is total, and it is the order a client gets by folding the room's
// react updates in seq order.
func foldReactions(db *gorm.DB, roomID string, msgs []model.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]string, len(msgs))
	at := make(map[string]int, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
		at[m.ID] = i
	}
	var rows []reactionRow
	for start := 0; start < len(ids); start += 500 {
		var part []reactionRow
		if err := db.Where("room_id = ? AND message_id IN ?", roomID, ids[start:min(start+500, len(ids))]).
			Order("seq").Find(&part).Error; err != nil {
			return fmt.Errorf("reactions in %s: %w", roomID, err)
		}
		rows = append(rows, part...)
	}
	for _, r := range rows {
		m := &msgs[at[r.MessageID]]
		if m.Reactions == nil {
			m.Reactions = make(model.Reactions)
		}
		m.Reactions[r.Emoji] = append(m.Reactions[r.Emoji], r.UserID)
	}
	return nil
}
