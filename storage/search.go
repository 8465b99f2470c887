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
	match = "content : (" + match + ")"
	if roomID != "" {
		match = "room : " + quote(roomID) + " AND " + match
	}
	// The newest matches by search key, then their messages by (ts_ms, the pk's low
	// bits): idx_messages_ts finds each at once.
	q := `SELECT m.* FROM (SELECT rowid AS k FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?) f
		JOIN messages m INDEXED BY idx_messages_ts ON m.ts_ms = f.k >> 20 AND (m.pk & 1048575) = (f.k & 1048575)
		WHERE NOT m.deleted` + roomFilter(roomID) + ` ORDER BY f.k DESC`
	args := []any{match, limit}
	if roomID != "" {
		args = append(args, roomID)
	}
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
		words[i] = quote(w) + "*"
	}
	return strings.Join(words, " ")
}

// quote makes s one FTS5 string (a phrase of its tokens).
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func roomFilter(roomID string) string {
	if roomID == "" {
		return ""
	}
	return " AND m.room_id = ?"
}
