package server

import (
	"context"
	"fmt"
)

// LeadingMarks answers a room's marks that a syncing client needs: userID's own, and
// with others the furthest delivered and the furthest read mark among the other
// members (each from one member; at most three marks, and none that is still zero).
// The others' cost a scan of the room's members (no index orders the marks).
func (s *gormStore) LeadingMarks(ctx context.Context, roomID, userID string, others bool) ([]Mark, error) {
	db := s.db.WithContext(ctx)
	var rows []memberRow
	if err := db.Where("room_id = ? AND user_id = ?", roomID, userID).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("own mark in room %s: %w", roomID, err)
	}
	for _, col := range []string{"read_seq", "delivered_seq"} {
		if !others {
			break
		}
		var top []memberRow
		err := db.Where("room_id = ? AND user_id <> ? AND "+col+" > 0", roomID, userID).
			Order(col + " DESC").Limit(1).Find(&top).Error
		if err != nil {
			return nil, fmt.Errorf("leading %s in room %s: %w", col, roomID, err)
		}
		rows = append(rows, top...)
	}
	out := make([]Mark, 0, len(rows))
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if seen[r.UserID] || (r.DeliveredSeq == 0 && r.ReadSeq == 0) {
			continue
		}
		seen[r.UserID] = true
		out = append(out, Mark{RoomID: r.RoomID, UserID: r.UserID, DeliveredSeq: max(r.DeliveredSeq, r.ReadSeq), ReadSeq: r.ReadSeq})
	}
	return out, nil
}

// ownUnreadScan bounds how far past a read mark OwnUnread looks for own messages: a
// room whose read mark is further behind than this is unread enough that the exact
// figure does not matter, and the scan stays short at every connect.
const ownUnreadScan = 1000

// OwnUnread answers, per room of userID, how many of the user's own messages lie
// beyond the user's read mark (up to ownUnreadScan seqs past it): the part of
// LastSeq-ReadSeq that is not unread (an own message never is). Rooms with none are
// left out.
func (s *gormStore) OwnUnread(ctx context.Context, userID string) (map[string]int64, error) {
	var rows []struct {
		RoomID string
		N      int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT m.room_id AS room_id, COUNT(*) AS n
		FROM members mb JOIN messages m ON m.room_id = mb.room_id AND m.seq > mb.read_seq AND m.seq <= mb.read_seq + ?
		WHERE mb.user_id = ? AND m.sender_id = ? GROUP BY m.room_id`, ownUnreadScan, userID, userID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("own unread of %s: %w", userID, err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.RoomID] = r.N
	}
	return out, nil
}
