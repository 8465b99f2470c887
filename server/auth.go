package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtSecretFile is where a generated signing secret is kept inside the data folder.
const jwtSecretFile = "jwt-secret"

// loadOrCreateSecret reads the secret kept in dir, or generates 32 random bytes and
// keeps them there with mode 0600.
func loadOrCreateSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, jwtSecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(secret) < 16 {
			return nil, fmt.Errorf("read secret %s: not a hex secret of at least 16 bytes", path)
		}
		return secret, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(secret) + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write secret %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write secret %s: %w", path, err)
	}
	return secret, nil
}

// tokens issues and verifies access tokens.
type tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// errBadToken is what every token verification failure wraps.
var errBadToken = errors.New("invalid access token")

// issue returns a signed access token for userID and its expiry.
func (t *tokens) issue(userID string) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	claims := jwt.RegisteredClaims{
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// verify checks an access token: HS256 only, signed with our secret, exp required and
// in the future. It answers the user id and the expiry.
func (t *tokens) verify(raw string) (string, time.Time, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %v", errBadToken, err)
	}
	if claims.Subject == "" || claims.ExpiresAt == nil {
		return "", time.Time{}, fmt.Errorf("%w: no subject", errBadToken)
	}
	return claims.Subject, claims.ExpiresAt.Time, nil
}

// newRefreshValue returns a random 256-bit refresh token and the sha256 under which it
// is stored.
func newRefreshValue() (string, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate refresh token: %w", err)
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	return v, hashRefresh(v), nil
}

// hashRefresh is the stored form of a refresh token.
func hashRefresh(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// newID returns a random, URL-safe id of 16 bytes.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
