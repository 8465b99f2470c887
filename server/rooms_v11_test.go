package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

func TestRoomSettingsMembersAndLeave(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	carol := connect(t, in, "carol")

	var room model.Room
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "team", MemberIDs: []string{bob.auth.UserID}}, &room)
	bob.c.WaitType(t, model.TypeRoom)
	if room.MemberCount != 2 || room.Topic != "" {
		t.Fatalf("created %+v", room)
	}

	// Rename and topic: members only, with the name and topic rules; a room frame to
	// every member.
	name, topic := "  the team ", "what we ship"
	var patched model.Room
	if st := in.Do(t, "PATCH", "/api/rooms/"+room.ID, bob.auth.AccessToken, model.PatchRoomRequest{Name: &name, Topic: &topic}, &patched); st != 200 {
		t.Fatalf("patch: %d", st)
	}
	if patched.Name != "the team" || patched.Topic != topic || patched.MemberCount != 2 {
		t.Fatalf("patched %+v", patched)
	}
	for _, u := range []*user{alice, bob} {
		f := u.c.WaitFor(t, "renamed", func(f model.Frame) bool { return f.Type == model.TypeRoom && f.Name != "team" })
		if f.ID != room.ID || f.Name != "the team" || f.Topic != topic || f.MemberCount != 2 {
			t.Fatalf("room frame %+v", f)
		}
	}
	long, blank := strings.Repeat("t", model.MaxTopicRunes+1), " "
	for _, c := range []struct {
		tok  string
		body model.PatchRoomRequest
		want int
	}{
		{carol.auth.AccessToken, model.PatchRoomRequest{Name: &name}, 403},
		{alice.auth.AccessToken, model.PatchRoomRequest{Topic: &long}, 400},
		{alice.auth.AccessToken, model.PatchRoomRequest{Name: &blank}, 400},
	} {
		if st := in.Do(t, "PATCH", "/api/rooms/"+room.ID, c.tok, c.body, nil); st != c.want {
			t.Fatalf("patch %+v: %d, want %d", c.body, st, c.want)
		}
	}
	var dm model.Room
	in.Do(t, "POST", "/api/dm", alice.auth.AccessToken, model.DMRequest{UserID: bob.auth.UserID}, &dm)
	if st := in.Do(t, "PATCH", "/api/rooms/"+dm.ID, alice.auth.AccessToken, model.PatchRoomRequest{Name: &name}, nil); st != 400 {
		t.Fatalf("patch a direct room: %d", st)
	}

	// Adding members: any member, known users only, at most 100, not direct rooms.
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/members", bob.auth.AccessToken, model.AddMembersRequest{UserIDs: []string{"nobody"}}, nil); st != 400 {
		t.Fatalf("unknown user: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/members", bob.auth.AccessToken, model.AddMembersRequest{UserIDs: make([]string, 101)}, nil); st != 400 {
		t.Fatalf("101 users: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+dm.ID+"/members", bob.auth.AccessToken, model.AddMembersRequest{UserIDs: []string{carol.auth.UserID}}, nil); st != 400 {
		t.Fatalf("add to a direct room: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/members", carol.auth.AccessToken, model.AddMembersRequest{UserIDs: []string{carol.auth.UserID}}, nil); st != 403 {
		t.Fatalf("a non-member adds: %d", st)
	}
	var grown model.Room
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/members", bob.auth.AccessToken, model.AddMembersRequest{UserIDs: []string{carol.auth.UserID, carol.auth.UserID}}, &grown); st != 200 || grown.MemberCount != 3 {
		t.Fatalf("add: %d %+v", st, grown)
	}
	for _, u := range []*user{alice, bob, carol} {
		f := u.c.WaitFor(t, "grown", func(f model.Frame) bool { return f.Type == model.TypeRoom && f.ID == room.ID })
		if f.MemberCount != 3 || f.Topic != topic {
			t.Fatalf("room frame %+v", f)
		}
	}
	id := carol.send(t, room.ID, "hello team")
	carol.wantAck(t, id)

	// Leaving: room_left to the one who left, a room frame to the rest, and nothing
	// more of the room reaches them.
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/leave", carol.auth.AccessToken, nil, nil); st != 200 {
		t.Fatalf("leave: %d", st)
	}
	carol.c.WaitFor(t, "room_left", func(f model.Frame) bool {
		return f.Type == model.TypeRoomLeft && f.RoomID == room.ID
	})
	if f := alice.c.WaitFor(t, "room after leave", func(f model.Frame) bool { return f.Type == model.TypeRoom && f.MemberCount == 2 }); f.ID != room.ID {
		t.Fatalf("room frame %+v", f)
	}
	after := alice.send(t, room.ID, "carol is gone")
	alice.wantAck(t, after)
	marker := alice.send(t, "general", "marker")
	carol.c.WaitFor(t, "marker", func(f model.Frame) bool {
		if f.RoomID == room.ID {
			t.Fatalf("frame of a room left: %+v", f)
		}
		return f.ID == marker
	})
	id = carol.send(t, room.ID, "let me back")
	carol.wantError(t, id, model.CodeForbidden)
	if st := in.Do(t, "GET", "/api/rooms/"+room.ID+"/messages", carol.auth.AccessToken, nil, nil); st != 403 {
		t.Fatalf("history after leave: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/leave", carol.auth.AccessToken, nil, nil); st != 403 {
		t.Fatalf("leave twice: %d", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+dm.ID+"/leave", alice.auth.AccessToken, nil, nil); st != 400 {
		t.Fatalf("leave a direct room: %d", st)
	}
	// Leaving general is allowed.
	if st := in.Do(t, "POST", "/api/rooms/general/leave", carol.auth.AccessToken, nil, nil); st != 200 {
		t.Fatalf("leave general: %d", st)
	}
	carol.c.WaitFor(t, "room_left general", func(f model.Frame) bool { return f.Type == model.TypeRoomLeft && f.RoomID == "general" })
	var rooms model.RoomsResponse
	if in.Do(t, "GET", "/api/rooms", carol.auth.AccessToken, nil, &rooms); len(rooms.Rooms) != 0 {
		t.Fatalf("carol's rooms after leaving all: %+v", rooms)
	}
}

func TestPublicRoomDirectory(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	var cats, dogs, secret model.Room
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "Cat pictures", Public: true}, &cats)
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "Dog pictures", Public: true}, &dogs)
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "secret pictures"}, &secret)
	topic := "meow"
	in.Do(t, "PATCH", "/api/rooms/"+cats.ID, alice.auth.AccessToken, model.PatchRoomRequest{Topic: &topic}, nil)
	alice.wantAck(t, alice.send(t, cats.ID, "a cat")) // the most recently active

	var dir model.PublicRoomsResponse
	if st := in.Do(t, "GET", "/api/rooms/public?query=PICTURES", bob.auth.AccessToken, nil, &dir); st != 200 {
		t.Fatalf("directory: %d", st)
	}
	if len(dir.Rooms) != 2 || dir.Rooms[0].ID != cats.ID || dir.Rooms[1].ID != dogs.ID {
		t.Fatalf("directory %+v", dir)
	}
	if c := dir.Rooms[0]; c.Topic != "meow" || c.MemberCount != 1 || c.LastActivity.IsZero() || c.Name != "Cat pictures" {
		t.Fatalf("entry %+v", c)
	}
	if in.Do(t, "GET", "/api/rooms/public?limit=1", bob.auth.AccessToken, nil, &dir); len(dir.Rooms) != 1 || dir.Rooms[0].ID != cats.ID {
		t.Fatalf("limit 1: %+v", dir)
	}
	if in.Do(t, "GET", "/api/rooms/public", bob.auth.AccessToken, nil, &dir); len(dir.Rooms) != 3 { // general too
		t.Fatalf("all public rooms: %+v", dir)
	}
	if st := in.Do(t, "GET", "/api/rooms/public?limit=0", bob.auth.AccessToken, nil, nil); st != 400 {
		t.Fatalf("limit 0: %d", st)
	}
	if st := in.Do(t, "GET", "/api/rooms/public", "", nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("no token: %d", st)
	}
}

