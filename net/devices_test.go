package net

import (
	"context"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
)

// unread answers a room's unread count as the client's store holds it.
func (tc *tclient) unread(room string) int64 {
	tc.t.Helper()
	r, ok, err := tc.Store().Room(room)
	if err != nil || !ok {
		tc.t.Fatalf("room %s: %v %v", room, ok, err)
	}
	return r.Unread()
}

// waitUnread waits until the client's store counts n unread messages in room.
func (tc *tclient) waitUnread(room string, n int64) {
	tc.t.Helper()
	tc.waitUntil("unread "+string(rune('0'+n)), func() bool { return tc.unread(room) == n })
}

// TestTwoDevicesOfOneUser: alice on a phone and a laptop (two engines, one account).
// Reading on the phone clears the laptop's unread count live, and after the laptop
// was away and restarts; an own message never counts as unread on either; the marks
// of another member's receipts (✓✓ read) reach the own messages on both, also on a
// device that starts after the receipt.
func TestTwoDevicesOfOneUser(t *testing.T) {
	srv := startServer(t, server.Config{})
	bob := startClient(t, srv.URL, "", nil)
	phone := startClient(t, srv.URL, "", nil)
	register(t, bob, "bob")
	register(t, phone, "alice")
	laptop := startClient(t, srv.URL, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := laptop.Login(ctx, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	laptop.waitSynced()
	room := bob.generalRoom()

	sendN(t, bob, room, 3)
	flush(t, bob)
	phone.waitUnread(room, 3)
	laptop.waitUnread(room, 3)
	if err := phone.MarkRead(room, 3); err != nil {
		t.Fatal(err)
	}
	laptop.waitUnread(room, 0) // the phone's read, relayed as alice's own receipt

	// The laptop is away while bob writes and the phone reads; it heals on restart.
	laptop.shutdown()
	later := sendN(t, bob, room, 2)
	flush(t, bob)
	phone.waitUnread(room, 2)
	if err := phone.MarkRead(room, 5); err != nil {
		t.Fatal(err)
	}
	phone.waitUnread(room, 0)
	// The phone's read is on the server once bob sees his messages read.
	bob.waitUntil("bob's messages read", func() bool { return bob.msgs[later[1]].Status == model.StatusRead })
	laptop = startClient(t, srv.URL, laptop.dir, nil)
	laptop.waitSynced()
	if n := laptop.unread(room); n != 0 {
		t.Fatalf("the laptop counts %d unread after its restart", n)
	}

	// Own messages: never unread on either device.
	m, err := phone.Send(room, "mine")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, phone)
	laptop.waitUntil("the phone's message", func() bool { _, ok := laptop.msgs[m.ID]; return ok })
	if a, b := phone.unread(room), laptop.unread(room); a != 0 || b != 0 {
		t.Fatalf("after an own message: phone %d, laptop %d unread", a, b)
	}

	// bob reads it: ✓✓ on both devices, and on a tablet that signs in afterwards.
	if err := bob.MarkRead(room, 6); err != nil {
		t.Fatal(err)
	}
	read := func(tc *tclient) func() bool {
		return func() bool {
			got, ok, err := tc.Store().Get(m.RoomID, m.ID)
			return err == nil && ok && got.Status == model.StatusRead
		}
	}
	phone.waitUntil("read on the phone", read(phone))
	laptop.waitUntil("read on the laptop", read(laptop))
	tablet := startClient(t, srv.URL, "", nil)
	if _, err := tablet.Login(ctx, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	tablet.waitSynced()
	tablet.waitUntil("read on the tablet", read(tablet))
	if n := tablet.unread(room); n != 0 {
		t.Fatalf("the tablet counts %d unread", n)
	}
}
