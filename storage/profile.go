package storage

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxProfileNameLen is the longest profile name, in characters.
const MaxProfileNameLen = 64

// CheckProfileName checks a profile's name, which the app and parley-cli use as a folder
// name: 1–64 letters, digits, '_', '-' or '.', starting with a letter or digit. So a name
// can never leave the profiles folder ("..", a separator), hide itself (".x"), pass for
// a flag ("-x") or carry characters some file systems refuse.
func CheckProfileName(name string) error {
	ok := name != "" && utf8.ValidString(name) && utf8.RuneCountInString(name) <= MaxProfileNameLen
	for i, r := range name {
		if !ok {
			break
		}
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		ok = alnum || i > 0 && (r == '_' || r == '-' || r == '.')
	}
	if !ok {
		return fmt.Errorf("bad profile name %q: use 1–%d letters, digits, '_', '-' or '.', starting with a letter or digit",
			name, MaxProfileNameLen)
	}
	return nil
}
