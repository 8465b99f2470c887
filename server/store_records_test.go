package server

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestStoreUsers: accounts by id and by name, a taken username, search by part of the
// name (wildcards matched literally, no password hashes answered).
func TestStoreUsers(t *testing.T) { eachBackend(t, testStoreUsers) }

func testStoreUsers(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
	ctx := context.Background()
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "general", Name: "general", Public: true, Epoch: "e"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []UserRecord{
		{ID: "u1", Username: "alice", DisplayName: "Alice Liddell", PasswordHash: []byte{0, 1, 2, 255}, CreatedAtMs: 1},
		{ID: "u2", Username: "bob_b", DisplayName: "Bob 100%", PasswordHash: []byte("h"), CreatedAtMs: 2},
	} {
		if err := st.CreateUser(ctx, u, "general"); err != nil {
			t.Fatalf("create %s: %v", u.Username, err)
		}
	}
	if err := st.CreateUser(ctx, UserRecord{ID: "u3", Username: "alice", DisplayName: "x", PasswordHash: []byte("h")}, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("taken username: %v, want ErrConflict", err)
	}
	u, err := st.UserByUsername(ctx, "alice")
	if err != nil || u.ID != "u1" || !slices.Equal(u.PasswordHash, []byte{0, 1, 2, 255}) || u.CreatedAtMs != 1 {
		t.Fatalf("by name: %+v %v", u, err)
	}
	if u, err := st.UserByID(ctx, "u2"); err != nil || u.Username != "bob_b" {
		t.Fatalf("by id: %+v %v", u, err)
	}
	if _, err := st.UserByID(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing id: %v", err)
	}
	if _, err := st.UserByUsername(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing name: %v", err)
	}
	for q, want := range map[string][]string{"": {"alice", "bob_b"}, "LIDD": {"alice"}, "_": {"bob_b"}, "%": {"bob_b"}, "zz": nil} {
		got, err := st.SearchUsers(ctx, q, 10)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range got {
			if g.PasswordHash != nil {
				t.Fatalf("search %q answered a password hash", q)
			}
			names = append(names, g.Username)
		}
		if !slices.Equal(names, want) {
			t.Fatalf("search %q: %v, want %v", q, names, want)
		}
	}
	if ids, err := st.RoomIDsOf(ctx, "u1"); err != nil || !slices.Equal(ids, []string{"general"}) {
		t.Fatalf("alice's rooms: %v %v", ids, err)
	}
}

// TestStoreRoomsAndMarks: rooms with members, direct rooms by their pair, joins, and
// marks that only move forward (what was read was delivered).
func TestStoreRoomsAndMarks(t *testing.T) { eachBackend(t, testStoreRoomsAndMarks) }

