package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/parleychat/parley/model"
)

// storeWithMessages opens a Store on b with room "r" (members a and b) and room "s"
// (member a), and stores the messages contents in "r" from a, answering their ids.
func storeWithMessages(t *testing.T, b storeBackend, contents ...string) (Store, []string) {
	t.Helper()
	st := openTestStore(t, b)
	ctx := context.Background()
	for _, r := range []RoomRecord{{ID: "r", Name: "Room R", Public: true, Epoch: "e", MemberIDs: []string{"a", "b"}},
		{ID: "s", Name: "Room S", Epoch: "e", MemberIDs: []string{"a"}}} {
		if err := st.CreateRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	var msgs []NewMessage
	for i, c := range contents {
		id := uuid.NewString()
		ids = append(ids, id)
		msgs = append(msgs, NewMessage{ID: id, RoomID: "r", SenderID: "a", SenderName: "A", Content: c, AtMs: int64(1000 + i)})
	}
	if len(msgs) > 0 {
		res, err := st.AppendMessages(ctx, msgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	return st, ids
}

func appendOne(t *testing.T, st Store, u NewUpdate) StoredUpdate {
	t.Helper()
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	res, err := st.AppendUpdates(context.Background(), []NewUpdate{u})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func TestStoreUpdates(t *testing.T) { eachBackend(t, testStoreUpdates) }

func testStoreUpdates(t *testing.T, b storeBackend) {
	ctx := context.Background()
	st, ids := storeWithMessages(t, b, "hello world", "second message")
	// Edit: takes the next seq, changes the content, is idempotent by id.
	edit := NewUpdate{ID: uuid.NewString(), RoomID: "r", SenderID: "a", SenderName: "A", TargetID: ids[0], Op: model.OpEdit, Content: "hello there", AtMs: 5000}
	r := appendOne(t, st, edit)
	if r.Err != nil || !r.New || r.Update.Seq != 3 {
		t.Fatalf("edit %+v", r)
	}
	if again := appendOne(t, st, edit); again.Err != nil || again.New || again.Update.Seq != 3 {
		t.Fatalf("edit again %+v", again)
	}
	other := edit
	other.SenderID = "b"
	if got := appendOne(t, st, other); !errors.Is(got.Err, ErrIDTaken) {
		t.Fatalf("another's id: %+v", got)
	}
	// Refusals take no seq.
	for _, c := range []struct {
		u    NewUpdate
		want error
	}{
		{NewUpdate{RoomID: "r", SenderID: "b", TargetID: ids[0], Op: model.OpEdit, Content: "x"}, ErrNotSender},
		{NewUpdate{RoomID: "r", SenderID: "b", TargetID: ids[0], Op: model.OpDelete}, ErrNotSender},
		{NewUpdate{RoomID: "s", SenderID: "a", TargetID: ids[0], Op: model.OpEdit, Content: "x"}, ErrNotFound},
		{NewUpdate{RoomID: "r", SenderID: "a", TargetID: uuid.NewString(), Op: model.OpReact, Emoji: "👍", On: true}, ErrNotFound},
	} {
		if got := appendOne(t, st, c.u); !errors.Is(got.Err, c.want) {
			t.Fatalf("%+v: %v, want %v", c.u, got.Err, c.want)
		}
	}
	// Reactions: anyone; on twice counts once; off takes it back; 20 distinct at most.
	for _, u := range []NewUpdate{
		{RoomID: "r", SenderID: "b", TargetID: ids[0], Op: model.OpReact, Emoji: "👍", On: true},
		{RoomID: "r", SenderID: "a", TargetID: ids[0], Op: model.OpReact, Emoji: "👍", On: true},
		{RoomID: "r", SenderID: "a", TargetID: ids[0], Op: model.OpReact, Emoji: "👍", On: true},
		{RoomID: "r", SenderID: "a", TargetID: ids[0], Op: model.OpReact, Emoji: "🎉", On: true},
		{RoomID: "r", SenderID: "a", TargetID: ids[0], Op: model.OpReact, Emoji: "🎉", On: false},
	} {
		if got := appendOne(t, st, u); got.Err != nil || !got.New {
			t.Fatalf("react %+v: %+v", u, got)
		}
	}
	m, err := st.MessageByID(ctx, "r", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Content != "hello there" || m.EditedAt.UnixMilli() != 5000 || len(m.Reactions) != 1 || !slices.Equal(m.Reactions["👍"], []string{"b", "a"}) {
		t.Fatalf("folded %+v", m)
	}
	for i := range model.MaxReactionsPerMsg - 1 {
		if got := appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "b", TargetID: ids[1], Op: model.OpReact, Emoji: fmt.Sprint(i), On: true}); got.Err != nil {
			t.Fatal(got.Err)
		}
	}
	if got := appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: ids[1], Op: model.OpReact, Emoji: "0", On: true}); got.Err != nil {
		t.Fatalf("a present emoji refused: %v", got.Err)
	}
	if got := appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: ids[1], Op: model.OpReact, Emoji: "🎉", On: true}); got.Err != nil {
		t.Fatalf("20th emoji refused: %v", got.Err)
	}
	if got := appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: ids[1], Op: model.OpReact, Emoji: "👀", On: true}); !errors.Is(got.Err, ErrTooManyReactions) {
		t.Fatalf("21st emoji: %v", got.Err)
	}
	// Delete: the content, the edits' texts and the reactions are gone.
	del := appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: ids[0], Op: model.OpDelete, AtMs: 6000})
	if del.Err != nil {
		t.Fatal(del.Err)
	}
	if got := appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: ids[0], Op: model.OpEdit, Content: "back"}); !errors.Is(got.Err, ErrDeleted) {
		t.Fatalf("edit of a deleted message: %v", got.Err)
	}
	hist, err := st.MessagesBefore(ctx, "r", 1<<62, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || !hist[0].Deleted || hist[0].Content != "" || hist[0].Reactions != nil {
		t.Fatalf("history %+v", hist)
	}
	ups, err := st.UpdatesAfter(ctx, "r", 0, 1<<62, 1000)
	if err != nil {
		t.Fatal(err)
	}
	room, err := st.Room(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	// Every seq is a message's or an update's, once: gap-free.
	if int64(len(ups)+2) != room.LastSeq {
		t.Fatalf("%d updates and 2 messages, last seq %d", len(ups), room.LastSeq)
	}
	for i, u := range ups {
		if u.Seq != int64(i+3) {
			t.Fatalf("update %d has seq %d", i, u.Seq)
		}
		if u.Op == model.OpEdit && u.TargetID == ids[0] && u.Content != "" {
			t.Fatalf("edit of a deleted message keeps its text: %+v", u)
		}
	}
	// Updates are never unread; b's unread count leaves them out.
	own, err := st.OwnUnread(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if own["r"] != int64(len(ups)) {
		t.Fatalf("b's not-unread %d, want the %d updates", own["r"], len(ups))
	}
}

func TestStoreSearch(t *testing.T) { eachBackend(t, testStoreSearch) }

func testStoreSearch(t *testing.T, b storeBackend) {
	ctx := context.Background()
	st, ids := storeWithMessages(t, b, "The quick brown fox", "a lazy dog", "Quick thinking, brown paper", "nothing here")
	res, err := st.AppendMessages(ctx, []NewMessage{{ID: uuid.NewString(), RoomID: "s", SenderID: "a", Content: "quick brown in s", AtMs: 9000}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	contents := func(ms []model.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Content)
		}
		return out
	}
	got, err := st.SearchMessages(ctx, "a", "", "QUICK brown", 50)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"quick brown in s", "Quick thinking, brown paper", "The quick brown fox"}; !slices.Equal(contents(got), want) {
		t.Fatalf("search of a: %q, want %q", contents(got), want)
	}
	if got, _ = st.SearchMessages(ctx, "b", "", "quick brown", 50); len(got) != 2 {
		t.Fatalf("b belongs to r only: %q", contents(got))
	}
	if got, _ = st.SearchMessages(ctx, "a", "s", "quick", 50); len(got) != 1 || got[0].RoomID != "s" {
		t.Fatalf("room s only: %q", contents(got))
	}
	if got, _ = st.SearchMessages(ctx, "a", "", `"quick" OR* dog`, 50); len(got) != 0 {
		t.Fatalf("FTS syntax is not the query's: %q", contents(got))
	}
	// An edit re-indexes; a delete leaves the index.
	appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: ids[1], Op: model.OpEdit, Content: "a lazy cat"})
	appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: ids[0], Op: model.OpDelete})
	if got, _ = st.SearchMessages(ctx, "a", "r", "dog", 50); len(got) != 0 {
		t.Fatalf("edited away: %q", contents(got))
	}
	if got, _ = st.SearchMessages(ctx, "a", "r", "lazy cat", 50); len(got) != 1 {
		t.Fatalf("edited in: %q", contents(got))
	}
	if got, _ = st.SearchMessages(ctx, "a", "r", "fox", 50); len(got) != 0 {
		t.Fatalf("deleted matches: %q", contents(got))
	}
}

