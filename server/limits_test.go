package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestLimiterEntriesLeave: the per-user send limiters and the login and registration
// limiters keep an entry only while it holds something back. Users who sent once and
// left, failed logins of many names and registrations from many addresses leave
// nothing behind once their buckets have refilled.
func TestLimiterEntriesLeave(t *testing.T) {
	const n = 50
	clk := &fakeNow{t: time.Now()}
	cfg := testConfig()
	cfg.Now = clk.Now
	cfg.AccessTTL = time.Hour // the clock moves minutes: tokens must outlive the test
	cfg.RegisterLimit, cfg.RegisterTotal = 3, 1000
	cfg.LoginFailures = 1000 // one address fails for many names: keep it unblocked
	cfg.TrustedProxies, _ = server.ParseProxies("127.0.0.1")
	in := servertest.Start(t, cfg)

	var users []model.AuthResponse
	for i := range n {
		// Every user registers from an address of its own (behind the trusted proxy).
		if st, e := registerFrom(t, in, fmt.Sprintf("user%d", i), fmt.Sprintf("198.51.100.%d", i)); st != http.StatusCreated {
			t.Fatalf("register %d: %d %+v", i, st, e)
		}
		users = append(users, in.Login(t, fmt.Sprintf("user%d", i), password))
	}
	for i, a := range users {
		u := dialAs(t, in, a)
		u.ackOf(t, u.send(t, server.GeneralRoomID, fmt.Sprintf("once %d", i)))
		u.c.Close()
	}
	for i := range n {
		in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: fmt.Sprintf("nobody%d", i), Password: "wrong password"}, nil)
	}
	sends, logins, regs := server.LimiterKeys(in.Server)
	if sends < n || logins < n || regs < n {
		t.Fatalf("before: %d send, %d login, %d registration keys; want at least %d each", sends, logins, regs, n)
	}

	// Two minutes later every bucket is full again: the next use of each limiter
	// sweeps the others away.
	clk.Advance(2 * time.Minute)
	last := dialAs(t, in, users[0])
	last.ackOf(t, last.send(t, server.GeneralRoomID, "later"))
	in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "nobody", Password: "wrong password"}, nil)
	if st, e := registerFrom(t, in, "late", "203.0.113.1"); st != http.StatusCreated {
		t.Fatalf("late registration: %d %+v", st, e)
	}
	sends, logins, regs = server.LimiterKeys(in.Server)
	// What is left is the last use of each: one user, a name and an address, an
	// address and the overall count.
	if sends > 1 || logins > 2 || regs > 2 {
		t.Fatalf("after: %d send, %d login, %d registration keys; want at most 1, 2 and 2", sends, logins, regs)
	}
}
