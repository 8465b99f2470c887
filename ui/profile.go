package ui

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/parleychat/parley/model"
)

// passwordFile holds the generated password of a profile's local account.
const passwordFile = "local-password"

// defaultProfile is the OS user's name, folded into a valid username.
func defaultProfile() string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	return foldUsername(name)
}

// foldUsername turns any name into a valid username: lower case; a–z, 0–9, '_', '.' and
// '-' kept; spaces and path or mail separators become '_'; anything else is dropped; the
// result is padded to 3 characters with '_' and cut to 32.
func foldUsername(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '\\' || r == '/' || r == '@':
			b.WriteByte('_')
		}
		if b.Len() >= model.MaxUsernameLen {
			break
		}
	}
	u := strings.Trim(b.String(), "_.-")
	if u == "" {
		u = "me"
	}
	for len(u) < model.MinUsernameLen {
		u += "_"
	}
	if n, err := model.NormalizeUsername(u); err == nil {
		return n
	}
	return "parley_user"
}

// localPassword returns the profile's local account password, generating it (mode 0600)
// the first time.
func localPassword(dir string) (string, error) {
	path := filepath.Join(dir, passwordFile)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= model.MinPasswordLen {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read local password: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate local password: %w", err)
	}
	pw := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("profile folder: %w", err)
	}
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write local password: %w", err)
	}
	return pw, nil
}