func TestStoreRoomSettings(t *testing.T) { eachBackend(t, testStoreRoomSettings) }

func testStoreRoomSettings(t *testing.T, b storeBackend) {
	ctx := context.Background()
	st, _ := storeWithMessages(t, b, "one")
	if err := st.CreateRoom(ctx, RoomRecord{ID: "q", Name: "Quiet Room", Public: true, Epoch: "e", MemberIDs: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	name, topic := "Renamed", "what we talk about"
	rec, err := st.UpdateRoom(ctx, "r", &name, &topic)
	if err != nil || rec.Name != name || rec.Topic != topic {
		t.Fatalf("update %+v %v", rec, err)
	}
	rec, err = st.UpdateRoom(ctx, "r", nil, nil)
	if err != nil || rec.Name != name || rec.Topic != topic {
		t.Fatalf("update nothing %+v %v", rec, err)
	}
	if _, err := st.UpdateRoom(ctx, "nope", &name, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing room: %v", err)
	}
	pub, err := st.PublicRooms(ctx, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	// r has a message (at 1000 ms), q only its creation time, now: q is the more recent.
	if len(pub) != 2 || pub[0].ID != "q" || pub[1].ID != "r" || pub[1].MemberCount != 2 || pub[1].LastActivityMs != 1000 || pub[1].Topic != topic {
		t.Fatalf("directory %+v", pub)
	}
	if pub, _ = st.PublicRooms(ctx, "NAMED", 50); len(pub) != 1 || pub[0].ID != "r" {
		t.Fatalf("directory query %+v", pub)
	}
	if pub, _ = st.PublicRooms(ctx, "%", 50); len(pub) != 0 {
		t.Fatalf("a wildcard matched %+v", pub)
	}
	if ok, err := st.RemoveMember(ctx, "r", "b"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := st.RemoveMember(ctx, "r", "b"); ok || err != nil {
		t.Fatal("removed twice", err)
	}
	if rec, _ = st.Room(ctx, "r"); !slices.Equal(rec.MemberIDs, []string{"a"}) {
		t.Fatalf("members %v", rec.MemberIDs)
	}
}

// TestSearchIndexSurvivesReopen: opening a migrated database again keeps the index
// and what keeps it current.
func TestSearchIndexSurvivesReopen(t *testing.T) { eachBackend(t, testSearchReopen) }

func testSearchReopen(t *testing.T, b storeBackend) {
	ctx := context.Background()
	dsn := b.dsn(t)
	st, err := OpenStore(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateRoom(ctx, RoomRecord{ID: "r", Name: "r", Epoch: "e", MemberIDs: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendMessages(ctx, []NewMessage{{ID: uuid.NewString(), RoomID: "r", SenderID: "a", Content: "before reopen"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = openStoreAt(t, dsn)
	if _, err := st.AppendMessages(ctx, []NewMessage{{ID: uuid.NewString(), RoomID: "r", SenderID: "a", Content: "after reopen"}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.SearchMessages(ctx, "a", "", "reopen", 50)
	if err != nil || len(got) != 2 || got[0].Content != "after reopen" {
		t.Fatalf("search after reopen: %+v %v", got, err)
	}
}

// TestSearchIndexOfAnUpgradedDatabase: a database of protocol 1.0 (messages without
// the 1.1 columns, no search index) is migrated at open, and its messages are found.
func TestSearchIndexOfAnUpgradedDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := storeBackends[0].dsn(t)
	old, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE rooms (id text PRIMARY KEY, name text NOT NULL, public numeric NOT NULL, direct numeric NOT NULL, direct_key text, epoch text NOT NULL, last_seq integer NOT NULL, created_at_ms integer NOT NULL)",
		"CREATE TABLE members (room_id text, user_id text, delivered_seq integer NOT NULL, read_seq integer NOT NULL, joined_at_ms integer NOT NULL, PRIMARY KEY (room_id, user_id))",
		"CREATE TABLE messages (room_id text, id text, seq integer NOT NULL, sender_id text NOT NULL, sender_name text NOT NULL, content text NOT NULL, attachment text NOT NULL, at_ms integer NOT NULL, PRIMARY KEY (room_id, id))",
		"INSERT INTO rooms VALUES ('r', 'r', 1, 0, NULL, 'e', 1, 0)",
		"INSERT INTO members VALUES ('r', 'a', 0, 0, 0)",
		"INSERT INTO messages VALUES ('r', 'm1', 1, 'a', 'A', 'stored by version one', '', 5)",
	} {
		if err := old.Exec(q).Error; err != nil {
			t.Fatal(q, err)
		}
	}
	if db, err := old.DB(); err == nil {
		db.Close()
	}
	st := openStoreAt(t, dsn)
	got, err := st.SearchMessages(ctx, "a", "r", "version", 50)
	if err != nil || len(got) != 1 || got[0].ID != "m1" || got[0].Deleted || got[0].ReplyTo != "" {
		t.Fatalf("search of an upgraded database: %+v %v", got, err)
	}
	r := appendOne(t, st, NewUpdate{RoomID: "r", SenderID: "a", TargetID: "m1", Op: model.OpEdit, Content: "edited after the upgrade"})
	if r.Err != nil || r.Update.Seq != 2 {
		t.Fatalf("edit %+v", r)
	}
	if got, _ = st.SearchMessages(ctx, "a", "r", "version", 50); len(got) != 0 {
		t.Fatalf("old text still matches: %+v", got)
	}
}
