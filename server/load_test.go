package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// collect reads frames until it has every message of seqs 1..total in order and
// the acks of the client's own sends.
func collect(c *servertest.Client, total int, acks int) error {
	next := int64(1)
	gotAcks := 0
	for next <= int64(total) || gotAcks < acks {
		b, err := c.NextRaw(servertest.DefaultWait * 4)
		if err != nil {
			return fmt.Errorf("after seq %d and %d acks: %w", next-1, gotAcks, err)
		}
		var f struct {
			Type    string `json:"type"`
			Seq     int64  `json:"seq"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		switch f.Type {
		case model.TypeAck:
			gotAcks++
		case model.TypeMessage:
			if f.Seq != next {
				return fmt.Errorf("got seq %d, want %d", f.Seq, next)
			}
			next++
		case model.TypeError:
			return fmt.Errorf("error frame %s: %s", f.Code, f.Message)
		}
	}
	return nil
}

func TestConcurrentSendersOneRoom(t *testing.T) {
	const clients, each = 50, 100
	cfg := testConfig()
	cfg.MsgRate, cfg.MsgBurst = 1e6, 1e6
	in := servertest.Start(t, cfg)
	users := make([]*user, clients)
	for i := range users {
		users[i] = connect(t, in, fmt.Sprintf("user%02d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				u.send(t, "general", fmt.Sprintf("%d/%d", i, k))
			}
			if err := collect(u.c, clients*each, each); err != nil {
				errs <- fmt.Errorf("%s: %w", u.auth.Username, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		t.Fatal(err)
	}
	// Every seq exists exactly once in the store.
	var r model.MessagesResponse
	seen := map[string]bool{}
	before := ""
	for n := 0; n < clients*each; n += len(r.Messages) {
		in.Do(t, "GET", "/api/rooms/general/messages?limit=200"+before, users[0].auth.AccessToken, nil, &r)
		if len(r.Messages) == 0 {
			t.Fatalf("history ended after %d", n)
		}
		for i, m := range r.Messages {
			if want := int64(clients*each - n - len(r.Messages) + i + 1); m.Seq != want {
				t.Fatalf("history seq %d, want %d", m.Seq, want)
			}
			if seen[m.Content] {
				t.Fatalf("content %q twice", m.Content)
			}
			seen[m.Content] = true
		}
		before = fmt.Sprintf("&beforeSeq=%d", r.Messages[0].Seq)
	}
	if len(seen) != clients*each {
		t.Fatalf("%d distinct messages, want %d", len(seen), clients*each)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	var last string
	for i := 0; i < 5; i++ {
		last = alice.send(t, "general", fmt.Sprintf("before %d", i))
	}
	alice.ackOf(t, last)
	var rooms model.RoomsResponse
	in.Do(t, "GET", "/api/rooms", alice.auth.AccessToken, nil, &rooms)
	epoch := rooms.Rooms[0].Epoch

	in.Restart(t)
	if st := alice.c.WaitClosed(t); st != 1001 {
		t.Fatalf("close on restart %d, want 1001", st)
	}
	// The access token is still good (the secret was kept), and so is the refresh token.
	c := in.Dial(t, alice.auth.AccessToken)
	if h := c.Next(t); h.Type != model.TypeHello {
		t.Fatalf("%+v", h)
	}
	var refreshed model.AuthResponse
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: alice.auth.RefreshToken}, &refreshed); st != 200 {
		t.Fatalf("refresh after restart: %d", st)
	}
	in.Login(t, "alice", password)
	id := model.NewMessageID()
	c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: "general", Content: "after"})
	ack := c.WaitType(t, model.TypeAck)
	if ack.ID != id || ack.Seq != 6 {
		t.Fatalf("ack after restart %+v, want seq 6", ack)
	}
	// A resend of a message stored before the restart is still recognised.
	c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: last, RoomID: "general", Content: "before 4"})
	if a := c.WaitType(t, model.TypeAck); a.ID != last || a.Seq != 5 {
		t.Fatalf("resend ack %+v", a)
	}
	c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "general"})
	n := 0
	for {
		f := c.Next(t)
		if f.Type == model.TypeMessage && f.Seq > 0 && f.ID != id {
			n++
		}
		if f.Type == model.TypeSynced {
			if f.Epoch != epoch || f.Seq != 6 {
				t.Fatalf("synced %+v, want epoch %s seq 6", f, epoch)
			}
			break
		}
	}
	if n < 5 {
		t.Fatalf("replayed %d old messages", n)
	}
	if st := in.Do(t, "POST", "/api/register", "", model.RegisterRequest{Username: "ALICE", Password: password}, nil); st != 409 {
		t.Fatalf("register after restart: %d", st)
	}
}
