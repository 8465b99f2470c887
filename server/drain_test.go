package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/server/servertest"
)

// TestDrainSpreadsTheCloses: Drain closes every WebSocket with 1001, one after
// another over the spread rather than all at once, refuses new ones meanwhile, and
// /healthz says draining.
func TestDrainSpreadsTheCloses(t *testing.T) {
	in := servertest.Start(t, testConfig())
	var users []*user
	for _, name := range []string{"user1", "user2", "user3", "user4"} {
		users = append(users, connect(t, in, name))
	}
	done := make(chan error, 1)
	go func() { done <- in.Server.Drain(context.Background(), 2*time.Second) }()

	ended := make(chan struct{}, len(users))
	for _, u := range users {
		go func() {
			<-u.c.Ended()
			ended <- struct{}{}
		}()
	}
	select {
	case <-ended: // the first close
	case <-time.After(10 * time.Second):
		t.Fatal("no session closed by the drain")
	}
	open := 0
	for _, u := range users {
		select {
		case <-u.c.Ended():
		default:
			open++
		}
	}
	if open == 0 {
		t.Fatal("every session closed at once; want them spread over the drain")
	}
	if st := in.Do(t, http.MethodGet, "/healthz", "", nil, nil); st != http.StatusServiceUnavailable {
		t.Fatalf("healthz while draining: %d, want 503", st)
	}
	if c, resp, err := in.DialErr(users[0].auth.AccessToken, nil); err == nil {
		c.Close()
		t.Fatal("a new WebSocket was accepted while draining")
	} else if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial while draining: %v, want 503", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("drain: %v", err)
	}
	for i, u := range users {
		if st := u.c.WaitClosed(t); st != websocket.StatusGoingAway {
			t.Fatalf("session %d closed with %d, want 1001", i, st)
		}
	}
}
