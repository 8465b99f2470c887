package storage

import (
	"fmt"

	"gorm.io/gorm"
)

// schemaVersion is kept in PRAGMA user_version.
const schemaVersion = 2

// migrations[v] brings a database at schema version v to v+1. A new database runs them
// all, so the path an upgraded profile takes is the path every test takes.
var migrations = [][]string{schemaV1, schemaV2}

// schemaV1 creates the tables of schema version 1.
//
// messages: seq is 0 while an own message is pending; local_order sorts the pending
// ones, hence the index on (room_id, seq, local_order). The partial index serves
// ApplyReceipt, which looks only at own messages not yet read.
var schemaV1 = []string{
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

// schemaV2 (protocol 1.1) keys messages on (room_id, id): ids are made by clients, so
// one id can turn up in two rooms, and keyed on id alone the second message was taken
// for a duplicate of the first and never shown (issue 13). pk is an integer key that
// VACUUM keeps, the rowid of the full-text index. Messages gain a reply target and the
// state updates fold into them; updates get their own table (the room's events that
// are not messages, kept for idempotence and for targets not held yet); the outbox
// holds messages and updates in one order; drafts keep unsent composer text.
var schemaV2 = []string{
	`CREATE TABLE messages_v2 (
		pk INTEGER PRIMARY KEY,
		id TEXT NOT NULL,
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
		error TEXT NOT NULL DEFAULT '',
		reply_to TEXT NOT NULL DEFAULT '',
		edited_ms INTEGER NOT NULL DEFAULT 0,
		deleted INTEGER NOT NULL DEFAULT 0,
		reactions TEXT NOT NULL DEFAULT '',
		outgoing TEXT NOT NULL DEFAULT '',
		upload_path TEXT,
		UNIQUE (room_id, id)
	)`,
	`INSERT INTO messages_v2 (id, room_id, seq, local_order, sender_id, sender_name, content, ts_ms, attachment, status, own, error, upload_path)
		SELECT id, room_id, seq, local_order, sender_id, sender_name, content, ts_ms, attachment, status, own, error, upload_path
		FROM messages ORDER BY room_id, seq, local_order`,
	`CREATE TABLE outbox_v2 (
		position INTEGER PRIMARY KEY AUTOINCREMENT,
		room_id TEXT NOT NULL,
		message_id TEXT NOT NULL,
		kind TEXT NOT NULL DEFAULT 'message',
		UNIQUE (room_id, message_id)
	)`,
	`INSERT INTO outbox_v2 (position, room_id, message_id) SELECT position, room_id, message_id FROM outbox ORDER BY position`,
	`DROP TABLE outbox`,
	`DROP TABLE messages`,
	`ALTER TABLE messages_v2 RENAME TO messages`,
	`ALTER TABLE outbox_v2 RENAME TO outbox`,
	`CREATE INDEX idx_messages_room_seq ON messages(room_id, seq, local_order)`,
	`CREATE INDEX idx_messages_unconfirmed ON messages(room_id, seq) WHERE status IN ('sent', 'delivered')`,
	`CREATE INDEX idx_messages_ts ON messages(ts_ms)`,
	`ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE rooms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0`,
	// updates: seq is 0 while an own update is pending; applied says it is folded into
	// its target (0: the target is not held yet); prev holds the target's state before
	// an own pending update was applied optimistically, to undo it if the server refuses.
	`CREATE TABLE updates (
		pk INTEGER PRIMARY KEY,
		id TEXT NOT NULL,
		room_id TEXT NOT NULL,
		seq INTEGER NOT NULL DEFAULT 0,
		sender_id TEXT NOT NULL DEFAULT '',
		sender_name TEXT NOT NULL DEFAULT '',
		target_id TEXT NOT NULL,
		op TEXT NOT NULL,
		content TEXT NOT NULL DEFAULT '',
		emoji TEXT NOT NULL DEFAULT '',
		react_on INTEGER NOT NULL DEFAULT 0,
		ts_ms INTEGER NOT NULL DEFAULT 0,
		applied INTEGER NOT NULL DEFAULT 0,
		own INTEGER NOT NULL DEFAULT 0,
		status TEXT NOT NULL DEFAULT '',
		error TEXT NOT NULL DEFAULT '',
		prev TEXT NOT NULL DEFAULT '',
		UNIQUE (room_id, id)
	)`,
	`CREATE INDEX idx_updates_target ON updates(room_id, target_id)`,
	`CREATE INDEX idx_updates_seq ON updates(room_id, seq)`,
	`CREATE TABLE drafts (
		room_id TEXT PRIMARY KEY,
		text TEXT NOT NULL DEFAULT ''
	)`,
	// Local search: a contentless FTS5 index of messages.content (and the room, as a
	// column to match on), kept in step by triggers so that every write path (Ingest,
	// folding, deletes, acks) keeps it. Its rowid is the message's search key,
	// ts_ms << 20 | pk's low 20 bits: newest first is rowid order, which FTS5 walks
	// without reading a row per match, so a word in a third of 100,000 messages still
	// answers in a few milliseconds.
	`CREATE VIRTUAL TABLE messages_fts USING fts5(content, room, content='', tokenize='unicode61 remove_diacritics 2')`,
	`INSERT INTO messages_fts(rowid, content, room) SELECT (ts_ms << 20) | (pk & 1048575), content, room_id FROM messages WHERE content <> ''`,
	`CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.content <> '' BEGIN
		INSERT INTO messages_fts(rowid, content, room) VALUES ((new.ts_ms << 20) | (new.pk & 1048575), new.content, new.room_id);
	END`,
	`CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.content <> '' BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, content, room) VALUES ('delete', (old.ts_ms << 20) | (old.pk & 1048575), old.content, old.room_id);
	END`,
	`CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, ts_ms ON messages
		WHEN old.content <> new.content OR old.ts_ms <> new.ts_ms BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, content, room)
			SELECT 'delete', (old.ts_ms << 20) | (old.pk & 1048575), old.content, old.room_id WHERE old.content <> '';
		INSERT INTO messages_fts(rowid, content, room)
			SELECT (new.ts_ms << 20) | (new.pk & 1048575), new.content, new.room_id WHERE new.content <> '';
	END`,
}

// migrate brings the database to schemaVersion, one version per transaction. Uploads
// added messages.upload_path to version 1 (migrateUploads) before version 2 existed:
// that step runs between the two, so that version 2 copies the column.
func (s *Store) migrate() error {
	if err := migrateTo(s.db, 1); err != nil {
		return err
	}
	if err := s.migrateUploads(); err != nil {
		return err
	}
	return migrateTo(s.db, schemaVersion)
}

// migrateTo brings the database to version target.
func migrateTo(db *gorm.DB, target int) error {
	var version int
	if err := db.Raw("PRAGMA user_version").Scan(&version).Error; err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this build knows (%d)", version, schemaVersion)
	}
	for v := version; v < target; v++ {
		err := db.Transaction(func(tx *gorm.DB) error {
			for _, stmt := range migrations[v] {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
				}
			}
			if err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)).Error; err != nil {
				return fmt.Errorf("set schema version %d: %w", v+1, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
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
	ID          string `gorm:"column:id;primaryKey"`
	Name        string `gorm:"column:name"`
	Public      bool   `gorm:"column:public"`
	Direct      bool   `gorm:"column:direct"`
	MemberIDs   string `gorm:"column:member_ids"`
	Epoch       string `gorm:"column:epoch"`
	LastSeq     int64  `gorm:"column:last_seq"`
	ReadSeq     int64  `gorm:"column:read_seq"`
	Described   bool   `gorm:"column:described"`
	Topic       string `gorm:"column:topic"`
	MemberCount int    `gorm:"column:member_count"`
}

func (roomRow) TableName() string { return "rooms" }

// messageRow is one row of messages. PK is SQLite's (read only here: it is assigned
// on insert and rows are addressed by (room_id, id)).
type messageRow struct {
	PK         int64  `gorm:"column:pk;->"`
	ID         string `gorm:"column:id"`
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
	ReplyTo    string `gorm:"column:reply_to"`
	EditedMS   int64  `gorm:"column:edited_ms"`
	Deleted    bool   `gorm:"column:deleted"`
	Reactions  string `gorm:"column:reactions"`
	// Outgoing is set on an own message still pending that an own update changed
	// already: what it was queued as (content and attachment), which is what must go
	// out, the update following it.
	Outgoing string `gorm:"column:outgoing"`
	// UploadPath is the local file an own message waits to upload (uploads.go); NULL
	// once uploaded, and for every other message.
	UploadPath *string `gorm:"column:upload_path"`
}

func (messageRow) TableName() string { return "messages" }

// Outbox kinds.
const (
	kindMessage = "message"
	kindUpdate  = "update"
)

type outboxRow struct {
	Position  int64  `gorm:"column:position;primaryKey;autoIncrement"`
	RoomID    string `gorm:"column:room_id"`
	MessageID string `gorm:"column:message_id"`
	Kind      string `gorm:"column:kind"`
}

func (outboxRow) TableName() string { return "outbox" }

type receiptRow struct {
	RoomID       string `gorm:"column:room_id;primaryKey"`
	UserID       string `gorm:"column:user_id;primaryKey"`
	DeliveredSeq int64  `gorm:"column:delivered_seq"`
	ReadSeq      int64  `gorm:"column:read_seq"`
}

func (receiptRow) TableName() string { return "receipts" }

// updateRow is one row of updates.
type updateRow struct {
	PK         int64  `gorm:"column:pk;->"`
	ID         string `gorm:"column:id"`
	RoomID     string `gorm:"column:room_id"`
	Seq        int64  `gorm:"column:seq"`
	SenderID   string `gorm:"column:sender_id"`
	SenderName string `gorm:"column:sender_name"`
	TargetID   string `gorm:"column:target_id"`
	Op         string `gorm:"column:op"`
	Content    string `gorm:"column:content"`
	Emoji      string `gorm:"column:emoji"`
	On         bool   `gorm:"column:react_on"`
	TimeMS     int64  `gorm:"column:ts_ms"`
	Applied    bool   `gorm:"column:applied"`
	Own        bool   `gorm:"column:own"`
	Status     string `gorm:"column:status"`
	Error      string `gorm:"column:error"`
	Prev       string `gorm:"column:prev"`
}

func (updateRow) TableName() string { return "updates" }
