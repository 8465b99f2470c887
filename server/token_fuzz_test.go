package server

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerifyToken feeds arbitrary strings to access-token verification: it never
// panics, and whatever it accepts names the one user a token was issued for, with
// that token's expiry (no forged subject gets through).
func FuzzVerifyToken(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tk := &tokens{secret: []byte("0123456789abcdef0123456789abcdef"), ttl: 15 * time.Minute, now: func() time.Time { return now }}
	good, exp, err := tk.issue("u-alice")
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, s := range []string{
		good, "", ".", "..", "a.b.c", good + ".", good[:len(good)-1],
		parts[0] + "." + parts[1] + ".",
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
		"eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9." + parts[1] + "." + parts[2],
		"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + parts[1] + "." + parts[2],
		parts[0] + ".eyJzdWIiOiJ1LW1hbGxvcnkiLCJleHAiOjQxMDI0NDQ4MDB9." + parts[2],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		sub, got, err := tk.verify(raw)
		if err != nil {
			return
		}
		if sub != "u-alice" || !got.Equal(exp.Truncate(time.Second)) {
			t.Fatalf("accepted %q: subject %q expiry %v", raw, sub, got)
		}
	})
}
