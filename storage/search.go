package storage

import (
	"fmt"
	"strings"
	"unicode"
)

// SearchDefaultLimit is the number of results Search returns for a limit ≤ 0.
const SearchDefaultLimit = 50

// Search finds held messages (of roomID only, when not empty) that contain every word
// of query, each word also as the start of a longer one ("serv" finds "server"),
// ignoring case and diacritics; newest first, at most limit. It reads only the local
// full-text index (SQLite FTS5), so it answers offline. Deleted messages never match.
// A query without a letter or digit finds nothing.
func (s *Store) Search(query, roomID string, limit int) ([]Message, error) {
	match := ftsQuery(query)
	if match == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = SearchDefaultLimit
	}
	q := `SELECT m.* FROM messages_fts f JOIN messages m ON m.pk = f.rowid
		WHERE messages_fts MATCH ? AND NOT m.deleted`
	args := []any{match}
	if roomID != "" {
		q += " AND m.room_id = ?"
		args = append(args, roomID)
	}
	q += " ORDER BY m.ts_ms DESC, m.pk DESC LIMIT ?"
	args = append(args, limit)
	var rows []messageRow
	if err := s.db.Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	return toMessages(rows), nil
}

// ftsQuery turns what a user typed into an FTS5 query: each run of letters and
// digits a quoted prefix term, all required. Quoting keeps FTS5's operators (AND,
// NEAR, column filters, '*') from being read in user text.
func ftsQuery(query string) string {
	words := strings.FieldsFunc(query, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		words[i] = `"` + w + `"*`
	}
	return strings.Join(words, " ")
}
