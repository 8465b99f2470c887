package net

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
)

func TestSendReceiveStatuses(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	if b.generalRoom() != room {
		t.Fatalf("general differs")
	}

	var ids []string
	for i := range 5 {
		m, err := a.Send(room, fmt.Sprintf("hello %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != model.StatusSending || !m.Own {
			t.Fatalf("queued message: %+v", m)
		}
		ids = append(ids, m.ID)
	}
	b.waitUntil("bob gets 5", func() bool { return len(b.order) == 5 })
	// bob's client reports delivered by itself: alice sees it.
	a.waitUntil("delivered", func() bool { return a.countStatus(model.StatusDelivered) == 5 })
	b.mu.Lock()
	last := b.msgs[b.order[4]]
	b.mu.Unlock()
	if err := b.MarkRead(room, last.Seq); err != nil {
		t.Fatal(err)
	}
	a.waitUntil("read", func() bool { return a.countStatus(model.StatusRead) == 5 })
	b.mu.Lock()
	for i, id := range b.order {
		m := b.msgs[id]
		if m.ID != ids[i] || m.Content != fmt.Sprintf("hello %d", i) || m.Seq != int64(i+1) || m.Own {
			t.Errorf("bob's message %d: %+v", i, m)
		}
	}
	b.mu.Unlock()

	// Validation and unknown rooms fail at once.
	if _, err := a.Send(room, " \n "); !errors.Is(err, model.ErrBlank) {
		t.Errorf("blank: %v", err)
	}
	if _, err := a.Send("nope", "x"); !errors.Is(err, ErrUnknownRoom) {
		t.Errorf("unknown room: %v", err)
	}
}

func TestAPIErrors(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "carol")
	ctx := context.Background()

	_, err := a.Register(ctx, "carol", testPassword, "")
	if ErrorCode(err) != model.CodeUsernameTaken || HTTPStatus(err) != http.StatusConflict || UserMessage(err) != "username taken" {
		t.Errorf("taken: %v (%q)", err, UserMessage(err))
	}
	_, err = a.Login(ctx, "carol", "wrong password")
	if ErrorCode(err) != model.CodeBadCreds || UserMessage(err) != "wrong username or password" {
		t.Errorf("bad password: %v", err)
	}
	// the failed login did not sign the profile out
	if _, ok, _ := a.Account(); !ok {
		t.Errorf("account lost")
	}

	off, err := NewAPI("http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = off.Login(ctx, "carol", testPassword)
	if !errors.Is(err, ErrUnreachable) || UserMessage(err) != "server unreachable" {
		t.Errorf("unreachable: %v", err)
	}

	users, err := a.SearchUsers(ctx, "car")
	if err != nil || len(users) != 1 || users[0].DisplayName != "carol" {
		t.Errorf("search: %v %+v", err, users)
	}
	if _, err := a.JoinRoom(ctx, "no-such-room"); err == nil {
		t.Errorf("join unknown room: no error")
	}
}

// TestClientForAnotherServerLeavesTheAccountAlone: a Client made for a server the
// profile's account does not belong to (the app about to sign in elsewhere) never
// connects with that account's tokens, which would be refused there and sign it out.
func TestClientForAnotherServerLeavesTheAccountAlone(t *testing.T) {
	a := startServer(t, server.Config{})
	b := startServer(t, server.Config{})
	first := startClient(t, a.URL, "", nil)
	register(t, first, "alice")
	first.stop()
	before, _, _ := first.Account()
	other := startClient(t, b.URL, first.dir, nil)
	other.waitUntil("signed out state", func() bool {
		n := len(other.states)
		return n > 0 && other.states[n-1].State == StateSignedOut
	})
	if acct, ok, _ := other.Account(); !ok || acct != before {
		t.Errorf("the account after a Client for %s ran: %+v (%v); want alice's, token and all", b.URL, acct, ok)
	}
	if _, err := other.Login(context.Background(), "alice", testPassword); ErrorCode(err) != model.CodeBadCreds {
		t.Errorf("alice on the other server: %v; want bad credentials", err)
	}
}
