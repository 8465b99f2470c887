package net

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/storage"
)

// TestTokenExpiry: the server closes with 4001 when the access token expires; the
// client refreshes (storing the rotated refresh token) and reconnects. When the refresh
// is refused, the profile is signed out.
func TestTokenExpiry(t *testing.T) {
	srv := startServer(t, server.Config{AccessTTL: 2 * time.Second})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	first, _, _ := a.Account()

	// Offline states may be coalesced away within a frame: watch the stored token instead.
	var second storage.Account
	a.waitUntil("a refresh after the 4001 close", func() bool {
		second, _, _ = a.Account()
		return second.RefreshToken != first.RefreshToken
	})
	a.waitSynced()
	if second.RefreshToken == "" {
		t.Fatalf("refresh token lost")
	}

	// A refresh token the server does not know: the next expiry signs out.
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