func testStoreRoomsAndMarks(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
	ctx := context.Background()
	for _, id := range []string{"u1", "u2", "u3"} {
		if err := st.CreateUser(ctx, UserRecord{ID: id, Username: id, DisplayName: id, PasswordHash: []byte("h")}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateRoom(ctx, RoomRecord{ID: "r", Name: "Room", Public: true, Epoch: "e1", MemberIDs: []string{"u1", "u2"}}); err != nil {
		t.Fatal(err)
	}
	dm := RoomRecord{ID: "d", Name: "", Direct: true, DirectKey: "u1|u3", Epoch: "e2", MemberIDs: []string{"u1", "u3"}}
	if err := st.CreateRoom(ctx, dm); err != nil {
		t.Fatal(err)
	}
	dm.ID = "d2"
	if err := st.CreateRoom(ctx, dm); !errors.Is(err, ErrConflict) {
		t.Fatalf("second direct room of a pair: %v, want ErrConflict", err)
	}
	if err := st.EnsureRoom(ctx, RoomRecord{ID: "r", Name: "renamed", Epoch: "x"}); err != nil {
		t.Fatal(err)
	}
	r, err := st.Room(ctx, "r")
	if err != nil || r.Name != "Room" || !r.Public || r.Epoch != "e1" || !slices.Equal(r.MemberIDs, []string{"u1", "u2"}) {
		t.Fatalf("room: %+v %v", r, err)
	}
	if d, err := st.DirectRoom(ctx, "u1|u3"); err != nil || d.ID != "d" || !d.Direct {
		t.Fatalf("direct room: %+v %v", d, err)
	}
	if _, err := st.Room(ctx, "none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing room: %v", err)
	}
	if err := st.AddMember(ctx, "r", "u3"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, "r", "u3"); err != nil {
		t.Fatalf("joining twice: %v", err)
	}
	if _, err := st.AppendMessages(ctx, []NewMessage{{ID: "m1", RoomID: "r", SenderID: "u1"}, {ID: "m2", RoomID: "r", SenderID: "u1"}}); err != nil {
		t.Fatal(err)
	}
	res, err := st.SetMarks(ctx, []Mark{{RoomID: "r", UserID: "u2", ReadSeq: 2}, {RoomID: "r", UserID: "u3", DeliveredSeq: 1}})
	if err != nil || !res[0].Moved || res[0].DeliveredSeq != 2 || res[0].ReadSeq != 2 || !res[1].Moved || res[1].DeliveredSeq != 1 {
		t.Fatalf("marks: %+v %v", res, err)
	}
	res, err = st.SetMarks(ctx, []Mark{{RoomID: "r", UserID: "u2", DeliveredSeq: 1, ReadSeq: 1}})
	if err != nil || res[0].Moved || res[0].ReadSeq != 2 {
		t.Fatalf("a mark back: %+v %v", res, err)
	}
	if _, err := st.SetMarks(ctx, []Mark{{RoomID: "d", UserID: "u2", ReadSeq: 1}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a mark of a non-member: %v", err)
	}
	rooms, err := st.RoomsOf(ctx, "u3")
	if err != nil || len(rooms) != 2 {
		t.Fatalf("rooms of u3: %+v %v", rooms, err)
	}
	for _, mr := range rooms {
		if mr.ID == "r" && (mr.LastSeq != 2 || mr.DeliveredSeq != 1 || mr.ReadSeq != 0 || len(mr.MemberIDs) != 3) {
			t.Fatalf("u3 in r: %+v", mr)
		}
	}
	if msgs, err := st.MessagesBefore(ctx, "r", 3, 1); err != nil || len(msgs) != 1 || msgs[0].ID != "m2" {
		t.Fatalf("before: %+v %v", msgs, err)
	}
}

// TestStoreRefreshTokens: a token rotates once; rotating it again is ErrConflict, and
// revoking the family marks every token of it.
func TestStoreRefreshTokens(t *testing.T) { eachBackend(t, testStoreRefreshTokens) }

func testStoreRefreshTokens(t *testing.T, be storeBackend) {
	st := openTestStore(t, be)
	ctx := context.Background()
	if err := st.CreateRefresh(ctx, RefreshRecord{Hash: "h1", UserID: "u", FamilyID: "f", ExpiresAtMs: 10}); err != nil {
		t.Fatal(err)
	}
	old, err := st.RotateRefresh(ctx, "h1", RefreshRecord{Hash: "h2", UserID: "u", FamilyID: "f", ExpiresAtMs: 20})
	if err != nil || old.UserID != "u" || old.ExpiresAtMs != 10 {
		t.Fatalf("rotate: %+v %v", old, err)
	}
	if _, err := st.RotateRefresh(ctx, "h1", RefreshRecord{Hash: "h3", UserID: "u", FamilyID: "f"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("rotate a spent token: %v, want ErrConflict", err)
	}
	if _, err := st.RotateRefresh(ctx, "none", RefreshRecord{Hash: "h4"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rotate a missing token: %v, want ErrNotFound", err)
	}
	if err := st.RevokeFamily(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h1", "h2"} {
		r, err := st.RefreshByHash(ctx, h)
		if err != nil || !r.Revoked {
			t.Fatalf("%s after revoke: %+v %v", h, r, err)
		}
	}
	if _, err := st.RefreshByHash(ctx, "h3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("h3 stored though its rotation failed: %v", err)
	}
}
