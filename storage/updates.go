package storage

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

// Folded is what ApplyUpdates did with a batch of updates from the server.
type Folded struct {
	// Changed holds the messages the batch changed (edited, deleted, reactions), in
	// their new form, in the order first changed.
	Changed []Message
	// Confirmed holds the own pending updates the batch carried back from the server:
	// they took their seq and left the outbox (the server's echo counts as their ack).
	Confirmed []model.Update
}

// UpdateFailure is an own update the server refused: its optimistic change is undone,
// and it waits for RetryUpdate or DiscardUpdate.
type UpdateFailure struct {
	Update model.Update
	Reason string
	// Target is the target message after the undo (zero when it is not held).
	Target Message
}

// ApplyUpdates stores updates from the server (live `update` frames or sync replays)
// in one transaction, idempotent by (room, id), and folds each into the message it
// targets: an edit replaces the content and sets EditedAt; a delete drops the content
// and attachment for good (also from the edits kept for it) and sets Deleted; a react
// adds or removes its sender under the emoji. An update whose target is not held yet
// is kept and folded when the target arrives (Ingest). An update older (by seq) than
// one already folded for the same thing (the target's text, or one user's emoji on it)
// changes nothing, so the state converges whatever order pages arrive in. Updates are
// not messages: they never show as rows nor count as unread, but their seqs move the
// room's LastSeq and count for ContiguousSeq. Updates without an id, a room, a target,
// a positive seq or a known op are ignored.
func (s *Store) ApplyUpdates(us []model.Update) (Folded, error) {
	batch := make([]model.Update, 0, len(us))
	seen := make(map[msgKey]bool, len(us))
	for _, u := range us {
		k := msgKey{u.RoomID, u.ID}
		if u.ID == "" || u.RoomID == "" || u.TargetID == "" || u.Seq <= 0 || !knownOp(u.Op) || seen[k] {
			continue
		}
		seen[k] = true
		batch = append(batch, u)
	}
	if len(batch) == 0 {
		return Folded{}, nil
	}
	slices.SortStableFunc(batch, func(a, b model.Update) int {
		return cmp.Or(cmp.Compare(a.RoomID, b.RoomID), cmp.Compare(a.Seq, b.Seq))
	})
	var out Folded
	err := s.write(func(tx *gorm.DB) error {
		out = Folded{}
		keys := make([]msgKey, len(batch))
		targets := make([]msgKey, len(batch))
		for i, u := range batch {
			keys[i], targets[i] = msgKey{u.RoomID, u.ID}, msgKey{u.RoomID, u.TargetID}
		}
		held, err := updatesByKey(tx, keys)
		if err != nil {
			return err
		}
		msgs, err := messagesByKey(tx, targets)
		if err != nil {
			return err
		}
		f, err := loadFolder(tx, targets)
		if err != nil {
			return err
		}
		var fresh []updateRow
		var confirmed []updateRow
		changed := map[msgKey]bool{}
		var changedOrder []msgKey
		deletes := map[msgKey]bool{}
		for _, u := range batch {
			row := newUpdateRow(u)
			h, isHeld := held[row.key()]
			if isHeld && (h.Seq != 0 || !h.Own) {
				continue // a duplicate
			}
			tk := msgKey{u.RoomID, u.TargetID}
			if u.Op == model.OpDelete {
				deletes[tk] = true
			}
			if isHeld {
				// Our own pending update, back from the server: it counts as its ack.
				h.Seq, h.TimeMS, h.SenderName, h.Status, h.Error, h.Prev = row.Seq, row.TimeMS, row.SenderName, string(model.StatusSent), "", ""
				row = h
			}
			if m, ok := msgs[tk]; ok && !row.Applied {
				if f.apply(&m, &row) {
					msgs[tk] = m
					if !changed[tk] {
						changed[tk] = true
						changedOrder = append(changedOrder, tk)
					}
				}
				row.Applied = true
			} else if isHeld && row.Applied {
				f.note(&row) // the optimistic apply stands; now it has its seq
			}
			if isHeld {
				confirmed = append(confirmed, row)
			} else {
				fresh = append(fresh, row)
			}
		}
		rows := make([]messageRow, len(changedOrder))
		for i, k := range changedOrder {
			rows[i] = msgs[k]
			out.Changed = append(out.Changed, msgs[k].message())
		}
		if err := writeFoldedRows(tx, rows); err != nil {
			return err
		}
		for i := range fresh {
			if deletes[fresh[i].targetKey()] || msgs[fresh[i].targetKey()].Deleted {
				if fresh[i].Op == model.OpEdit {
					fresh[i].Content = ""
				}
			}
		}
		if len(fresh) > 0 {
			if err := tx.CreateInBatches(&fresh, insertRows).Error; err != nil {
				return fmt.Errorf("insert updates: %w", err)
			}
		}
		for _, r := range confirmed {
			if err := confirmUpdate(tx, r); err != nil {
				return err
			}
			out.Confirmed = append(out.Confirmed, r.update())
		}
		for k := range deletes {
			if err := purgeEdits(tx, k); err != nil {
				return err
			}
		}
		refolded, err := restate(tx, confirmed)
		if err != nil {
			return err
		}
		for _, m := range refolded {
			if i := slices.IndexFunc(out.Changed, func(c Message) bool { return c.RoomID == m.RoomID && c.ID == m.ID }); i >= 0 {
				out.Changed[i] = m.message()
			} else {
				out.Changed = append(out.Changed, m.message())
			}
		}
		top := make(map[string]int64)
		for _, u := range batch {
			top[u.RoomID] = max(top[u.RoomID], u.Seq)
		}
		for room, seq := range top {
			if err := raiseLastSeq(tx, room, seq); err != nil {
				return fmt.Errorf("raise last seq of room %s: %w", room, err)
			}
		}
		return nil
	})
	if err != nil {
		return Folded{}, fmt.Errorf("apply %d updates: %w", len(batch), err)
	}
	return out, nil
}

