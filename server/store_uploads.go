package server

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UploadRecord is a stored upload: the server's record of a file, not the client's.
type UploadRecord struct {
	ID          string
	UserID      string // the uploader
	Name        string // the client's file name, cleaned
	Size        int64
	MIME        string
	Width       int
	Height      int
	HasThumb    bool
	CreatedAtMs int64
	Sent        bool // a message carried it: the sweep keeps it
	Gone        bool // its last message was deleted: served to no one, swept at once
}

type uploadRow struct {
	ID          string `gorm:"primaryKey;size:64"`
	UserID      string `gorm:"size:64;not null;index:idx_uploads_user_at,priority:1"`
	Name        string `gorm:"size:256;not null"`
	Size        int64  `gorm:"not null"`
	MIME        string `gorm:"size:128;not null"`
	Width       int    `gorm:"not null"`
	Height      int    `gorm:"not null"`
	HasThumb    bool   `gorm:"not null"`
	CreatedAtMs int64  `gorm:"not null;index:idx_uploads_user_at,priority:2;index"`
	Sent        bool   `gorm:"not null"`
	Gone        bool   `gorm:"not null;default:false"`
}

func (uploadRow) TableName() string { return "uploads" }

// uploadRoomRow records a room in which a message carried an upload: its members may
// read it.
type uploadRoomRow struct {
	UploadID string `gorm:"primaryKey;size:64"`
	RoomID   string `gorm:"primaryKey;size:64"`
}

func (uploadRoomRow) TableName() string { return "upload_rooms" }

// uploadTables are the tables migrate creates for uploads.
var uploadTables = []any{&uploadRow{}, &uploadRoomRow{}, &blobChunkRow{}}

func (s *gormStore) CreateUpload(ctx context.Context, u UploadRecord) error {
	row := uploadRow(u)
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create upload %s: %w", u.ID, err)
	}
	return nil
}

func (s *gormStore) Upload(ctx context.Context, id string) (UploadRecord, error) {
	var row uploadRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return UploadRecord{}, fmt.Errorf("upload %s: %w", id, notFound(err))
	}
	return UploadRecord(row), nil
}

func (s *gormStore) UploadBytesSince(ctx context.Context, userID string, sinceMs int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&uploadRow{}).
		Where("user_id = ? AND created_at_ms >= ?", userID, sinceMs).
		Select("COALESCE(SUM(size), 0)").Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("upload bytes of %s: %w", userID, err)
	}
	return n, nil
}

func (s *gormStore) UploadSent(ctx context.Context, uploadID, roomID string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&uploadRow{}).Where("id = ? AND gone = ?", uploadID, false).Update("sent", true)
		if res.Error != nil {
			return fmt.Errorf("mark upload %s sent: %w", uploadID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("mark upload %s sent: %w", uploadID, ErrNotFound)
		}
		err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&uploadRoomRow{UploadID: uploadID, RoomID: roomID}).Error
		if err != nil {
			return fmt.Errorf("upload %s in room %s: %w", uploadID, roomID, err)
		}
		return nil
	})
}

func (s *gormStore) CanReadUpload(ctx context.Context, uploadID, userID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(
		`SELECT COUNT(*) FROM uploads u WHERE u.id = ? AND (u.user_id = ? OR EXISTS (
			SELECT 1 FROM upload_rooms ur JOIN members m ON m.room_id = ur.room_id
			WHERE ur.upload_id = u.id AND m.user_id = ?))`, uploadID, userID, userID).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("may %s read upload %s: %w", userID, uploadID, err)
	}
	return n > 0, nil
}

func (s *gormStore) SweepUploads(ctx context.Context, beforeMs int64, limit int) ([]UploadRecord, error) {
	var rows []uploadRow
	err := s.db.WithContext(ctx).Where("sent = ? AND (created_at_ms < ? OR gone = ?)", false, beforeMs, true).
		Order("created_at_ms").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find unsent uploads: %w", err)
	}
	gone := make([]UploadRecord, 0, len(rows))
	for _, r := range rows {
		// One by one and only while still unsent: a message may carry it meanwhile.
		res := s.db.WithContext(ctx).Model(&uploadRow{}).Where("id = ? AND sent = ?", r.ID, false).
			UpdateColumn("gone", true)
		if res.Error != nil {
			return gone, fmt.Errorf("mark upload %s gone: %w", r.ID, res.Error)
		}
		if res.RowsAffected == 1 {
			gone = append(gone, UploadRecord(r))
		}
	}
	return gone, nil
}

func (s *gormStore) ReleaseUpload(ctx context.Context, uploadID string) (bool, error) {
	released := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Only rooms it was sent in can hold a message that carries it.
		var n int64
		err := tx.Raw(`SELECT COUNT(*) FROM messages WHERE deleted = ? AND attachment LIKE ?
			AND room_id IN (SELECT room_id FROM upload_rooms WHERE upload_id = ?)`,
			false, `%"url":"`+uploadPrefix+uploadID+`"%`, uploadID).Scan(&n).Error
		if err != nil {
			return fmt.Errorf("messages carrying upload %s: %w", uploadID, err)
		}
		if n > 0 {
			return nil
		}
		res := tx.Model(&uploadRow{}).Where("id = ?", uploadID).UpdateColumns(map[string]any{"sent": false, "gone": true})
		if res.Error != nil {
			return fmt.Errorf("release upload %s: %w", uploadID, res.Error)
		}
		if err := tx.Where("upload_id = ?", uploadID).Delete(&uploadRoomRow{}).Error; err != nil {
			return fmt.Errorf("rooms of upload %s: %w", uploadID, err)
		}
		released = res.RowsAffected == 1
		return nil
	})
	return released, err
}

func (s *gormStore) DeleteUpload(ctx context.Context, uploadID string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("upload_id = ?", uploadID).Delete(&uploadRoomRow{}).Error; err != nil {
			return fmt.Errorf("rooms of upload %s: %w", uploadID, err)
		}
		if err := tx.Where("id = ?", uploadID).Delete(&uploadRow{}).Error; err != nil {
			return fmt.Errorf("delete upload %s: %w", uploadID, err)
		}
		return nil
	})
}
