package storage

import (
	"fmt"

	"gorm.io/gorm"
)

// schemaVersion is kept in PRAGMA user_version.
const schemaVersion = 1

// schema creates the tables of schemaVersion 1.
//
// messages: seq is 0 while an own message is pending; local_order sorts the pending
// ones, hence the index on (room_id, seq, local_order). The partial index serves
// ApplyReceipt, which looks only at own messages not yet read.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS account (
		id INTEGER PRIMARY KEY,
		server_url TEXT NOT NULL DEFAULT '',
		user_id TEXT NOT NULL DEFAULT '',
		username TEXT NOT NULL DEFAULT '',
		display_name TEXT NOT NULL DEFAULT '',
		refresh_token TEXT NOT NULL DEFAULT '',
		signed_in INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE IF NOT EXISTS rooms (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL DEFAULT '',
		public INTEGER NOT NULL DEFAULT 0,
		direct INTEGER NOT NULL DEFAULT 0,
		member_ids TEXT NOT NULL DEFAULT '[]',
		epoch TEXT NOT NULL DEFAULT '',
		last_seq INTEGER NOT NULL DEFAULT 0,
		read_seq INTEGER NOT NULL DEFAULT 0,
		described INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE IF NOT EXISTS messages (
		id TEXT PRIMARY KEY,
		room_id TEXT NOT NULL,
		seq INTEGER NOT NULL DEFAULT 0,
		local_order INTEGER NOT NULL,
		sender_id TEXT NOT NULL DEFAULT '',
		sender_name TEXT NOT NULL DEFAULT '',
		content TEXT NOT NULL DEFAULT '',
		ts_ms INTEGER NOT NULL DEFAULT 0,
		attachment TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL DEFAULT '',
		own INTEGER NOT NULL DEFAULT 0,
		error TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS idx_messages_room_seq ON messages(room_id, seq, local_order)`,
	`CREATE INDEX IF NOT EXISTS idx_messages_unconfirmed ON messages(room_id, seq) WHERE status IN ('sent', 'delivered')`,
	`CREATE TABLE IF NOT EXISTS outbox (
		position INTEGER PRIMARY KEY AUTOINCREMENT,
		message_id TEXT NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
		room_id TEXT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS receipts (
		room_id TEXT NOT NULL,
		user_id TEXT NOT NULL,
		delivered_seq INTEGER NOT NULL DEFAULT 0,
		read_seq INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (room_id, user_id)
	)`,
}

// migrate brings the database to schemaVersion.
func (s *Store) migrate() error {
	var version int
	if err := s.db.Raw("PRAGMA user_version").Scan(&version).Error; err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this build knows (%d)", version, schemaVersion)
	}
	if version == schemaVersion {
		return nil
	}
	return s.db.Transaction(func(tx *gorm.DB) error {
		for _, stmt := range schema {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
		if err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)).Error; err != nil {
			return fmt.Errorf("set schema version: %w", err)
		}
		return nil
	})
}

// accountID is the primary key of the account table's only row.
const accountID = 1

type accountRow struct {
	ID           int    `gorm:"column:id;primaryKey"`
	ServerURL    string `gorm:"column:server_url"`
	UserID       string `gorm:"column:user_id"`
	Username     string `gorm:"column:username"`
	DisplayName  string `gorm:"column:display_name"`
	RefreshToken string `gorm:"column:refresh_token"`
	SignedIn     bool   `gorm:"column:signed_in"`
}

func (accountRow) TableName() string { return "account" }

type roomRow struct {
	ID        string `gorm:"column:id;primaryKey"`
	Name      string `gorm:"column:name"`
	Public    bool   `gorm:"column:public"`
	Direct    bool   `gorm:"column:direct"`
	MemberIDs string `gorm:"column:member_ids"`
	Epoch     string `gorm:"column:epoch"`
	LastSeq   int64  `gorm:"column:last_seq"`
	ReadSeq   int64  `gorm:"column:read_seq"`
	Described bool   `gorm:"column:described"`
}

func (roomRow) TableName() string { return "rooms" }

type messageRow struct {
	ID         string `gorm:"column:id;primaryKey"`
	RoomID     string `gorm:"column:room_id"`
	Seq        int64  `gorm:"column:seq"`
	LocalOrder int64  `gorm:"column:local_order"`
	SenderID   string `gorm:"column:sender_id"`
	SenderName string `gorm:"column:sender_name"`
	Content    string `gorm:"column:content"`
	TimeMS     int64  `gorm:"column:ts_ms"`
	Attachment string `gorm:"column:attachment"`
	Status     string `gorm:"column:status"`
	Own        bool   `gorm:"column:own"`
	Error      string `gorm:"column:error"`
	// UploadPath is the local file an own message waits to upload (uploads.go); NULL
	// once uploaded, and for every other message.
	UploadPath *string `gorm:"column:upload_path"`
}

func (messageRow) TableName() string { return "messages" }

type outboxRow struct {
	Position  int64  `gorm:"column:position;primaryKey;autoIncrement"`
	MessageID string `gorm:"column:message_id"`
	RoomID    string `gorm:"column:room_id"`
}

func (outboxRow) TableName() string { return "outbox" }

type receiptRow struct {
	RoomID       string `gorm:"column:room_id;primaryKey"`
	UserID       string `gorm:"column:user_id;primaryKey"`
	DeliveredSeq int64  `gorm:"column:delivered_seq"`
	ReadSeq      int64  `gorm:"column:read_seq"`
}

func (receiptRow) TableName() string { return "receipts" }
