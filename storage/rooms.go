package storage

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

// Room is a room as the store holds it, with the preview the rooms list shows.
type Room struct {
	ID        string
	Name      string // "" for a room known only from its messages, until UpsertRooms describes it
	Public    bool
	Direct    bool
	MemberIDs []string
	Epoch     string
	// Topic and MemberCount are protocol 1.1's.
	Topic       string
	MemberCount int
	// LastSeq is the highest seq the server told us exists (the max of the messages
	// held and of the room info).
	LastSeq int64
	// ReadSeq is our own read mark.
	ReadSeq int64
	// Preview, PreviewSender, PreviewSenderID, PreviewOwn and PreviewAt describe the
	// room's newest message (a pending own one when there is one): its text (or
	// "📎 name" for an attachment without text), its sender's display name and user id,
	// whether it is the account user's own, and its time. Empty for a room without messages.
	Preview         string
	PreviewSender   string
	PreviewSenderID string
	PreviewOwn      bool
	PreviewAt       time.Time

	// updatesUnread counts the updates held above ReadSeq: they take seqs but are no
	// messages, so they never make a room unread.
	updatesUnread int64
}

// Unread returns how many messages are not read yet: the seqs above ReadSeq up to
// LastSeq, less those the store holds as updates.
func (r Room) Unread() int64 {
	return max(0, r.LastSeq-r.ReadSeq-r.updatesUnread)
}

