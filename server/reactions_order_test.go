package server_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// foldReaction is a client's fold of a react update: its sender joins the end of the
// emoji's list, or leaves it.
func foldReaction(r model.Reactions, f model.Frame) model.Reactions {
	if r == nil {
		r = model.Reactions{}
	}
	users := r[f.Emoji]
	i := slices.Index(users, f.SenderID)
	switch {
	case *f.On && i < 0:
		r[f.Emoji] = append(users, f.SenderID)
	case !*f.On && i >= 0:
		if users = slices.Delete(users, i, i+1); len(users) == 0 {
			delete(r, f.Emoji)
		} else {
			r[f.Emoji] = users
		}
	}
	return r
}

// TestReactionOrder: a message's reactions list each emoji's users in the order they
// reacted, by the seq of the react that put them there (one taken back and given
// again moves to the end; a repeated react moves no one). The order is the same for
// a member folding the live updates, for one folding a sync replay (the messages
// there carry no reactions: the replay's updates bring them), in the history and in
// search results.
func TestReactionOrder(t *testing.T) {
	in := servertest.Start(t, testConfig())
	users := map[string]*user{}
	for _, name := range []string{"alice", "bob", "carol", "watcher"} {
		users[name] = connect(t, in, name)
	}
	alice, watcher := users["alice"], users["watcher"]
	m := alice.send(t, "general", "react to this")
	alice.wantAck(t, m)
	var live model.Reactions
	if f := watcher.c.WaitFor(t, "the message", func(f model.Frame) bool { return f.ID == m }); len(f.Reactions) != 0 {
		t.Fatalf("a new message with reactions: %+v", f.Reactions)
	}
	for _, r := range []struct {
		who, emoji string
		on         bool
	}{
		{"bob", "👍", true}, {"carol", "👍", true}, {"bob", "👍", false}, {"bob", "👍", true},
		{"alice", "👍", true}, {"carol", "👍", true}, // carol again: she stays first
		{"alice", "🎉", true}, {"bob", "🎉", true}, {"alice", "🎉", false},
	} {
		u := users[r.who]
		id := u.sendUpdate(t, reactFrame("general", m, r.emoji, r.on))
		u.wantAck(t, id)
		live = foldReaction(live, watcher.updateOf(t, id))
	}
	uid := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, users[n].auth.UserID)
		}
		return out
	}
	want := model.Reactions{"👍": uid("carol", "bob", "alice"), "🎉": uid("bob")}
	if fmt.Sprint(live) != fmt.Sprint(want) {
		t.Fatalf("folded live: %v, want %v", live, want)
	}

	late := reconnect(t, in, users["carol"])
	late.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "general"})
	var replayed model.Reactions
	for {
		f := late.c.Next(t)
		if f.Type == model.TypeSynced && !f.More {
			break
		}
		switch {
		case f.Type == model.TypeMessage && f.ID == m:
			replayed = f.Reactions
		case f.Type == model.TypeUpdate && f.TargetID == m && f.Op == model.OpReact:
			replayed = foldReaction(replayed, f)
		}
	}
	if fmt.Sprint(replayed) != fmt.Sprint(want) {
		t.Fatalf("folded from a sync replay: %v, want %v", replayed, want)
	}

	for _, msg := range history(t, in, alice, "general") {
		if msg.ID == m && fmt.Sprint(msg.Reactions) != fmt.Sprint(want) {
			t.Fatalf("history: %v, want %v", msg.Reactions, want)
		}
	}
	var found model.SearchResponse
	if st := in.Do(t, "GET", "/api/search?q=react", alice.auth.AccessToken, nil, &found); st != 200 || len(found.Messages) != 1 {
		t.Fatalf("search: %d %+v", st, found)
	}
	if got := found.Messages[0].Reactions; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("search: %v, want %v", got, want)
	}
}
