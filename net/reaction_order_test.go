package net

import (
	"context"
	"fmt"
	"testing"

	"github.com/parleychat/parley/server"
)

// TestReactionOrderAgreesAcrossDevices: alice reacts on her laptop while it is away
// (queued on disk); bob reacts with the same emoji meanwhile, so his reaction takes
// the earlier seq. Once the laptop is back, the laptop, alice's phone, a fresh
// device and the server's history all list bob first: a reaction's users are listed
// by the seq of their react, and an own one waiting for its seq goes last.
func TestReactionOrderAgreesAcrossDevices(t *testing.T) {
	srv := startServer(t, server.Config{})
	bob := startClient(t, srv.URL, "", nil)
	laptop := startClient(t, srv.URL, "", nil)
	register(t, bob, "bob")
	register(t, laptop, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	phone := startClient(t, srv.URL, "", nil)
	if _, err := phone.Login(ctx, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	phone.waitSynced()
	room := bob.generalRoom()
	m, err := bob.Send(room, "lunch at noon?")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, bob)
	laptop.waitUntil("the laptop has it", func() bool { return laptop.msgs[m.ID].ID != "" })
	phone.waitUntil("the phone has it", func() bool { return phone.msgs[m.ID].ID != "" })

	// Away: the laptop's app runs with no server to reach, and quits with alice's
	// reaction in its outbox.
	dir := laptop.dir
	laptop.shutdown()
	away := startClient(t, "http://127.0.0.1:1", dir, nil)
	if ch, err := away.React(room, m.ID, "👍", true); err != nil || fmt.Sprint(ch.Target.Reactions["👍"]) != fmt.Sprint([]string{away.UserID()}) {
		t.Fatalf("React offline = %+v, %v", ch, err)
	}
	away.shutdown()
	if _, err := bob.React(room, m.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	flush(t, bob)
	phone.waitUntil("the phone has bob's", func() bool { return len(phone.msgs[m.ID].Reactions["👍"]) == 1 })

	laptop = startClient(t, srv.URL, dir, nil)
	laptop.waitSynced()
	flush(t, laptop)
	want := fmt.Sprint([]string{bob.UserID(), laptop.UserID()})
	phone.waitUntil("the phone has both", func() bool { return len(phone.msgs[m.ID].Reactions["👍"]) == 2 })
	hist, err := bob.API().Messages(ctx, bob.mustToken(t), room, 0, 10)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	if got := fmt.Sprint(hist[0].Reactions["👍"]); got != want {
		t.Fatalf("the server lists %s; want %s (bob's react has the lower seq)", got, want)
	}
	fresh := startClient(t, srv.URL, "", nil)
	if _, err := fresh.Login(ctx, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	fresh.waitSynced()
	if _, err := fresh.History(ctx, room, 0, 10); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]*tclient{"laptop": laptop, "phone": phone, "fresh device": fresh, "bob": bob} {
		got, _, err := tc.Store().Get(room, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprint(got.Reactions["👍"]); s != want {
			t.Errorf("%s lists %s; want %s, as the server", name, s, want)
		}
	}
}
