package storage

import (
	"fmt"
	"path/filepath"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

// migrateUploads adds messages.upload_path (a nullable column) to a store made before
// uploads. It is its own step, not a schema version, so that it composes with
// whatever version the rest of the schema is at.
func (s *Store) migrateUploads() error {
	var n int64
	err := s.db.Raw(`SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'upload_path'`).Scan(&n).Error
	if err != nil {
		return fmt.Errorf("read messages columns: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := s.db.Exec(`ALTER TABLE messages ADD COLUMN upload_path TEXT`).Error; err != nil {
		return fmt.Errorf("add messages.upload_path: %w", err)
	}
	return nil
}

// EnqueueUpload is Enqueue for a message that carries the local file at path: it waits
// in the outbox (status sending) until Uploaded gives it the server's attachment.
// m.Attachment may hold what is known meanwhile (name, size, type) for display.
func (s *Store) EnqueueUpload(m model.Message, path string) (Message, error) {
	if path == "" {
		return Message{}, fmt.Errorf("enqueue upload: no file: %w", ErrInvalid)
	}
	return s.enqueue(m, path)
}

// PendingUploads returns the queued messages that still wait to upload their file,
// oldest first.
func (s *Store) PendingUploads() ([]Message, error) {
	var rows []messageRow
	err := s.db.Raw(`SELECT m.* FROM outbox o JOIN messages m ON m.room_id = o.room_id AND m.id = o.message_id
		WHERE o.kind = ? AND m.upload_path IS NOT NULL ORDER BY o.position`, kindMessage).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read pending uploads: %w", err)
	}
	return toMessages(rows), nil
}

// Uploaded stores the server's attachment for a message whose file is uploaded: the
// message no longer waits and is sent like any other. A message that is no longer
// sending (failed meanwhile) keeps its state and is answered as is, with false.
func (s *Store) Uploaded(id string, a model.Attachment) (Message, bool, error) {
	var (
		row   messageRow
		moved bool
	)
	err := s.write(func(tx *gorm.DB) error {
		r, held, err := getOwnMessage(tx, id)
		if err != nil {
			return err
		}
		if !held {
			return ErrNotFound
		}
		row = r
		if model.Status(row.Status) != model.StatusSending || row.UploadPath == nil {
			return nil
		}
		row.Attachment, row.UploadPath = encodeAttachment(&a), nil
		err = tx.Model(&messageRow{}).Where("pk = ?", row.PK).
			Updates(map[string]any{"attachment": row.Attachment, "upload_path": gorm.Expr("NULL")}).Error
		if err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		moved = true
		return nil
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("store upload of %s: %w", id, err)
	}
	return row.message(), moved, nil
}

// OutgoingDir is the profile's folder for copies of files being sent that have no
// path of their own (a mobile picker's stream): they outlive a restart like the outbox.
func (s *Store) OutgoingDir() string { return filepath.Join(s.dir, "outgoing") }

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