func TestSearch(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	var priv model.Room
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "private"}, &priv)
	older := alice.send(t, "general", "Meeting notes for Tuesday")
	alice.wantAck(t, older)
	newer := alice.send(t, "general", "the meeting moved; notes follow")
	alice.wantAck(t, newer)
	alice.wantAck(t, alice.send(t, "general", "unrelated"))
	hidden := alice.send(t, priv.ID, "meeting notes only alice sees")
	alice.wantAck(t, hidden)

	search := func(u *user, query string) (int, []string) {
		var res model.SearchResponse
		st := in.Do(t, "GET", "/api/search?"+query, u.auth.AccessToken, nil, &res)
		var ids []string
		for _, m := range res.Messages {
			ids = append(ids, m.ID)
		}
		return st, ids
	}
	if st, ids := search(bob, "q=NOTES+meeting"); st != 200 || len(ids) != 2 || ids[0] != newer || ids[1] != older {
		t.Fatalf("bob's search: %d %q", st, ids)
	}
	if _, ids := search(alice, "q=meeting%20notes"); len(ids) != 3 || ids[0] != hidden {
		t.Fatalf("alice's search: %q", ids)
	}
	if _, ids := search(alice, "q=meeting&roomId=general&limit=1"); len(ids) != 1 || ids[0] != newer {
		t.Fatalf("one room, limit 1: %q", ids)
	}
	if st, _ := search(bob, "q=meeting&roomId="+priv.ID); st != 403 {
		t.Fatalf("a room bob is not in: %d", st)
	}
	if st, _ := search(bob, "q=+"); st != 400 {
		t.Fatalf("blank query: %d", st)
	}
	// A deleted message never matches; an edited one matches its new text.
	alice.wantAck(t, alice.sendUpdate(t, model.Frame{Type: model.TypeDelete, RoomID: "general", TargetID: older}))
	alice.wantAck(t, alice.sendUpdate(t, editFrame("general", newer, "the gathering moved")))
	if _, ids := search(bob, "q=meeting"); len(ids) != 0 {
		t.Fatalf("deleted or edited away still match: %q", ids)
	}
	if _, ids := search(bob, "q=gathering"); len(ids) != 1 || ids[0] != newer {
		t.Fatalf("edited text: %q", ids)
	}
}
