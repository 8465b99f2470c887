package server_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestFanoutPassCarriesWhatWaited: while the fan-out is held back, the messages sent
// meanwhile wait for it; the next pass carries them all at once, and every member
// (a user with two connections too) gets each message once, in order.
func TestFanoutPassCarriesWhatWaited(t *testing.T) {
	var mu sync.Mutex
	var passes []int
	held := make(chan struct{})
	release := make(chan struct{})
	holdFirstMessage := true
	restore := server.SetFanoutPassHook(func(n int) {
		mu.Lock()
		passes = append(passes, n)
		hold := holdFirstMessage
		holdFirstMessage = false
		mu.Unlock()
		if hold {
			close(held)
			<-release
		}
	})
	defer restore()

	cfg := testConfig()
	in := servertest.Start(t, cfg)
	sender := connect(t, in, "sender")
	alice := connect(t, in, "alice")
	alice2 := reconnect(t, in, alice)
	bob := connect(t, in, "bob")

	const n = 40
	ids := make([]string, n)
	ids[0] = sender.send(t, server.GeneralRoomID, "m0")
	<-held // the first message's pass waits
	for i := 1; i < n; i++ {
		ids[i] = sender.send(t, server.GeneralRoomID, fmt.Sprintf("m%d", i))
	}
	// Acks are answers, not fan-out: they come while the fan-out is held.
	for _, id := range ids {
		sender.ackOf(t, id)
	}
	close(release)

	for _, u := range []*user{sender, alice, alice2, bob} {
		for i := 0; i < n; i++ {
			f := u.c.WaitType(t, model.TypeMessage)
			if want := fmt.Sprintf("m%d", i); f.Content != want || f.Seq != int64(i+1) {
				t.Fatalf("%s: message %d is %q seq %d, want %q seq %d", u.auth.Username, i, f.Content, f.Seq, want, i+1)
			}
		}
	}
	// Nothing came twice: the next message each one sees is the one sent now.
	sender.send(t, server.GeneralRoomID, "end")
	for _, u := range []*user{sender, alice, alice2, bob} {
		if f := u.c.WaitType(t, model.TypeMessage); f.Content != "end" {
			t.Fatalf("%s: %q after the last, want the end marker", u.auth.Username, f.Content)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(passes) < 2 || passes[0] != 1 || passes[1] != n-1 {
		t.Fatalf("passes %v: want the held one of 1 event, then one of the %d that waited", passes, n-1)
	}
}