// EnqueueUpdate queues an own edit, delete or react (u's Op, RoomID, TargetID and
// Content, Emoji, On) in the outbox, behind every message and update queued before it,
// and applies it to the target at once (optimistically: the server's update confirms
// it, its refusal undoes it). An empty ID gets a fresh one. The target must be held
// (ErrNotFound); only own messages can be edited or deleted (ErrForbidden), and not
// once deleted (ErrDeleted). It returns the target in its new form.
func (s *Store) EnqueueUpdate(u model.Update) (Message, error) {
	if u.RoomID == "" || u.TargetID == "" || !knownOp(u.Op) {
		return Message{}, fmt.Errorf("enqueue update: no room, target or op: %w", ErrInvalid)
	}
	if u.ID == "" {
		u.ID = model.NewMessageID()
	}
	u.Seq = 0
	if u.Timestamp.IsZero() {
		u.Timestamp = model.NewTime(s.now())
	}
	var target messageRow
	err := s.write(func(tx *gorm.DB) error {
		if _, held, err := getUpdate(tx, u.RoomID, u.ID); err != nil {
			return err
		} else if held {
			return ErrExists
		}
		u.SenderID, u.SenderName = s.self, s.selfName
		var err error
		target, err = queueOwnUpdate(tx, newUpdateRow(u))
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("enqueue %s of %s: %w", u.Op, u.TargetID, err)
	}
	return target.message(), nil
}

// queueOwnUpdate checks an own update against its target, applies it there and
// inserts it (sending, seq 0) with its outbox row, behind everything queued. It
// returns the target in its new form.
func queueOwnUpdate(tx *gorm.DB, row updateRow) (messageRow, error) {
	t, held, err := getMessage(tx, row.RoomID, row.TargetID)
	if err != nil {
		return messageRow{}, err
	}
	if !held {
		return messageRow{}, fmt.Errorf("target %s: %w", row.TargetID, ErrNotFound)
	}
	if row.Op != model.OpReact && !t.Own {
		return messageRow{}, fmt.Errorf("%s of another's message: %w", row.Op, ErrForbidden)
	}
	if t.Deleted {
		return messageRow{}, fmt.Errorf("target %s: %w", row.TargetID, ErrDeleted)
	}
	row.Seq, row.Own, row.Status, row.Error, row.Prev = 0, true, string(model.StatusSending), "", prevOf(t, row)
	if t.Seq == 0 && t.Outgoing == "" {
		t.Outgoing = snapshot(t) // it must still go out as typed, the update behind it
	}
	f, err := loadFolder(tx, []msgKey{t.key()})
	if err != nil {
		return messageRow{}, err
	}
	f.apply(&t, &row)
	row.Applied = true
	if err := writeFolded(tx, t); err != nil {
		return messageRow{}, err
	}
	if err := tx.Create(&row).Error; err != nil {
		return messageRow{}, fmt.Errorf("insert update: %w", err)
	}
	if err := tx.Create(&outboxRow{RoomID: row.RoomID, MessageID: row.ID, Kind: kindUpdate}).Error; err != nil {
		return messageRow{}, fmt.Errorf("insert outbox row: %w", err)
	}
	return t, nil
}

// UpdateStatus returns where an own update stands (sending, sent or failed, with the
// server's reason when failed); ok is false when the room holds no update with that id.
func (s *Store) UpdateStatus(roomID, id string) (status model.Status, reason string, ok bool, err error) {
	u, ok, err := getUpdate(s.db, roomID, id)
	if err != nil || !ok {
		return "", "", ok, err
	}
	if u.Status == "" && u.Seq > 0 {
		u.Status = string(model.StatusSent)
	}
	return model.Status(u.Status), u.Error, true, nil
}

// foldPending folds the held updates that wait for the given fresh messages (rows not
// inserted yet) into them, in seq order, and marks them applied.
func foldPending(tx *gorm.DB, fresh []messageRow) error {
	if len(fresh) == 0 {
		return nil
	}
	idx := make(map[msgKey]int, len(fresh))
	keys := make([]msgKey, len(fresh))
	for i, r := range fresh {
		idx[r.key()], keys[i] = i, r.key()
	}
	var pending []updateRow
	for room, ids := range groupByRoom(keys) {
		for chunk := range slices.Chunk(ids, batchSize) {
			var rows []updateRow
			err := tx.Where("room_id = ? AND target_id IN ? AND NOT applied AND seq > 0", room, chunk).Order("seq").Find(&rows).Error
			if err != nil {
				return fmt.Errorf("read pending updates of room %s: %w", room, err)
			}
			pending = append(pending, rows...)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	f := folder{last: map[foldKey]int64{}, since: map[reactKey]int64{}}
	pks := make([]int64, 0, len(pending))
	for i := range pending {
		u := &pending[i]
		f.apply(&fresh[idx[u.targetKey()]], u)
		pks = append(pks, u.PK)
	}
	for chunk := range slices.Chunk(pks, batchSize) {
		if err := tx.Model(&updateRow{}).Where("pk IN ?", chunk).Update("applied", true).Error; err != nil {
			return fmt.Errorf("mark updates applied: %w", err)
		}
	}
	for _, r := range fresh {
		if r.Deleted {
			if err := purgeEdits(tx, r.key()); err != nil {
				return err
			}
		}
	}
	return nil
}

// foldKey names what one update sets: a message's text (edit), its existence
// (delete), or one user's emoji on it (react).
type foldKey struct{ room, target, op, emoji, sender string }

func (u *updateRow) foldKey() foldKey {
	k := foldKey{room: u.RoomID, target: u.TargetID, op: u.Op}
	if u.Op == model.OpReact {
		k.emoji, k.sender = u.Emoji, u.SenderID
	}
	return k
}

// order is the update's place in the room's stream; an own pending update (no seq
// yet) is newer than everything held.
func (u *updateRow) order() int64 {
	if u.Seq == 0 {
		return pendingSince
	}
	return u.Seq
}

// folder applies updates to messages in memory, remembering the newest update folded
// for each foldKey so that an older one never overrides it, and where each reaction
// is listed (since).
type folder struct {
	last  map[foldKey]int64
	since map[reactKey]int64
}

// loadFolder reads the newest folded update of each foldKey of the targets, and the
// places of their reactions.
func loadFolder(tx *gorm.DB, targets []msgKey) (folder, error) {
	since, err := loadSince(tx, targets)
	if err != nil {
		return folder{}, err
	}
	f := folder{last: map[foldKey]int64{}, since: since}
	for room, ids := range groupByRoom(targets) {
		for chunk := range slices.Chunk(ids, batchSize) {
			var rows []struct {
				TargetID string `gorm:"column:target_id"`
				Op       string `gorm:"column:op"`
				Emoji    string `gorm:"column:emoji"`
				SenderID string `gorm:"column:sender_id"`
				Top      int64  `gorm:"column:top"`
			}
			err := tx.Raw(`SELECT target_id, op, emoji, sender_id,
				MAX(CASE WHEN seq = 0 THEN ? ELSE seq END) AS top
				FROM updates WHERE room_id = ? AND target_id IN ? AND applied
				GROUP BY target_id, op, emoji, sender_id`, int64(math.MaxInt64), room, chunk).Scan(&rows).Error
			if err != nil {
				return folder{}, fmt.Errorf("read folded updates of room %s: %w", room, err)
			}
			for _, r := range rows {
				u := updateRow{RoomID: room, TargetID: r.TargetID, Op: r.Op, Emoji: r.Emoji, SenderID: r.SenderID}
				f.last[u.foldKey()] = r.Top
			}
		}
	}
	return f, nil
}

// note records u as folded without applying it.
func (f folder) note(u *updateRow) {
	k := u.foldKey()
	f.last[k] = max(f.last[k], u.order())
}

// apply folds u into m and reports whether m changed.
func (f folder) apply(m *messageRow, u *updateRow) bool {
	k := u.foldKey()
	if u.Seq != 0 && f.last[k] >= u.order() {
		return false
	}
	f.last[k] = max(f.last[k], u.order())
	switch u.Op {
	case model.OpDelete:
		if m.Deleted {
			return false
		}
		// As on the server: a deleted message keeps no content, attachment or
		// reactions.
		m.Deleted, m.Content, m.Attachment, m.Reactions = true, "", "", ""
		return true
	case model.OpEdit:
		if m.Deleted {
			return false
		}
		m.Content, m.EditedMS = u.Content, max(u.TimeMS, 1)
		return true
	case model.OpReact:
		noteSince(f.since, u)
		if m.Deleted {
			return false
		}
		return placeReaction(m, f.since, u.Emoji, u.SenderID, u.On, false)
	}
	return false
}

// folded is the part of a message updates change, as kept in an update's prev.
type folded struct {
	Content    string `json:"content"`
	Attachment string `json:"attachment"`
	EditedMS   int64  `json:"editedMs"`
	Deleted    bool   `json:"deleted"`
	// Reacted (an own react's prev) says whether the user had that reaction before.
	Reacted *bool `json:"reacted,omitempty"`
	// Reactions (an own delete's prev) are the reactions the delete dropped.
	Reactions string `json:"reactions,omitempty"`
}

func snapshot(m messageRow) string {
	return encodeFolded(folded{Content: m.Content, Attachment: m.Attachment, EditedMS: m.EditedMS, Deleted: m.Deleted})
}

// prevOf is what an own update keeps to undo itself: the target's state before it,
// and for a react whether the user had that reaction.
func prevOf(m messageRow, u updateRow) string {
	p := folded{Content: m.Content, Attachment: m.Attachment, EditedMS: m.EditedMS, Deleted: m.Deleted}
	switch u.Op {
	case model.OpReact:
		had := slices.Contains(decodeReactions(m.Reactions)[u.Emoji], u.SenderID)
		p.Reacted = &had
	case model.OpDelete:
		p.Reactions = m.Reactions
	}
	return encodeFolded(p)
}

func encodeFolded(p folded) string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	return string(b)
}

func decodeFolded(s string) (folded, bool) {
	var p folded
	if s == "" || json.Unmarshal([]byte(s), &p) != nil {
		return folded{}, false
	}
	return p, true
}

// writeFolded writes the folded state of a held message.
func writeFolded(tx *gorm.DB, m messageRow) error {
	err := tx.Model(&messageRow{}).Where("room_id = ? AND id = ?", m.RoomID, m.ID).Updates(map[string]any{
		"content": m.Content, "attachment": m.Attachment, "edited_ms": m.EditedMS, "deleted": m.Deleted,
		"reactions": m.Reactions, "outgoing": m.Outgoing,
	}).Error
	if err != nil {
		return fmt.Errorf("fold into message %s: %w", m.ID, err)
	}
	return nil
}

// writeFoldedRows writes the folded state of held messages, insertRows a statement:
// one UPDATE ... FROM VALUES costs what one single-row UPDATE does to parse.
func writeFoldedRows(tx *gorm.DB, rows []messageRow) error {
	for chunk := range slices.Chunk(rows, insertRows) {
		var q strings.Builder
		q.WriteString("UPDATE messages SET content = v.column2, attachment = v.column3, edited_ms = v.column4, " +
			"deleted = v.column5, reactions = v.column6, outgoing = v.column7 FROM (VALUES ")
		args := make([]any, 0, 7*len(chunk))
		for i, m := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, m.PK, m.Content, m.Attachment, m.EditedMS, m.Deleted, m.Reactions, m.Outgoing)
		}
		q.WriteString(") AS v WHERE messages.pk = v.column1")
		if err := tx.Exec(q.String(), args...).Error; err != nil {
			return fmt.Errorf("fold into %d messages: %w", len(chunk), err)
		}
	}
	return nil
}

