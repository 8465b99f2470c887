package net

import (
	"context"
	"errors"
	"github.com/coder/websocket"
	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTokenExpiry: before the access token expires the client refreshes (storing the
// rotated refresh token) and hands the new token to the open socket. When the refresh
// is refused, the profile is signed out: the server then closes with 4001 at the
// token's expiry and the client does not reconnect.
func TestTokenExpiry(t *testing.T) {
	srv := startServer(t, server.Config{AccessTTL: 2 * time.Second})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	first, _, _ := a.Account()

	a.waitRenewals(1, nil)
	second, _, _ := a.Account()
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh token not rotated")
	}

	// A refresh token the server does not know: the next renewal signs out.
	if err := a.Store().SetRefreshToken("not-a-token"); err != nil {
		t.Fatal(err)
	}
	a.waitUntil("signed out", func() bool { return a.State().State == StateSignedOut })
	if _, ok, _ := a.Account(); ok {
		t.Fatalf("account kept after a refused refresh")
	}
	if err := a.WaitSynced(t.Context()); err == nil || !strings.Contains(err.Error(), "signed out") {
		t.Fatalf("WaitSynced when signed out: %v", err)
	}
}

// waitRenewals waits until the server has answered n auth frames of the Client; with
// sess set, it fails as soon as the Client's connection is another than sess.
func (tc *tclient) waitRenewals(n int, sess *session) {
	tc.t.Helper()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		tc.Client.mu.Lock()
		got, ch, cur := tc.renewed, tc.renewedCh, tc.sess
		tc.Client.mu.Unlock()
		tc.mu.Lock()
		evs := tc.changed
		tc.mu.Unlock()
		if sess != nil && cur != sess {
			tc.t.Fatalf("reconnected after %d renewals", got)
		}
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-evs:
		case <-deadline.C:
			tc.t.Fatalf("%d renewals, want %d", got, n)
		}
	}
}

// TestGoingAway: a server shutdown closes with 1001; the client waits a random 0–2 s
// (here exactly 1 s) and reconnects.
func TestGoingAway(t *testing.T) {
	srv := startServer(t, server.Config{})
	clk := newFakeClock()
	a := startClient(t, srv.URL, "", func(c *Config) {
		c.Clock = clk
		c.Rand = func() float64 { return 0.5 }
		c.FrameInterval = -1
		c.MarkInterval = -1
	})
	register(t, a, "alice")
	srv.Stop(t)
	var st StateEvent
	a.waitUntil("offline after 1001", func() bool {
		for _, s := range a.states {
			if s.State == StateOffline {
				st = s
				return true
			}
		}
		return false
	})
	if websocket.CloseStatus(st.Err) != websocket.StatusGoingAway || !st.NextTry.Equal(clk.Now().Add(time.Second)) {
		t.Fatalf("after 1001: %v next try in %v", st.Err, st.NextTry.Sub(clk.Now()))
	}
	srv.Restart(t)
	clk.waitTimer(t, st.NextTry)
	clk.Advance(time.Second)
	a.waitSynced()
}

// hookTransport calls onRefresh once the server has handled a refresh, and then
// behaves as a transport does when the request's context ended meanwhile.
type hookTransport struct {
	onRefresh func()
}

func (h hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/api/refresh" {
		return http.DefaultTransport.RoundTrip(req)
	}
	resp, err := http.DefaultTransport.RoundTrip(req.WithContext(context.WithoutCancel(req.Context())))
	h.onRefresh()
	if err == nil && req.Context().Err() != nil {
		resp.Body.Close()
		return nil, req.Context().Err()
	}
	return resp, err
}

// TestRefreshSurvivesCancel stops the Client while a refresh is on the wire: the
// rotated token is still stored, so the next run is not signed out.
func TestRefreshSurvivesCancel(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	a.shutdown()

	var b *tclient
	ready := make(chan struct{})
	b = startClient(t, "", a.dir, func(c *Config) {
		c.HTTPClient = &http.Client{Transport: hookTransport{onRefresh: func() {
			<-ready
			b.cancel() // Run ends while the refresh answer is still unread
		}}}
	})
	close(ready)
	<-b.done
	b.shutdown()

	c := startClient(t, "", a.dir, nil)
	c.waitSynced()
}

// TestAuthRenewKeepsSocket: with 2 s access tokens the engine refreshes at 80 % of each
// token's life and hands the new one to the open socket (`auth`): the server answers
// auth_ok every time and the one connection outlives several tokens, with no 4001 and
// no reconnect.
func TestAuthRenewKeepsSocket(t *testing.T) {
	srv := startServer(t, server.Config{AccessTTL: 2 * time.Second})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	a.Client.mu.Lock()
	first := a.sess
	a.Client.mu.Unlock()
	a.waitRenewals(3, first)
	a.Client.mu.Lock()
	same := a.sess == first
	a.Client.mu.Unlock()
	if !same {
		t.Fatalf("reconnected")
	}
	if st := a.State(); st.State != StateOnline {
		t.Fatalf("state %v", st.State)
	}
	// The connection still works with the third token.
	m, err := a.Send(a.generalRoom(), "still here")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	a.Client.mu.Lock()
	same = a.sess == first
	a.Client.mu.Unlock()
	if !same {
		t.Fatalf("reconnected")
	}
	if got, _, err := a.Store().Get(m.RoomID, m.ID); err != nil || got.Status != model.StatusSent {
		t.Fatalf("message after the renewals: %+v %v", got, err)
	}
}

// TestSignOutRevokesLogin: SignOut forgets the account and has the server revoke the
// login, so the refresh token it held is refused afterwards; with the server gone, the
// local sign-out still happens and the error says the server was not told.
func TestSignOutRevokesLogin(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	a.waitSynced()
	acct, _, _ := a.Account()
	if err := a.SignOut(t.Context()); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if _, ok, _ := a.Account(); ok {
		t.Fatalf("account kept after sign-out")
	}
	api, err := NewAPI(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Refresh(t.Context(), acct.RefreshToken); !isUnauthorized(err) {
		t.Fatalf("refresh with the signed-out token: %v, want 401", err)
	}

	if _, err := a.Login(t.Context(), "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	err = a.SignOut(t.Context())
	if _, ok, _ := a.Account(); ok {
		t.Fatalf("account kept after a sign-out the server did not hear")
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("sign-out with the server down: %v, want ErrUnreachable", err)
	}
}
