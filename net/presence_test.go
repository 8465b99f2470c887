package net

import (
	"testing"

	"github.com/parleychat/parley/server"
)

// TestTypingAndPresence: a keystroke shows alice typing on bob's side, sending the
// message clears it; bob sees alice come online and leave.
func TestTypingAndPresence(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	alice := a.UserID()
	b.waitUntil("alice online", func() bool { return b.online[alice] })
	if !b.Online(alice) {
		t.Fatalf("Online(alice) is false")
	}

	a.Typing(room)
	b.waitUntil("alice typing", func() bool {
		who := b.typing[room]
		return len(who) == 1 && who[0].UserID == alice && who[0].DisplayName == "alice"
	})
	if _, err := a.Send(room, "done typing"); err != nil {
		t.Fatal(err)
	}
	b.waitUntil("typing cleared", func() bool { w, ok := b.typing[room]; return ok && len(w) == 0 })

	a.shutdown()
	b.waitUntil("alice offline", func() bool { return !b.online[alice] })
}