// confirmUpdate writes an own update the server acknowledged and takes it out of the outbox.
func confirmUpdate(tx *gorm.DB, r updateRow) error {
	err := tx.Model(&updateRow{}).Where("room_id = ? AND id = ?", r.RoomID, r.ID).Updates(map[string]any{
		"seq": r.Seq, "ts_ms": r.TimeMS, "status": r.Status, "error": "", "prev": "", "applied": r.Applied,
		"sender_name": r.SenderName,
	}).Error
	if err != nil {
		return fmt.Errorf("confirm update %s: %w", r.ID, err)
	}
	if err := tx.Where("room_id = ? AND message_id = ?", r.RoomID, r.ID).Delete(&outboxRow{}).Error; err != nil {
		return fmt.Errorf("remove update %s from outbox: %w", r.ID, err)
	}
	return nil
}

// purgeEdits drops the text of every edit kept for a deleted message, and the text an
// own pending delete kept to undo itself.
func purgeEdits(tx *gorm.DB, target msgKey) error {
	err := tx.Exec(`UPDATE updates SET content = CASE WHEN op = ? THEN '' ELSE content END, prev = ''
		WHERE room_id = ? AND target_id = ? AND (content <> '' OR prev <> '')`, model.OpEdit, target.room, target.id).Error
	if err != nil {
		return fmt.Errorf("purge edits of %s: %w", target.id, err)
	}
	return nil
}

