package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

func TestRoomsAPI(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	carol := connect(t, in, "carol")

	var rooms model.RoomsResponse
	if st := in.Do(t, "GET", "/api/rooms", alice.auth.AccessToken, nil, &rooms); st != 200 || len(rooms.Rooms) != 1 {
		t.Fatalf("rooms: %d %+v", st, rooms)
	}
	g := rooms.Rooms[0]
	if g.ID != "general" || !g.Public || g.Epoch == "" || len(g.MemberIDs) != 3 {
		t.Fatalf("general = %+v", g)
	}

	// A private room: the creator is a member; the others hear of it live.
	var priv model.Room
	if st := in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "plans", MemberIDs: []string{bob.auth.UserID}}, &priv); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	if priv.Public || len(priv.MemberIDs) != 2 || priv.Epoch == "" || priv.Epoch == g.Epoch {
		t.Fatalf("room = %+v", priv)
	}
	if f := bob.c.WaitType(t, model.TypeRoom); f.ID != priv.ID || f.Name != "plans" || len(f.MemberIDs) != 2 {
		t.Fatalf("room frame %+v", f)
	}
	if st := in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "x", MemberIDs: []string{"nobody"}}, nil); st != 400 {
		t.Fatalf("unknown member: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "  "}, nil); st != 400 {
		t.Fatalf("blank name: %d", st)
	}

	// A public room can be joined, and then used at once.
	var pub model.Room
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "lobby", Public: true}, &pub)
	var joined model.Room
	if st := in.Do(t, "POST", "/api/rooms/"+pub.ID+"/join", carol.auth.AccessToken, nil, &joined); st != 200 || len(joined.MemberIDs) != 2 {
		t.Fatalf("join: %d %+v", st, joined)
	}
	if f := carol.c.WaitType(t, model.TypeRoom); f.ID != pub.ID {
		t.Fatalf("room frame %+v", f)
	}
	id := carol.send(t, pub.ID, "hi lobby")
	if f := carol.ackOf(t, id); f.Type != model.TypeAck || f.Seq != 1 {
		t.Fatalf("send after join: %+v", f)
	}
	if f := alice.c.WaitFor(t, "lobby message", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.RoomID == pub.ID }); f.ID != id {
		t.Fatalf("%+v", f)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+priv.ID+"/join", carol.auth.AccessToken, nil, nil); st != 403 {
		t.Fatalf("join private: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/nowhere/join", carol.auth.AccessToken, nil, nil); st != 403 {
		t.Fatalf("join missing: %d", st)
	}

	// One direct room per pair, whoever asks.
	var dm1, dm2, dm3 model.Room
	if st := in.Do(t, "POST", "/api/dm", alice.auth.AccessToken, model.DMRequest{UserID: bob.auth.UserID}, &dm1); st != http.StatusCreated || !dm1.Direct || len(dm1.MemberIDs) != 2 {
		t.Fatalf("dm: %d %+v", st, dm1)
	}
	if st := in.Do(t, "POST", "/api/dm", alice.auth.AccessToken, model.DMRequest{UserID: bob.auth.UserID}, &dm2); st != 200 || dm2.ID != dm1.ID {
		t.Fatalf("dm again: %d %+v", st, dm2)
	}
	if st := in.Do(t, "POST", "/api/dm", bob.auth.AccessToken, model.DMRequest{UserID: alice.auth.UserID}, &dm3); st != 200 || dm3.ID != dm1.ID {
		t.Fatalf("dm from bob: %d %+v", st, dm3)
	}
	if !strings.Contains(dm1.Name, "alice") || !strings.Contains(dm1.Name, "bob") {
		t.Fatalf("dm name %q", dm1.Name)
	}
	if st := in.Do(t, "POST", "/api/dm", alice.auth.AccessToken, model.DMRequest{UserID: alice.auth.UserID}, nil); st != 400 {
		t.Fatalf("dm self: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+dm1.ID+"/join", carol.auth.AccessToken, nil, nil); st != 403 {
		t.Fatalf("join dm: %d", st)
	}

	if st := in.Do(t, "GET", "/api/rooms", bob.auth.AccessToken, nil, &rooms); st != 200 || len(rooms.Rooms) != 3 {
		t.Fatalf("bob's rooms: %+v", rooms)
	}
	if st := in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, strings.Repeat("{", 10), nil); st != 400 {
		t.Fatalf("malformed: %d", st)
	}
}

func TestHistory(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	var last string
	for i := 1; i <= 260; i++ {
		last = alice.send(t, "general", fmt.Sprintf("m%d", i))
	}
	alice.ackOf(t, last)
	get := func(q string) []model.Message {
		var r model.MessagesResponse
		if st := in.Do(t, "GET", "/api/rooms/general/messages"+q, alice.auth.AccessToken, nil, &r); st != 200 {
			t.Fatalf("%s: %d", q, st)
		}
		return r.Messages
	}
	checkRange := func(ms []model.Message, from, to int64) {
		t.Helper()
		if int64(len(ms)) != to-from+1 {
			t.Fatalf("%d messages, want %d..%d", len(ms), from, to)
		}
		for i, m := range ms {
			if m.Seq != from+int64(i) || m.Content != fmt.Sprintf("m%d", m.Seq) {
				t.Fatalf("message %d = %+v", i, m)
			}
		}
	}
	checkRange(get(""), 211, 260)
	checkRange(get("?beforeSeq=100&limit=10"), 90, 99)
	checkRange(get("?limit=1000"), 61, 260)
	checkRange(get("?beforeSeq=3"), 1, 2)
	if ms := get("?beforeSeq=1"); len(ms) != 0 {
		t.Fatalf("before 1: %d", len(ms))
	}
	if st := in.Do(t, "GET", "/api/rooms/general/messages?limit=x", alice.auth.AccessToken, nil, nil); st != 400 {
		t.Fatalf("bad limit: %d", st)
	}
}

func TestUserSearch(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	in.Register(t, "alfred", password)
	in.Register(t, "bob_100", password)
	var r model.UsersResponse
	if st := in.Do(t, "GET", "/api/users?query=AL", alice.auth.AccessToken, nil, &r); st != 200 || len(r.Users) != 2 {
		t.Fatalf("search al: %d %+v", st, r)
	}
	for _, u := range r.Users {
		if u.Online != (u.UserID == alice.auth.UserID) {
			t.Fatalf("online flags %+v", r.Users)
		}
	}
	// LIKE wildcards match literally.
	in.Do(t, "GET", "/api/users?query=_", alice.auth.AccessToken, nil, &r)
	if len(r.Users) != 1 || r.Users[0].DisplayName != "bob_100" {
		t.Fatalf("search _: %+v", r.Users)
	}
	if st := in.Do(t, "GET", "/api/users", "", nil, nil); st != 401 {
		t.Fatalf("no token: %d", st)
	}
}
