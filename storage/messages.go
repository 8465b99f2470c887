package storage

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

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
	// UploadPath is the local file the message waits to upload before it is sent
	// (EnqueueUpload); "" once uploaded and for every other message. Attachment holds
	// its name and size meanwhile, with no URL.
	UploadPath string
}

// Pending reports whether the message waits for the server: it has no seq yet.
func (m Message) Pending() bool { return m.Seq == 0 }

// Latest returns the room's newest n messages with a seq, oldest first, followed by the
// room's own messages without a seq (sending or failed), in the order they were enqueued.
func (s *Store) Latest(roomID string, n int) ([]Message, error) {
	var rows []messageRow
	if n > 0 {
		if err := s.db.Where("room_id = ? AND seq > 0", roomID).Order("seq DESC").Limit(n).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("latest messages of room %s: %w", roomID, err)
		}
		slices.Reverse(rows)
	}
	var pending []messageRow
	if err := s.db.Where("room_id = ? AND seq = 0", roomID).Order("local_order").Find(&pending).Error; err != nil {
		return nil, fmt.Errorf("pending messages of room %s: %w", roomID, err)
	}
	return toMessages(append(rows, pending...)), nil
}

// Before returns the n messages of the room just before beforeSeq, oldest first: the
// page above what is shown. Pending messages are not included.
func (s *Store) Before(roomID string, beforeSeq int64, n int) ([]Message, error) {
	if n <= 0 || beforeSeq <= 1 {
		return nil, nil
	}
	var rows []messageRow
	if err := s.db.Where("room_id = ? AND seq > 0 AND seq < ?", roomID, beforeSeq).Order("seq DESC").Limit(n).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("messages of room %s before %d: %w", roomID, beforeSeq, err)
	}
	slices.Reverse(rows)
	return toMessages(rows), nil
}

// After returns the n messages of the room just after afterSeq, oldest first: the page
// below what is shown. Pending messages are not included (Latest has them).
func (s *Store) After(roomID string, afterSeq int64, n int) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	var rows []messageRow
	if err := s.db.Where("room_id = ? AND seq > ?", roomID, max(afterSeq, 0)).Order("seq").Limit(n).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("messages of room %s after %d: %w", roomID, afterSeq, err)
	}
	return toMessages(rows), nil
}

// Get returns one message of a room by id; false when it is not held.
func (s *Store) Get(roomID, id string) (Message, bool, error) {
	row, ok, err := getMessage(s.db, roomID, id)
	if err != nil || !ok {
		return Message{}, ok, err
	}
	return row.message(), true, nil
}

// Own returns the account's own message with that id; false when it is not held. Own
// ids are made by this client (UUIDv4), so one names one message in any room: this is
// how an `error` frame, which names only an id, finds its message.
func (s *Store) Own(id string) (Message, bool, error) {
	row, ok, err := getOwnMessage(s.db, id)
	if err != nil || !ok {
		return Message{}, ok, err
	}
	return row.message(), true, nil
}

// CountMessages returns how many messages of the room are held, pending ones included.
func (s *Store) CountMessages(roomID string) (int64, error) {
	var n int64
	if err := s.db.Model(&messageRow{}).Where("room_id = ?", roomID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count messages of room %s: %w", roomID, err)
	}
	return n, nil
}

// getMessage reads one message row by room and id.
func getMessage(db *gorm.DB, roomID, id string) (messageRow, bool, error) {
	var rows []messageRow
	if err := db.Where("room_id = ? AND id = ?", roomID, id).Limit(1).Find(&rows).Error; err != nil {
		return messageRow{}, false, fmt.Errorf("read message %s of room %s: %w", id, roomID, err)
	}
	if len(rows) == 0 {
		return messageRow{}, false, nil
	}
	return rows[0], true, nil
}

// msgKey names a message: ids are unique within a room only.
type msgKey struct{ room, id string }

func (r messageRow) key() msgKey { return msgKey{r.RoomID, r.ID} }

// messagesByKey reads the rows of the given messages, a room and a chunk at a time.
func messagesByKey(tx *gorm.DB, keys []msgKey) (map[msgKey]messageRow, error) {
	held := make(map[msgKey]messageRow)
	for room, ids := range groupByRoom(keys) {
		for chunk := range slices.Chunk(ids, batchSize) {
			var rows []messageRow
			if err := tx.Where("room_id = ? AND id IN ?", room, chunk).Find(&rows).Error; err != nil {
				return nil, fmt.Errorf("read messages of room %s by id: %w", room, err)
			}
			for _, r := range rows {
				held[r.key()] = r
			}
		}
	}
	return held, nil
}

// groupByRoom groups message keys by room, each room's ids in the order given.
func groupByRoom(keys []msgKey) map[string][]string {
	out := make(map[string][]string)
	for _, k := range keys {
		out[k.room] = append(out[k.room], k.id)
	}
	return out
}

// newRow converts a model message to a row (status, own and order left to the caller).
func newRow(m model.Message) messageRow {
	return messageRow{
		ID: m.ID, RoomID: m.RoomID, Seq: m.Seq, SenderID: m.SenderID, SenderName: m.SenderName,
		Content: m.Content, TimeMS: toMS(m.Timestamp.Time), Attachment: encodeAttachment(m.Attachment),
		ReplyTo: m.ReplyTo, EditedMS: toMS(m.EditedAt.Time), Deleted: m.Deleted, Reactions: encodeReactions(m.Reactions),
	}
}

// message converts a row to a Message.
func (r messageRow) message() Message {
	return Message{
		Message: model.Message{
			ID: r.ID, RoomID: r.RoomID, Seq: r.Seq, SenderID: r.SenderID, SenderName: r.SenderName,
			Content: r.Content, Timestamp: model.Time{Time: fromMS(r.TimeMS)}, Attachment: decodeAttachment(r.Attachment),
			ReplyTo: r.ReplyTo, EditedAt: model.Time{Time: fromMS(r.EditedMS)}, Deleted: r.Deleted,
			Reactions: decodeReactions(r.Reactions),
		},
		Status: model.Status(r.Status), Own: r.Own, Error: r.Error, LocalOrder: r.LocalOrder,
		UploadPath: derefString(r.UploadPath),
	}
}

func toMessages(rows []messageRow) []Message {
	if len(rows) == 0 {
		return nil
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out
}

// toMS stores a time as Unix milliseconds, the protocol's precision; 0 is the zero time.
func toMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func encodeAttachment(a *model.Attachment) string {
	if a == nil {
		return ""
	}
	b, err := json.Marshal(a)
	if err != nil {
		return ""
	}
	return string(b)
}

// decodeAttachment reads what encodeAttachment wrote; anything unreadable is no attachment.
func decodeAttachment(s string) *model.Attachment {
	if s == "" {
		return nil
	}
	var a model.Attachment
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil
	}
	return &a
}

// encodeReactions stores reactions as JSON; none is "".
func encodeReactions(r model.Reactions) string {
	if len(r) == 0 {
		return ""
	}
	b, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	return string(b)
}

// decodeReactions reads what encodeReactions wrote; anything unreadable is none.
func decodeReactions(s string) model.Reactions {
	if s == "" {
		return nil
	}
	var r model.Reactions
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil
	}
	return r
}