func knownOp(op string) bool {
	return op == model.OpEdit || op == model.OpDelete || op == model.OpReact
}

func (u updateRow) key() msgKey       { return msgKey{u.RoomID, u.ID} }
func (u updateRow) targetKey() msgKey { return msgKey{u.RoomID, u.TargetID} }

func newUpdateRow(u model.Update) updateRow {
	return updateRow{ID: u.ID, RoomID: u.RoomID, Seq: u.Seq, SenderID: u.SenderID, SenderName: u.SenderName,
		TargetID: u.TargetID, Op: u.Op, Content: u.Content, Emoji: u.Emoji, On: u.On, TimeMS: toMS(u.Timestamp.Time)}
}

func (u updateRow) update() model.Update {
	return model.Update{ID: u.ID, RoomID: u.RoomID, Seq: u.Seq, SenderID: u.SenderID, SenderName: u.SenderName,
		TargetID: u.TargetID, Op: u.Op, Content: u.Content, Emoji: u.Emoji, On: u.On,
		Timestamp: model.Time{Time: fromMS(u.TimeMS)}}
}

func getUpdate(tx *gorm.DB, roomID, id string) (updateRow, bool, error) {
	var rows []updateRow
	if err := tx.Where("room_id = ? AND id = ?", roomID, id).Limit(1).Find(&rows).Error; err != nil {
		return updateRow{}, false, fmt.Errorf("read update %s: %w", id, err)
	}
	if len(rows) == 0 {
		return updateRow{}, false, nil
	}
	return rows[0], true, nil
}

// updatesByKey reads the held updates of the given keys.
func updatesByKey(tx *gorm.DB, keys []msgKey) (map[msgKey]updateRow, error) {
	held := make(map[msgKey]updateRow)
	for room, ids := range groupByRoom(keys) {
		for chunk := range slices.Chunk(ids, batchSize) {
			var rows []updateRow
			if err := tx.Where("room_id = ? AND id IN ?", room, chunk).Find(&rows).Error; err != nil {
				return nil, fmt.Errorf("read updates of room %s: %w", room, err)
			}
			for _, r := range rows {
				held[r.key()] = r
			}
		}
	}
	return held, nil
}
