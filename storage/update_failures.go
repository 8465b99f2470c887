package storage

import (
	"fmt"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

// An own update the server refused for good (forbidden, not_found, invalid, conflict)
// is failed as a message is: its optimistic change is undone, it leaves the outbox
// and stays, with the server's reason, until RetryUpdate queues it again or
// DiscardUpdate drops it. FailedUpdates lists them, across restarts.

// failUpdate undoes an own pending update the server refused, marks it failed and
// takes it out of the outbox. ok is false when no own pending update has that id.
func failUpdate(tx *gorm.DB, id, reason string) (UpdateFailure, bool, error) {
	var rows []updateRow
	if err := tx.Where("id = ? AND own AND seq = 0 AND status = ?", id, model.StatusSending).Limit(1).Find(&rows).Error; err != nil {
		return UpdateFailure{}, false, fmt.Errorf("read update %s: %w", id, err)
	}
	if len(rows) == 0 {
		return UpdateFailure{}, false, nil
	}
	row := rows[0]
	// The text of a refused edit is kept for RetryUpdate (a delete of its target
	// drops it, as it drops every edit's).
	err := tx.Model(&updateRow{}).Where("pk = ?", row.PK).Updates(map[string]any{
		"status": string(model.StatusFailed), "error": reason, "applied": false, "prev": ""}).Error
	if err != nil {
		return UpdateFailure{}, false, fmt.Errorf("mark update %s failed: %w", id, err)
	}
	if err := tx.Where("room_id = ? AND message_id = ?", row.RoomID, row.ID).Delete(&outboxRow{}).Error; err != nil {
		return UpdateFailure{}, false, fmt.Errorf("remove update %s from outbox: %w", id, err)
	}
	out := UpdateFailure{Reason: reason}
	t, held, err := getMessage(tx, row.RoomID, row.TargetID)
	if err != nil {
		return UpdateFailure{}, false, err
	}
	if held && row.Applied {
		if err := undo(tx, &t, row); err != nil {
			return UpdateFailure{}, false, err
		}
		if err := writeFolded(tx, t); err != nil {
			return UpdateFailure{}, false, err
		}
	}
	if held {
		out.Target = t.message()
	}
	row.Status, row.Error, row.Applied, row.Prev = string(model.StatusFailed), reason, false, ""
	out.Update = row.update()
	return out, true, nil
}

// undo takes a refused own update u (no longer applied) back from m. What m shows
// for u's foldKey is then what the newest update still applied says: a later own
// pending one (which then undoes to where u would have), one from the server that
// came while u was pending (and was passed over for it), or none (u's prev).
func undo(tx *gorm.DB, m *messageRow, u updateRow) error {
	n, ok, err := newestApplied(tx, u.foldKey())
	if err != nil {
		return err
	}
	if ok && n.Seq == 0 && n.PK > u.PK {
		if err := tx.Model(&updateRow{}).Where("pk = ?", n.PK).Update("prev", u.Prev).Error; err != nil {
			return fmt.Errorf("hand the undo of %s on: %w", u.ID, err)
		}
		return nil
	}
	f, err := loadFolder(tx, []msgKey{m.key()})
	if err != nil {
		return err
	}
	if ok && n.Seq != 0 && n.PK > u.PK {
		f.force(m, &n)
		return nil
	}
	p, ok := decodeFolded(u.Prev)
	switch {
	case !ok:
	case u.Op == model.OpReact:
		had := !u.On
		if p.Reacted != nil {
			had = *p.Reacted
		}
		placeReaction(m, f.since, u.Emoji, u.SenderID, had, false)
	case u.Op == model.OpEdit && m.Deleted:
		// Deleted meanwhile (from another device): that stands.
	default:
		m.Content, m.Attachment, m.EditedMS, m.Deleted = p.Content, p.Attachment, p.EditedMS, p.Deleted
		if u.Op == model.OpDelete {
			m.Reactions = p.Reactions
		}
	}
	return nil
}

// newestApplied reads the newest update applied for k: an own pending one (the
// latest queued) before any with a seq, else the one with the highest seq.
func newestApplied(tx *gorm.DB, k foldKey) (updateRow, bool, error) {
	q := tx.Where("room_id = ? AND target_id = ? AND op = ? AND applied", k.room, k.target, k.op)
	if k.op == model.OpReact {
		q = q.Where("emoji = ? AND sender_id = ?", k.emoji, k.sender)
	}
	var rows []updateRow
	if err := q.Order("seq = 0 DESC, seq DESC, pk DESC").Limit(1).Find(&rows).Error; err != nil {
		return updateRow{}, false, fmt.Errorf("read the newest update of %s: %w", k.target, err)
	}
	if len(rows) == 0 {
		return updateRow{}, false, nil
	}
	return rows[0], true, nil
}

// force makes m show what u says for its foldKey, whatever was folded before.
func (f folder) force(m *messageRow, u *updateRow) bool {
	switch u.Op {
	case model.OpEdit:
		if m.Deleted || (m.Content == u.Content && m.EditedMS == max(u.TimeMS, 1)) {
			return false
		}
		m.Content, m.EditedMS = u.Content, max(u.TimeMS, 1)
		return true
	case model.OpReact:
		return placeReaction(m, f.since, u.Emoji, u.SenderID, u.On, true)
	}
	return false // a delete is for good
}

// restate makes the targets of own updates that just took their seq (rows, as
// written) show what the newest applied update of each one's foldKey says: the server
// orders by seq, and the device's optimistic order may differ (another device's
// update came while this one was pending; a reaction takes its place by seq). It
// writes and returns the targets that changed.
func restate(tx *gorm.DB, rows []updateRow) ([]messageRow, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	targets := make([]msgKey, len(rows))
	for i, r := range rows {
		targets[i] = r.targetKey()
	}
	msgs, err := messagesByKey(tx, targets)
	if err != nil {
		return nil, err
	}
	f, err := loadFolder(tx, targets)
	if err != nil {
		return nil, err
	}
	var changed []msgKey
	done := map[foldKey]bool{}
	for _, r := range rows {
		k := r.foldKey()
		m, held := msgs[r.targetKey()]
		if done[k] || !held || r.Op == model.OpDelete {
			continue
		}
		done[k] = true
		n, ok, err := newestApplied(tx, k)
		if err != nil {
			return nil, err
		}
		if !ok || n.Seq == 0 || !f.force(&m, &n) {
			continue
		}
		if !containsKey(changed, r.targetKey()) {
			changed = append(changed, r.targetKey())
		}
		msgs[r.targetKey()] = m
	}
	out := make([]messageRow, len(changed))
	for i, k := range changed {
		out[i] = msgs[k]
		if err := writeFolded(tx, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func containsKey(keys []msgKey, k msgKey) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// RetryUpdate queues a failed own update again with the same id, behind everything
// queued, and applies it to its target again (as it stands now: the checks of
// EnqueueUpdate apply). It returns the target in its new form and the update as
// queued. An id of no failed own update fails with ErrNotFound.
func (s *Store) RetryUpdate(roomID, id string) (Message, model.Update, error) {
	var (
		target messageRow
		row    updateRow
	)
	err := s.write(func(tx *gorm.DB) error {
		var err error
		if row, err = failedUpdate(tx, roomID, id); err != nil {
			return err
		}
		// A new row: the retried update is the newest own one (pk orders them).
		if err := tx.Where("pk = ?", row.PK).Delete(&updateRow{}).Error; err != nil {
			return fmt.Errorf("drop failed update: %w", err)
		}
		row.TimeMS = toMS(s.now())
		target, err = queueOwnUpdate(tx, row)
		return err
	})
	if err != nil {
		return Message{}, model.Update{}, fmt.Errorf("retry update %s: %w", id, err)
	}
	return target.message(), row.update(), nil
}

// PendingUpdate returns the own update with that id while it waits in the outbox
// (sending); ok is false for anything else. Like MarkFailed it needs no room: own ids
// are made by this client.
func (s *Store) PendingUpdate(id string) (u model.Update, ok bool, err error) {
	var rows []updateRow
	if err := s.db.Where("id = ? AND own AND seq = 0 AND status = ?", id, model.StatusSending).Limit(1).Find(&rows).Error; err != nil {
		return model.Update{}, false, fmt.Errorf("read update %s: %w", id, err)
	}
	if len(rows) == 0 {
		return model.Update{}, false, nil
	}
	return rows[0].update(), true, nil
}

// DiscardUpdate drops a failed own update (its change was undone when it failed).
// An id of no failed own update fails with ErrNotFound.
func (s *Store) DiscardUpdate(roomID, id string) error {
	err := s.write(func(tx *gorm.DB) error {
		row, err := failedUpdate(tx, roomID, id)
		if err != nil {
			return err
		}
		return tx.Where("pk = ?", row.PK).Delete(&updateRow{}).Error
	})
	if err != nil {
		return fmt.Errorf("discard update %s: %w", id, err)
	}
	return nil
}

func failedUpdate(tx *gorm.DB, roomID, id string) (updateRow, error) {
	row, held, err := getUpdate(tx, roomID, id)
	if err != nil {
		return updateRow{}, err
	}
	if !held || !row.Own || row.Seq != 0 || row.Status != string(model.StatusFailed) {
		return updateRow{}, ErrNotFound
	}
	return row, nil
}

// FailedUpdates returns the own updates the server refused that are neither retried
// nor discarded, of roomID (every room when empty), oldest first, each with its
// target as it stands.
func (s *Store) FailedUpdates(roomID string) ([]UpdateFailure, error) {
	q := s.db.Where("own AND seq = 0 AND status = ?", model.StatusFailed)
	if roomID != "" {
		q = q.Where("room_id = ?", roomID)
	}
	var rows []updateRow
	if err := q.Order("pk").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read failed updates: %w", err)
	}
	keys := make([]msgKey, len(rows))
	for i, r := range rows {
		keys[i] = r.targetKey()
	}
	msgs, err := messagesByKey(s.db, keys)
	if err != nil {
		return nil, fmt.Errorf("read failed updates: %w", err)
	}
	out := make([]UpdateFailure, len(rows))
	for i, r := range rows {
		out[i] = UpdateFailure{Update: r.update(), Reason: r.Error}
		if m, ok := msgs[r.targetKey()]; ok {
			out[i].Target = m.message()
		}
	}
	return out, nil
}
