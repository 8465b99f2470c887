package server_test

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// TestLogoutRevokesFamily: POST /api/logout answers 204 and revokes every refresh
// token of that login, and only that login's.
func TestLogoutRevokesFamily(t *testing.T) {
	in := servertest.Start(t, testConfig())
	a := in.Register(t, "alice", password)
	var r1 model.AuthResponse
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: a.RefreshToken}, &r1); st != http.StatusOK {
		t.Fatalf("refresh: %d", st)
	}
	other := in.Login(t, "alice", password) // another device: a family of its own

	// Signing out with the first token of the login revokes its newest one too.
	if st := in.Do(t, "POST", "/api/logout", "", model.LogoutRequest{RefreshToken: a.RefreshToken}, nil); st != http.StatusNoContent {
		t.Fatalf("logout: %d, want 204", st)
	}
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: r1.RefreshToken}, nil); st != http.StatusUnauthorized {
		t.Fatalf("refresh after logout: %d, want 401", st)
	}
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: other.RefreshToken}, nil); st != http.StatusOK {
		t.Fatalf("the other login's token: %d, want 200", st)
	}
	// Twice, or with a token nobody issued: 204 all the same.
	for _, tok := range []string{a.RefreshToken, "made-up", ""} {
		if st := in.Do(t, "POST", "/api/logout", "", model.LogoutRequest{RefreshToken: tok}, nil); st != http.StatusNoContent {
			t.Fatalf("logout %q: %d, want 204", tok, st)
		}
	}
	var e model.APIError
	if st := in.Do(t, "POST", "/api/logout", "", "not an object", &e); st != http.StatusBadRequest || e.Err.Code != model.CodeInvalid {
		t.Fatalf("malformed logout: %d %+v", st, e)
	}
}

// fakeNow is a clock a test moves by hand.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeNow) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestExpiredRefreshPurged: expired refresh tokens (spent, revoked or not) leave the
// database by themselves; live ones stay.
func TestExpiredRefreshPurged(t *testing.T) {
	clk := &fakeNow{t: time.Now()}
	cfg := testConfig()
	cfg.Now = clk.Now
	cfg.RefreshTTL = time.Hour
	cfg.PurgeInterval = 10 * time.Millisecond
	in := servertest.Start(t, cfg)
	a := in.Register(t, "alice", password)
	in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: a.RefreshToken}, nil) // one spent, one live
	b := in.Register(t, "bob", password)
	in.Do(t, "POST", "/api/logout", "", model.LogoutRequest{RefreshToken: b.RefreshToken}, nil) // one revoked

	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(in.DataDir, "parley.db"))+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() int {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM refresh_tokens").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("%d refresh tokens stored, want 3", n)
	}
	clk.Advance(2 * time.Hour)
	carol := in.Register(t, "carol", password) // issued after the clock moved: live
	deadline := time.Now().Add(servertest.DefaultWait)
	for count() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d refresh tokens after they expired, want carol's only", count())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for an event
	}
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: carol.RefreshToken}, nil); st != http.StatusOK {
		t.Fatalf("the live token: %d, want 200", st)
	}
}
