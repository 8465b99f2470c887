package model

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of protocol version 1 (server defaults).
const (
	MaxFrameBytes     = 64 << 10 // one WebSocket frame
	MaxContentRunes   = 4000     // message content, counted after cleaning
	MinUsernameLen    = 3
	MaxUsernameLen    = 32
	MinPasswordLen    = 8
	MaxPasswordBytes  = 72 // bcrypt's limit
	MaxDisplayNameLen = 64
	MaxRoomNameLen    = 64
	SyncPageSize      = 500
	HistoryMaxLimit   = 200
	HistoryDefault    = 50
)

// Validation errors. Their text is what a user may be shown.
var (
	ErrBadUsername = errors.New("username must be 3–32 characters of a–z, 0–9, '_', '.' or '-'")
	ErrBadPassword = errors.New("password must be at least 8 characters (at most 72 bytes)")
	ErrBlank       = errors.New("message is empty")
	ErrBadUTF8     = errors.New("message is not valid UTF-8")
	ErrTooLarge    = errors.New("message is longer than 4000 characters")
	ErrBadName     = errors.New("name must be 1–64 printable characters")
)

// NormalizeUsername folds a username to lower case and checks it against the
// protocol's rule: 3–32 of [a-z0-9_.-].
func NormalizeUsername(s string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(s))
	if len(u) < MinUsernameLen || len(u) > MaxUsernameLen {
		return "", ErrBadUsername
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", ErrBadUsername
		}
	}
	return u, nil
}

// ValidatePassword checks the password rule: at least 8 characters, and no more than
// bcrypt can hash.
func ValidatePassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLen || len(p) > MaxPasswordBytes {
		return ErrBadPassword
	}
	return nil
}

// CleanName cleans a display or room name: control characters removed, spaces
// trimmed, 1–64 characters.
func CleanName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrBadName
	}
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s))
	if s == "" || utf8.RuneCountInString(s) > MaxDisplayNameLen {
		return "", ErrBadName
	}
	return s, nil
}

// CleanContent applies the content rules of protocol version 1: the text must be valid
// UTF-8; control characters other than newline and tab are removed; the result must not
// be blank and must be at most 4000 code points. The cleaned text is returned.
func CleanContent(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrBadUTF8
	}
	if hasControl(s) {
		s = strings.Map(func(r rune) rune {
			if r != '\n' && r != '\t' && unicode.IsControl(r) {
				return -1
			}
			return r
		}, s)
	}
	if strings.TrimSpace(s) == "" {
		return "", ErrBlank
	}
	if len(s) > MaxContentRunes && utf8.RuneCountInString(s) > MaxContentRunes {
		return "", ErrTooLarge
	}
	return s, nil
}

// hasControl reports whether s holds a control character other than newline and tab,
// so the common case costs no allocation.
func hasControl(s string) bool {
	for _, r := range s {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// ContentErrorCode maps an error of CleanContent to the protocol's error code.
func ContentErrorCode(err error) string {
	if errors.Is(err, ErrTooLarge) {
		return CodeTooLarge
	}
	return CodeInvalid
}
