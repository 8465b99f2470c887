package server

import (
	"database/sql"
	"fmt"
	"strings"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/parleychat/parley/model"
)

// isPostgresDSN reports whether dsn names a PostgreSQL database.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenPostgres opens the PostgreSQL database dsn (postgres://user:pass@host:port/db?...)
// through pgx and migrates its tables. Several nodes may open one database: the
// migrations are idempotent and the Store's writes hold room locks.
func OpenPostgres(dsn string) (Store, error) {
	return OpenGorm(postgres.New(postgres.Config{DSN: dsn}))
}

// OpenStore opens the database dsn names: PostgreSQL for a postgres:// or
// postgresql:// URL, else SQLite (a path or a file: DSN).
func OpenStore(dsn string) (Store, error) {
	if isPostgresDSN(dsn) {
		return OpenPostgres(dsn)
	}
	return OpenSQLite(dsn)
}

// On PostgreSQL the append's statements pass the batch as arrays (unnest): one text per
// statement whatever the batch's length, so each is parsed and planned once per
// connection instead of at every commit (a batch's length, and so a statement of
// spelled-out parameters, differs from one commit to the next), and it carries any
// number of rows in one round trip.

// isPostgres reports whether tx runs on PostgreSQL.
func isPostgres(tx *gorm.DB) bool { return tx.Dialector.Name() == "postgres" }

// pgLockRooms is lockRooms on PostgreSQL; rooms are sorted.
func pgLockRooms(tx *gorm.DB, rooms []string) error {
	rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context,
		"SELECT id FROM rooms WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", rooms)
	if err != nil {
		return fmt.Errorf("lock %d rooms: %w", len(rooms), err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock %d rooms: %w", len(rooms), err)
	}
	return nil
}

// pgStoredOf is storedOf on PostgreSQL; it selects pgMessageColumns (of m), for scanMessageRow.
func pgStoredOf(tx *gorm.DB, msgs []NewMessage) (map[msgKey]model.Message, error) {
	roomIDs, ids := make([]string, len(msgs)), make([]string, len(msgs))
	for i, m := range msgs {
		roomIDs[i], ids[i] = m.RoomID, m.ID
	}
	rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context,
		`SELECT m.room_id, m.id, m.seq, m.sender_id, m.sender_name, m.content, m.attachment, m.at_ms, m.reply_to, m.edited_at_ms, m.deleted
		FROM messages m JOIN unnest($1::text[], $2::text[]) AS k(room_id, id) ON m.room_id = k.room_id AND m.id = k.id`,
		roomIDs, ids)
	if err != nil {
		return nil, fmt.Errorf("find stored ids: %w", err)
	}
	defer rows.Close()
	out := make(map[msgKey]model.Message)
	for rows.Next() {
		r, err := scanMessageRow(rows)
		if err != nil {
			return nil, fmt.Errorf("find stored ids: %w", err)
		}
		out[msgKey{r.RoomID, r.ID}] = toMessage(r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find stored ids: %w", err)
	}
	return out, nil
}

// pgMessageColumns are the columns of a messageRow, in scanMessageRow's order.
const pgMessageColumns = "room_id, id, seq, sender_id, sender_name, content, attachment, at_ms, reply_to, edited_at_ms, deleted"

// scanMessageRow reads a row of pgMessageColumns.
func scanMessageRow(rows *sql.Rows) (messageRow, error) {
	var r messageRow
	err := rows.Scan(&r.RoomID, &r.ID, &r.Seq, &r.SenderID, &r.SenderName, &r.Content, &r.Attachment, &r.AtMs, &r.ReplyTo, &r.EditedAtMs, &r.Deleted)
	return r, err
}

// pgReserveSeqs is reserveSeqs on PostgreSQL.
func pgReserveSeqs(tx *gorm.DB, rooms []string, fresh map[string][]int) (map[string]int64, error) {
	counts := make([]int64, len(rooms))
	for i, id := range rooms {
		counts[i] = int64(len(fresh[id]))
	}
	rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context,
		`UPDATE rooms SET last_seq = rooms.last_seq + v.n FROM unnest($1::text[], $2::bigint[]) AS v(id, n)
		WHERE rooms.id = v.id RETURNING rooms.id, rooms.last_seq`, rooms, counts)
	if err != nil {
		return nil, fmt.Errorf("reserve seqs in %d rooms: %w", len(rooms), err)
	}
	defer rows.Close()
	last := make(map[string]int64, len(rooms))
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("reserve seqs in %d rooms: %w", len(rooms), err)
		}
		last[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reserve seqs in %d rooms: %w", len(rooms), err)
	}
	return last, nil
}

// pgInsertMessages is insertMessages on PostgreSQL.
func pgInsertMessages(tx *gorm.DB, rows []messageRow) error {
	n := len(rows)
	roomIDs, ids, senders, names, contents, attachments := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	replies := make([]string, n)
	seqs, ats := make([]int64, n), make([]int64, n)
	for i, r := range rows {
		roomIDs[i], ids[i], seqs[i], senders[i], names[i], contents[i], attachments[i], ats[i], replies[i] =
			r.RoomID, r.ID, r.Seq, r.SenderID, r.SenderName, r.Content, r.Attachment, r.AtMs, r.ReplyTo
	}
	res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context,
		`INSERT INTO messages (room_id, id, seq, sender_id, sender_name, content, attachment, at_ms, reply_to)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[])`,
		roomIDs, ids, seqs, senders, names, contents, attachments, ats, replies)
	if err != nil {
		if t, ok := tx.Dialector.(gorm.ErrorTranslator); ok {
			err = t.Translate(err)
		}
		return err
	}
	if got, err := res.RowsAffected(); err != nil || got != int64(n) {
		return fmt.Errorf("%d of %d rows inserted (%v): %w", got, n, err, ErrConflict)
	}
	return nil
}
