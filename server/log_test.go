package server_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsNameConnectionsNeverSecrets(t *testing.T) {
	var buf syncBuffer
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "alice", Password: "not the password"}, nil)
	var r model.AuthResponse
	in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: alice.auth.RefreshToken}, &r)
	in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: alice.auth.RefreshToken}, nil) // reuse: logged
	c, _, err := in.DialErr("", nil)
	if err == nil {
		c.Close()
	}
	alice.c.Close()
	in.Stop(t)
	logs := buf.String()
	for _, secret := range []string{password, "not the password", alice.auth.AccessToken, alice.auth.RefreshToken, r.AccessToken, r.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold a secret %q", secret[:min(len(secret), 12)])
		}
	}
	for _, want := range []string{"connection opened", "connection closed", "user=" + alice.auth.UserID, "reason="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
