package server

import (
	"context"
	"fmt"
	"strings"
)

func (s *gormStore) UpdateRoom(ctx context.Context, roomID string, name, topic *string) (RoomRecord, error) {
	cols := make(map[string]any, 2)
	if name != nil {
		cols["name"] = *name
	}
	if topic != nil {
		cols["topic"] = *topic
	}
	if len(cols) > 0 {
		res := s.db.WithContext(ctx).Model(&roomRow{}).Where("id = ?", roomID).UpdateColumns(cols)
		if res.Error != nil {
			return RoomRecord{}, fmt.Errorf("update room %s: %w", roomID, res.Error)
		}
	}
	return s.Room(ctx, roomID)
}

func (s *gormStore) RemoveMember(ctx context.Context, roomID, userID string) (bool, error) {
	res := s.db.WithContext(ctx).Where("room_id = ? AND user_id = ?", roomID, userID).Delete(&memberRow{})
	if res.Error != nil {
		return false, fmt.Errorf("remove %s from room %s: %w", userID, roomID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// PublicRooms finds a room's last activity through the (room_id, seq) index: the
// room's last message, not a scan of its messages. LOWER folds ASCII only on SQLite.
func (s *gormStore) PublicRooms(ctx context.Context, query string, limit int) ([]PublicRoomRecord, error) {
	pat := "%" + likeEscaper.Replace(strings.ToLower(strings.TrimSpace(query))) + "%"
	var rows []PublicRoomRecord
	err := s.db.WithContext(ctx).Raw(`SELECT r.id AS id, r.name AS name, r.topic AS topic,
		(SELECT COUNT(*) FROM members mb WHERE mb.room_id = r.id) AS member_count,
		COALESCE((SELECT m.at_ms FROM messages m WHERE m.room_id = r.id ORDER BY m.seq DESC LIMIT 1), r.created_at_ms) AS last_activity_ms
		FROM rooms r WHERE r.public = ? AND r.direct = ? AND LOWER(r.name) LIKE ? ESCAPE '\'
		ORDER BY last_activity_ms DESC, r.id LIMIT ?`, true, false, pat, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("public rooms: %w", err)
	}
	return rows, nil
}
