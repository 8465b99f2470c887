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

// ErrBadEmoji is the refusal of a reaction that is not one emoji.
var ErrBadEmoji = errors.New("emoji must be one character (one grapheme cluster) of at most 32 bytes")

// ValidEmoji reports whether s is one grapheme cluster of at most MaxEmojiBytes bytes,
// as a reaction must be. It follows the cluster rules emoji use (Unicode UAX #29): a
// base character, then only extenders (combining marks, variation selectors, skin-tone
// modifiers, tags, the keycap mark) and zero-width joiners each followed by one more
// character; or one pair of regional indicators (a flag). Spaces and control
// characters are not emoji.
func ValidEmoji(s string) bool {
	if s == "" || len(s) > MaxEmojiBytes || !utf8.ValidString(s) {
		return false
	}
	runes := []rune(s)
	isRI := func(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
	if isRI(runes[0]) {
		return len(runes) == 1 || len(runes) == 2 && isRI(runes[1])
	}
	if unicode.IsControl(runes[0]) || unicode.IsSpace(runes[0]) || isExtender(runes[0]) || runes[0] == 0x200D {
		return false
	}
	for i := 1; i < len(runes); i++ {
		r := runes[i]
		switch {
		case isExtender(r):
		case r == 0x200D && i+1 < len(runes) && !unicode.IsControl(runes[i+1]) && !unicode.IsSpace(runes[i+1]):
			i++ // the joined character belongs to the cluster
		default:
			return false
		}
	}
	return true
}

// isExtender reports whether r extends the grapheme cluster before it.
func isExtender(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me) || r >= 0xFE00 && r <= 0xFE0F || r >= 0x1F3FB && r <= 0x1F3FF ||
		r >= 0xE0020 && r <= 0xE007F || r == 0x20E3
}

// ErrBadTopic is the refusal of a room topic over MaxTopicRunes.
var ErrBadTopic = errors.New("topic must be at most 256 characters of valid UTF-8")

// CleanTopic cleans a room's topic: control characters removed, spaces trimmed, at
// most 256 characters; it may be empty.
func CleanTopic(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrBadTopic
	}
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s))
	if utf8.RuneCountInString(s) > MaxTopicRunes {
		return "", ErrBadTopic
	}
	return s, nil
}
