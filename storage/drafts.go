package storage

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Draft returns the unsent composer text kept for a room ("" when none).
func (s *Store) Draft(roomID string) (string, error) {
	var text []string
	if err := s.db.Raw("SELECT text FROM drafts WHERE room_id = ?", roomID).Scan(&text).Error; err != nil {
		return "", fmt.Errorf("read draft of room %s: %w", roomID, err)
	}
	if len(text) == 0 {
		return "", nil
	}
	return text[0], nil
}

// SetDraft keeps text as the room's unsent composer text, across restarts; blank text
// drops the draft.
func (s *Store) SetDraft(roomID, text string) error {
	if roomID == "" {
		return fmt.Errorf("set draft: no room id: %w", ErrInvalid)
	}
	err := s.write(func(tx *gorm.DB) error {
		if strings.TrimSpace(text) == "" {
			return tx.Exec("DELETE FROM drafts WHERE room_id = ?", roomID).Error
		}
		return tx.Exec(`INSERT INTO drafts (room_id, text) VALUES (?, ?)
			ON CONFLICT (room_id) DO UPDATE SET text = excluded.text`, roomID, text).Error
	})
	if err != nil {
		return fmt.Errorf("set draft of room %s: %w", roomID, err)
	}
	return nil
}
