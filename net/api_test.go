package net

import (
	"net/http"
	"testing"
)

func TestParseServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8787":         "http://127.0.0.1:8787",
		"127.0.0.1:8787":                "http://127.0.0.1:8787",
		"https://chat.example.com/":     "https://chat.example.com",
		"https://chat.example.com/p/?q": "https://chat.example.com/p",
	} {
		u, err := ParseServerURL(in)
		if err != nil || u.String() != want {
			t.Errorf("%q: %v %v, want %s", in, u, err, want)
		}
	}
	for _, in := range []string{"", "ftp://x", "http://", "::"} {
		if _, err := ParseServerURL(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	a, _ := NewAPI("https://chat.example.com/base", nil)
	if got := a.WebSocketURL(); got != "wss://chat.example.com/base/ws" {
		t.Errorf("ws url: %s", got)
	}
}

// FuzzDecodeAPIError feeds arbitrary answer bodies to the error decoder: it never
// panics and always keeps the status.
func FuzzDecodeAPIError(f *testing.F) {
	f.Add(401, []byte(`{"error":{"code":"bad_credentials","message":"wrong"}}`))
	f.Add(429, []byte(`not json`))
	f.Add(500, []byte(`{"error":null}`))
	f.Add(409, []byte(`{"error":{"code":7}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := decodeAPIError(status, body)
		if e.Status != status {
			t.Fatalf("status %d became %d", status, e.Status)
		}
		if e.Error() == "" || e.UserMessage() == "" {
			t.Fatalf("empty text for %d %q", status, body)
		}
		if status == http.StatusUnauthorized && e.Code == "" {
			t.Fatalf("401 without a code")
		}
	})
}
