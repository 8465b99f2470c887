package server

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/parleychat/parley/model"
)

// Search runs on the database's full-text index, never a scan of the messages: on
// SQLite an external-content FTS5 table over messages.content, kept in step by
// triggers inside the writing transaction (so an edit or a delete leaves the index
// when it commits); on PostgreSQL a GIN index on a stored tsvector of the content (the
// simple configuration: words as written, case-folded, no stemming, like FTS5's
// unicode61).

// sqliteSearchDDL creates the FTS5 index and the triggers that keep it in step. The
// index holds the messages' rowids; it is rebuilt when it is created over stored
// messages (an upgrade).
var sqliteSearchDDL = []string{
	`CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='rowid')`,
	`CREATE TRIGGER IF NOT EXISTS messages_fts_ai AFTER INSERT ON messages BEGIN
		INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END`,
	`CREATE TRIGGER IF NOT EXISTS messages_fts_ad AFTER DELETE ON messages BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content); END`,
	`CREATE TRIGGER IF NOT EXISTS messages_fts_au AFTER UPDATE OF content ON messages BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
		INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END`,
	`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`,
}

// pgSearchDDL is the PostgreSQL index: a stored tsvector column with a GIN index, and
// an index on the time. With both the planner can take either way to the newest
// matches: the GIN index's matches sorted (a rare word), or the newest messages walked
// until the limit is met (a common word, 340 ms at 1,000,000 messages the other way).
// The column is stored so that the walk tests each row without parsing its text again.
var pgSearchDDL = []string{
	`ALTER TABLE messages ADD COLUMN IF NOT EXISTS search tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED`,
	`CREATE INDEX IF NOT EXISTS idx_messages_search ON messages USING GIN (search)`,
	`CREATE INDEX IF NOT EXISTS idx_messages_at ON messages (at_ms)`,
}

// migrateSearch creates the search index if it is missing.
func migrateSearch(db *gorm.DB) error {
	if isPostgres(db) {
		for _, q := range pgSearchDDL {
			if err := db.Exec(q).Error; err != nil {
				return fmt.Errorf("create search index: %w", err)
			}
		}
		return nil
	}
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_fts'`).Scan(&n).Error; err != nil {
		return fmt.Errorf("find search index: %w", err)
	}
	if n > 0 {
		return nil
	}
	return db.Transaction(func(tx *gorm.DB) error {
		for _, q := range sqliteSearchDDL {
			if err := tx.Exec(q).Error; err != nil {
				return fmt.Errorf("create search index: %w", err)
			}
		}
		return nil
	})
}

// searchWords splits a query into its words as the index sees them: runs of letters
// and digits. At most 16 words count.
func searchWords(q string) []string {
	w := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	return w[:min(len(w), 16)]
}

func (s *gormStore) SearchMessages(ctx context.Context, userID, roomID, query string, limit int) ([]model.Message, error) {
	words := searchWords(query)
	if len(words) == 0 {
		return []model.Message{}, nil
	}
	db := s.db.WithContext(ctx)
	var rows []messageRow
	var err error
	if isPostgres(db) {
		rows, err = pgSearch(db, userID, roomID, strings.Join(words, " "), limit)
	} else {
		// Every word a phrase of its own ("..." with quotes doubled): implicit AND,
		// and nothing of the query is FTS5 syntax. The newest rowids come first, and
		// FTS5 walks its index backwards for ORDER BY rowid DESC, so a LIMIT stops it.
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		}
		scope, arg := "m.room_id IN (SELECT room_id FROM members WHERE user_id = ?)", userID
		if roomID != "" {
			scope, arg = "m.room_id = ?", roomID
		}
		err = db.Raw(`SELECT m.* FROM messages_fts f CROSS JOIN messages m ON m.rowid = f.rowid
			WHERE messages_fts MATCH ? AND `+scope+` AND m.deleted = ?
			ORDER BY f.rowid DESC LIMIT ?`, strings.Join(quoted, " "), arg, false, limit).Scan(&rows).Error
	}
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	out := make([]model.Message, len(rows))
	byRoom := make(map[string][]int)
	for i, r := range rows {
		out[i] = toMessage(r)
		byRoom[r.RoomID] = append(byRoom[r.RoomID], i)
	}
	for room, idx := range byRoom {
		part := make([]model.Message, len(idx))
		for k, i := range idx {
			part[k] = out[i]
		}
		if err := foldReactions(db, room, part); err != nil {
			return nil, err
		}
		for k, i := range idx {
			out[i] = part[k]
		}
	}
	return out, nil
}

// pgSearch is SearchMessages's query on PostgreSQL: newest first along an index, a
// room's seqs or every room's times. Which way is fast depends on the words: for a
// common word, walking the newest messages until the limit is met (a few hundred
// rows); for a rare one, its few matches from the GIN index, sorted. The planner
// judges that well from the words' statistics when it sees them and the rooms, so:
//   - the caller's rooms are read first and passed as an array: joined to members,
//     the planner guessed one room and took a common word's matches room by room
//     (1 to 2 s at 1,000,000 messages);
//   - the query runs in pgx's exec mode (no prepared statement), so each is planned
//     with its own words: a prepared statement's generic plan, which PostgreSQL
//     tries from its sixth run, cannot tell a rare word from a common one (3.3 s at
//     p99 for a common word).
func pgSearch(db *gorm.DB, userID, roomID, words string, limit int) ([]messageRow, error) {
	const match = `SELECT ` + pgMessageColumns + ` FROM messages
		WHERE search @@ plainto_tsquery('simple', $1) AND NOT deleted AND `
	var rows *sql.Rows
	var err error
	if roomID != "" {
		rows, err = db.Statement.ConnPool.QueryContext(db.Statement.Context,
			match+`room_id = $2 ORDER BY seq DESC LIMIT $3`, pgx.QueryExecModeExec, words, roomID, limit)
	} else {
		var rooms []string
		if err := db.Model(&memberRow{}).Where("user_id = ?", userID).Pluck("room_id", &rooms).Error; err != nil {
			return nil, fmt.Errorf("rooms of %s: %w", userID, err)
		}
		if len(rooms) == 0 {
			return nil, nil
		}
		rows, err = db.Statement.ConnPool.QueryContext(db.Statement.Context,
			match+`room_id = ANY($2::text[]) ORDER BY at_ms DESC, seq DESC LIMIT $3`, pgx.QueryExecModeExec, words, rooms, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []messageRow
	for rows.Next() {
		r, err := scanMessageRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