// UpsertRooms inserts or updates rooms in one transaction. LastSeq only moves forward.
// A room whose epoch changed is cleared (its messages with a seq and its receipts are
// dropped; own pending and failed messages are kept) and its id returned in reset: the
// caller syncs it again from 0. The read mark takes the server's figures (LastSeq-Unread)
// when they are ahead of the stored one: a room read on another device heals here.
func (s *Store) UpsertRooms(rooms []model.Room) (reset []string, err error) {
	err = s.write(func(tx *gorm.DB) error {
		for _, r := range rooms {
			if r.ID == "" {
				continue
			}
			wasReset, err := upsertRoom(tx, r)
			if err != nil {
				return fmt.Errorf("room %s: %w", r.ID, err)
			}
			if wasReset {
				reset = append(reset, r.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("upsert rooms: %w", err)
	}
	return reset, nil
}

// upsertRoom writes one room's description and reports whether its epoch changed.
func upsertRoom(tx *gorm.DB, r model.Room) (bool, error) {
	members, err := json.Marshal(r.MemberIDs)
	if err != nil || r.MemberIDs == nil {
		members = []byte("[]")
	}
	serverRead := max(0, r.LastSeq-max(r.Unread, 0))
	var held []roomRow
	if err := tx.Where("id = ?", r.ID).Limit(1).Find(&held).Error; err != nil {
		return false, err
	}
	row := roomRow{ID: r.ID, Name: r.Name, Public: r.Public, Direct: r.Direct, MemberIDs: string(members),
		Epoch: r.Epoch, LastSeq: max(r.LastSeq, 0), ReadSeq: serverRead, Described: true,
		Topic: r.Topic, MemberCount: r.MemberCount}
	if len(held) == 0 {
		return false, tx.Create(&row).Error
	}
	h := held[0]
	changed := h.Epoch != "" && r.Epoch != "" && h.Epoch != r.Epoch
	switch {
	case changed:
		if err := tx.Exec("DELETE FROM messages WHERE room_id = ? AND seq > 0", r.ID).Error; err != nil {
			return false, fmt.Errorf("clear messages: %w", err)
		}
		if err := tx.Exec("DELETE FROM receipts WHERE room_id = ?", r.ID).Error; err != nil {
			return false, fmt.Errorf("clear receipts: %w", err)
		}
		if err := tx.Exec("DELETE FROM updates WHERE room_id = ? AND seq > 0", r.ID).Error; err != nil {
			return false, fmt.Errorf("clear updates: %w", err)
		}
	case !h.Described:
		// Known only from its messages so far: keep what they told, take the server's read mark.
		row.LastSeq = max(row.LastSeq, h.LastSeq)
		row.ReadSeq = max(row.ReadSeq, h.ReadSeq)
	default:
		// The server's figure heals a mark that moved on another device (read there);
		// ours, when ahead, has not reached the server yet.
		row.LastSeq = max(row.LastSeq, h.LastSeq)
		row.ReadSeq = max(row.ReadSeq, h.ReadSeq)
	}
	if row.Epoch == "" {
		row.Epoch = h.Epoch
	}
	return changed, tx.Select("*").Save(&row).Error
}

// roomWithPreview is a room row joined with its newest message. (Row is a named field:
// gorm does not fill unexported embedded structs.)
type roomWithPreview struct {
	Row               roomRow `gorm:"embedded"`
	PreviewContent    *string `gorm:"column:p_content"`
	PreviewAttachment *string `gorm:"column:p_attachment"`
	PreviewSender     *string `gorm:"column:p_sender"`
	PreviewSenderID   *string `gorm:"column:p_sender_id"`
	PreviewOwn        *bool   `gorm:"column:p_own"`
	PreviewMS         *int64  `gorm:"column:p_ts"`
	UpdatesUnread     int64   `gorm:"column:updates_unread"`
}

// roomsQuery selects rooms with their newest message: the newest pending one if any,
// else the one with the highest seq. Each sub-select is one lookup in idx_messages_room_seq.
const roomsQuery = `SELECT r.*, p.content AS p_content, p.attachment AS p_attachment,
	p.sender_name AS p_sender, p.sender_id AS p_sender_id, p.own AS p_own, p.ts_ms AS p_ts,
	(SELECT COUNT(*) FROM updates u WHERE u.room_id = r.id AND u.seq > r.read_seq) AS updates_unread
FROM rooms r LEFT JOIN messages p ON p.pk = COALESCE(
	(SELECT pk FROM messages WHERE room_id = r.id AND seq = 0 ORDER BY local_order DESC LIMIT 1),
	(SELECT pk FROM messages WHERE room_id = r.id AND seq > 0 ORDER BY seq DESC LIMIT 1))`

// Rooms returns every room, the room with the latest activity (newest message) first;
// rooms without messages follow, by name.
func (s *Store) Rooms() ([]Room, error) {
	var rows []roomWithPreview
	err := s.db.Raw(roomsQuery + " ORDER BY p.id IS NULL, p.ts_ms DESC, r.name, r.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read rooms: %w", err)
	}
	out := make([]Room, len(rows))
	for i, r := range rows {
		out[i] = r.room()
	}
	return out, nil
}

// Room returns one room; false when it is not held.
func (s *Store) Room(id string) (Room, bool, error) {
	var rows []roomWithPreview
	if err := s.db.Raw(roomsQuery+" WHERE r.id = ?", id).Scan(&rows).Error; err != nil {
		return Room{}, false, fmt.Errorf("read room %s: %w", id, err)
	}
	if len(rows) == 0 {
		return Room{}, false, nil
	}
	return rows[0].room(), true, nil
}

func (r roomWithPreview) room() Room {
	var members []string
	if err := json.Unmarshal([]byte(r.Row.MemberIDs), &members); err != nil {
		members = nil
	}
	room := Room{ID: r.Row.ID, Name: r.Row.Name, Public: r.Row.Public, Direct: r.Row.Direct, MemberIDs: members,
		Epoch: r.Row.Epoch, LastSeq: r.Row.LastSeq, ReadSeq: r.Row.ReadSeq, Topic: r.Row.Topic,
		MemberCount: r.Row.MemberCount, updatesUnread: r.UpdatesUnread}
	if r.PreviewContent != nil {
		room.Preview = *r.PreviewContent
		if room.Preview == "" && r.PreviewAttachment != nil {
			if a := decodeAttachment(*r.PreviewAttachment); a != nil {
				room.Preview = attachmentPreview(a)
			}
		}
	}
	if r.PreviewSender != nil {
		room.PreviewSender = *r.PreviewSender
	}
	if r.PreviewSenderID != nil {
		room.PreviewSenderID = *r.PreviewSenderID
	}
	if r.PreviewOwn != nil {
		room.PreviewOwn = *r.PreviewOwn
	}
	if r.PreviewMS != nil {
		room.PreviewAt = fromMS(*r.PreviewMS)
	}
	return room
}

// SyncCursor returns the highest seq held for the room, message or update (0 when
// none): the afterSeq of the next `sync`.
func (s *Store) SyncCursor(roomID string) (int64, error) {
	var seq int64
	err := s.db.Raw(`SELECT MAX(COALESCE((SELECT MAX(seq) FROM messages WHERE room_id = ?), 0),
		COALESCE((SELECT MAX(seq) FROM updates WHERE room_id = ?), 0))`, roomID, roomID).Scan(&seq).Error
	if err != nil {
		return 0, fmt.Errorf("sync cursor of room %s: %w", roomID, err)
	}
	return seq, nil
}

// SetReadSeq moves the room's read mark forward to seq; it reports whether it moved
// (false for a lower or equal seq, or an unknown room).
func (s *Store) SetReadSeq(roomID string, seq int64) (bool, error) {
	var moved bool
	err := s.write(func(tx *gorm.DB) error {
		res := tx.Model(&roomRow{}).Where("id = ? AND read_seq < ?", roomID, seq).Update("read_seq", seq)
		moved = res.RowsAffected > 0
		return res.Error
	})
	if err != nil {
		return false, fmt.Errorf("set read seq of room %s: %w", roomID, err)
	}
	return moved, nil
}

// SetLastSeq moves the room's LastSeq forward to seq (a `synced` frame's seq, say).
// An unknown room is added with only its id, to be filled in by UpsertRooms.
func (s *Store) SetLastSeq(roomID string, seq int64) error {
	if roomID == "" {
		return fmt.Errorf("set last seq: no room id: %w", ErrInvalid)
	}
	err := s.write(func(tx *gorm.DB) error { return raiseLastSeq(tx, roomID, seq) })
	if err != nil {
		return fmt.Errorf("set last seq of room %s: %w", roomID, err)
	}
	return nil
}

// raiseLastSeq adds the room if needed and moves its LastSeq forward to seq.
func raiseLastSeq(tx *gorm.DB, roomID string, seq int64) error {
	return tx.Exec(`INSERT INTO rooms (id, last_seq) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)`, roomID, max(seq, 0)).Error
}

// ContiguousSeq returns the highest seq h ≥ afterSeq such that the store holds every
// event of the room (message or update) with a seq in (afterSeq, h]: afterSeq itself
// when afterSeq+1 is missing. After a `synced` frame with more=true,
// ContiguousSeq(room, lastAfterSeq) is a safe afterSeq for the next `sync` even when
// live messages with higher seqs arrived during the replay (SyncCursor, the highest seq
// held, would skip the gap below them). It walks the run of held seqs, so keep afterSeq
// near the end of the run.
func (s *Store) ContiguousSeq(roomID string, afterSeq int64) (int64, error) {
	afterSeq = max(afterSeq, 0)
	var end []int64
	var updates []int64
	if err := s.db.Raw("SELECT 1 FROM updates WHERE room_id = ? AND seq > ? LIMIT 1", roomID, afterSeq).Scan(&updates).Error; err != nil {
		return 0, fmt.Errorf("contiguous seq of room %s after %d: %w", roomID, afterSeq, err)
	}
	if len(updates) == 0 {
		// Messages only (most rooms, most of the time): walk idx_messages_room_seq.
		err := s.db.Raw(`SELECT m.seq FROM messages m
			WHERE m.room_id = ? AND m.seq > ? AND m.seq >= (
				SELECT seq FROM messages WHERE room_id = ? AND seq = ? LIMIT 1)
			AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.room_id = m.room_id AND n.seq = m.seq + 1)
			ORDER BY m.seq LIMIT 1`, roomID, afterSeq, roomID, afterSeq+1).Scan(&end).Error
		if err != nil {
			return 0, fmt.Errorf("contiguous seq of room %s after %d: %w", roomID, afterSeq, err)
		}
		if len(end) == 0 {
			return afterSeq, nil
		}
		return end[0], nil
	}
	err := s.db.Raw(`WITH held(seq) AS (
			SELECT seq FROM messages WHERE room_id = @room AND seq > @after
			UNION SELECT seq FROM updates WHERE room_id = @room AND seq > @after)
		SELECT h.seq FROM held h
		WHERE EXISTS (SELECT 1 FROM held WHERE seq = @after + 1)
		AND NOT EXISTS (SELECT 1 FROM held n WHERE n.seq = h.seq + 1)
		ORDER BY h.seq LIMIT 1`, map[string]any{"room": roomID, "after": afterSeq}).Scan(&end).Error
	if err != nil {
		return 0, fmt.Errorf("contiguous seq of room %s after %d: %w", roomID, afterSeq, err)
	}
	if len(end) == 0 {
		return afterSeq, nil
	}
	return end[0], nil
}

// DropRoom forgets a room the user left or was removed from: its messages (own unsent
// ones too: the server would refuse them), updates, outbox rows, receipts and draft.
func (s *Store) DropRoom(roomID string) error {
	err := s.write(func(tx *gorm.DB) error {
		for _, table := range []string{"outbox", "updates", "messages", "receipts", "drafts"} {
			if err := tx.Exec("DELETE FROM "+table+" WHERE room_id = ?", roomID).Error; err != nil {
				return fmt.Errorf("clear %s: %w", table, err)
			}
		}
		return tx.Exec("DELETE FROM rooms WHERE id = ?", roomID).Error
	})
	if err != nil {
		return fmt.Errorf("drop room %s: %w", roomID, err)
	}
	return nil
}

// attachmentPreview is the rooms list's line for a message that is only a file: a
// picture (one the server made a thumbnail of) is a photo, anything else is named.
func attachmentPreview(a *model.Attachment) string {
	if a.ThumbURL != "" && strings.HasPrefix(a.MIME, "image/") {
		return "📷 Photo"
	}
	return "📎 " + a.Name
}
