package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// sendUpdate sends an edit, delete or react frame with a new id and answers the id.
func (u *user) sendUpdate(t testing.TB, f model.Frame) string {
	t.Helper()
	if f.ID == "" {
		f.ID = model.NewMessageID()
	}
	u.c.Send(t, f)
	return f.ID
}

func editFrame(roomID, targetID, content string) model.Frame {
	return model.Frame{Type: model.TypeEdit, RoomID: roomID, TargetID: targetID, Content: content}
}

func reactFrame(roomID, targetID, emoji string, on bool) model.Frame {
	return model.Frame{Type: model.TypeReact, RoomID: roomID, TargetID: targetID, Emoji: emoji, On: &on}
}

// wantError waits for the answer naming id and checks it is an error of code.
func (u *user) wantError(t testing.TB, id, code string) {
	t.Helper()
	if f := u.ackOf(t, id); f.Type != model.TypeError || f.Code != code {
		t.Fatalf("answer to %s: %+v, want error %s", id, f, code)
	}
}

// wantAck waits for the ack naming id and answers it.
func (u *user) wantAck(t testing.TB, id string) model.Frame {
	t.Helper()
	f := u.ackOf(t, id)
	if f.Type != model.TypeAck {
		t.Fatalf("answer to %s: %+v, want ack", id, f)
	}
	return f
}

// updateOf waits for the update frame of id.
func (u *user) updateOf(t testing.TB, id string) model.Frame {
	t.Helper()
	return u.c.WaitFor(t, "update "+id, func(f model.Frame) bool { return f.Type == model.TypeUpdate && f.ID == id })
}

func history(t *testing.T, in *servertest.Instance, u *user, roomID string) []model.Message {
	t.Helper()
	var h model.MessagesResponse
	if st := in.Do(t, "GET", "/api/rooms/"+roomID+"/messages", u.auth.AccessToken, nil, &h); st != 200 {
		t.Fatalf("history: %d", st)
	}
	return h.Messages
}

func TestRepliesEditsDeletesReactions(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")

	m1 := alice.send(t, "general", "hello wrold")
	ack1 := alice.wantAck(t, m1)
	bob.c.WaitFor(t, "m1", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == m1 })

	// A reply names a message of the same room, and travels with it.
	reply := model.NewMessageID()
	bob.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: reply, RoomID: "general", Content: "hi", ReplyTo: m1})
	bob.wantAck(t, reply)
	if f := alice.c.WaitFor(t, "reply", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == reply }); f.ReplyTo != m1 {
		t.Fatalf("reply frame %+v", f)
	}
	var priv model.Room
	in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "alone"}, &priv)
	alice.c.WaitType(t, model.TypeRoom)
	elsewhere := alice.send(t, priv.ID, "in another room")
	alice.wantAck(t, elsewhere)
	for _, target := range []string{elsewhere, model.NewMessageID()} {
		id := model.NewMessageID()
		alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: "general", Content: "x", ReplyTo: target})
		alice.wantError(t, id, model.CodeNotFound)
	}

	// An edit takes the next seq, is acked, reaches every member, and a resend of its
	// id answers the same ack.
	edit := alice.sendUpdate(t, editFrame("general", m1, "hello world"))
	ack := alice.wantAck(t, edit)
	if ack.Seq != ack1.Seq+2 || ack.RoomID != "general" || ack.Timestamp.IsZero() {
		t.Fatalf("edit ack %+v after message seq %d", ack, ack1.Seq)
	}
	for _, u := range []*user{alice, bob} {
		f := u.updateOf(t, edit)
		if f.Op != model.OpEdit || f.TargetID != m1 || f.Content != "hello world" || f.Seq != ack.Seq || f.SenderID != alice.auth.UserID || f.SenderName != "alice" {
			t.Fatalf("update frame %+v", f)
		}
	}
	f := editFrame("general", m1, "hello world")
	f.ID = edit
	alice.c.Send(t, f)
	if again := alice.wantAck(t, edit); again.Seq != ack.Seq || !again.Timestamp.Equal(ack.Timestamp.Time) {
		t.Fatalf("resent edit %+v, first %+v", again, ack)
	}

	// Refusals.
	bob.wantError(t, bob.sendUpdate(t, editFrame("general", m1, "mine now")), model.CodeForbidden)
	bob.wantError(t, bob.sendUpdate(t, model.Frame{Type: model.TypeDelete, RoomID: "general", TargetID: m1}), model.CodeForbidden)
	alice.wantError(t, alice.sendUpdate(t, editFrame("general", elsewhere, "x")), model.CodeNotFound)
	alice.wantError(t, alice.sendUpdate(t, editFrame("general", m1, "  ")), model.CodeInvalid)
	alice.wantError(t, alice.sendUpdate(t, editFrame(priv.ID, m1, "x")), model.CodeNotFound)
	bob.wantError(t, bob.sendUpdate(t, editFrame(priv.ID, elsewhere, "x")), model.CodeForbidden) // not a member
	stolen := reactFrame("general", m1, "👍", true)
	stolen.ID = edit // alice's update id
	bob.c.Send(t, stolen)
	bob.wantError(t, edit, model.CodeConflict)
	for _, e := range []string{strings.Repeat("👍", 2), "", "ab", "👍" + strings.Repeat("\U0001F3FB", 8)} {
		bob.wantError(t, bob.sendUpdate(t, reactFrame("general", m1, e, true)), model.CodeInvalid)
	}
	noOn := model.Frame{Type: model.TypeReact, RoomID: "general", TargetID: m1, Emoji: "👍"}
	bob.wantError(t, bob.sendUpdate(t, noOn), model.CodeInvalid)

	// Reactions: any member; at most 20 distinct emoji on one message.
	thumbs := bob.sendUpdate(t, reactFrame("general", m1, "👍", true))
	bob.wantAck(t, thumbs)
	if f := alice.updateOf(t, thumbs); f.Op != model.OpReact || f.Emoji != "👍" || f.On == nil || !*f.On || f.SenderID != bob.auth.UserID {
		t.Fatalf("react frame %+v", f)
	}
	many := []string{"😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "🥲", "😚"}
	for _, e := range many {
		alice.wantAck(t, alice.sendUpdate(t, reactFrame("general", m1, e, true)))
	}
	alice.wantError(t, alice.sendUpdate(t, reactFrame("general", m1, "🙂", true)), model.CodeInvalid)
	off := alice.sendUpdate(t, reactFrame("general", m1, many[0], false))
	alice.wantAck(t, off)
	if f := bob.updateOf(t, off); f.On == nil || *f.On {
		t.Fatalf("react off frame %+v", f)
	}
	alice.wantAck(t, alice.sendUpdate(t, reactFrame("general", m1, "🙂", true))) // the 20th again

	// History folds the state in and pages over messages only.
	h := history(t, in, bob, "general")
	if len(h) != 2 || h[0].ID != m1 || h[1].ID != reply || h[1].ReplyTo != m1 {
		t.Fatalf("history %+v", h)
	}
	if h[0].Content != "hello world" || h[0].EditedAt.IsZero() || len(h[0].Reactions) != 20 || !slices.Equal(h[0].Reactions["👍"], []string{bob.auth.UserID}) {
		t.Fatalf("folded %+v", h[0])
	}

	// A delete drops the content for everyone; the message cannot be edited again.
	del := alice.sendUpdate(t, model.Frame{Type: model.TypeDelete, RoomID: "general", TargetID: m1})
	alice.wantAck(t, del)
	if f := bob.updateOf(t, del); f.Op != model.OpDelete || f.TargetID != m1 || f.Content != "" {
		t.Fatalf("delete frame %+v", f)
	}
	alice.wantError(t, alice.sendUpdate(t, editFrame("general", m1, "back")), model.CodeInvalid)
	h = history(t, in, bob, "general")
	if !h[0].Deleted || h[0].Content != "" || h[0].Reactions != nil || h[0].Attachment != nil {
		t.Fatalf("deleted in history %+v", h[0])
	}

	// Updates never make a room unread: bob has read up to his reply (his own), and
	// everything after it is alice's updates.
	bob.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: "general", Seq: ack1.Seq})
	var rooms model.RoomsResponse
	waitRooms := func() model.Room {
		in.Do(t, "GET", "/api/rooms", bob.auth.AccessToken, nil, &rooms)
		for _, r := range rooms.Rooms {
			if r.ID == "general" {
				return r
			}
		}
		t.Fatal("no general")
		return model.Room{}
	}
	alice.c.WaitFor(t, "bob's read", func(f model.Frame) bool { return f.Type == model.TypeReceipt && f.UserID == bob.auth.UserID })
	if g := waitRooms(); g.Unread != 0 || g.MemberCount != 2 {
		t.Fatalf("general after updates: %+v", g)
	}
}

func TestUpdatesReplayInSyncAndResendAfterReconnect(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	m1 := alice.send(t, "general", "first")
	base := alice.wantAck(t, m1).Seq
	bob.c.WaitFor(t, "m1", func(f model.Frame) bool { return f.ID == m1 })
	bob.c.Close()

	// While bob is away: an edit, a message, a reaction.
	edit := alice.sendUpdate(t, editFrame("general", m1, "first, edited"))
	alice.wantAck(t, edit)
	m2 := alice.send(t, "general", "second")
	alice.wantAck(t, m2)
	react := alice.sendUpdate(t, reactFrame("general", m2, "🎉", true))
	last := alice.wantAck(t, react).Seq

	bob = reconnect(t, in, bob)
	bob.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "general", AfterSeq: base})
	var got []string
	for {
		f := bob.c.Next(t)
		if f.Type == model.TypeSynced {
			if f.Seq != last || f.More {
				t.Fatalf("synced %+v, want seq %d", f, last)
			}
			break
		}
		if f.Type == model.TypeMessage || f.Type == model.TypeUpdate {
			got = append(got, fmt.Sprintf("%d %s %s", f.Seq, f.Type, f.ID))
		}
	}
	want := []string{fmt.Sprintf("%d update %s", base+1, edit), fmt.Sprintf("%d message %s", base+2, m2), fmt.Sprintf("%d update %s", base+3, react)}
	if !slices.Equal(got, want) {
		t.Fatalf("replay %q, want %q", got, want)
	}

	// Alice's connection drops before she hears her ack: she resends on a new one,
	// and gets the same seq; nobody hears the update twice.
	alice.c.Close()
	alice = reconnect(t, in, alice)
	f := reactFrame("general", m2, "🎉", true)
	f.ID = react
	alice.c.Send(t, f)
	if a := alice.wantAck(t, react); a.Seq != last {
		t.Fatalf("resend after reconnect: %+v, want seq %d", a, last)
	}
	marker := alice.send(t, "general", "marker")
	bob.c.WaitFor(t, "marker", func(f model.Frame) bool {
		if f.Type == model.TypeUpdate {
			t.Fatalf("update fanned out again: %+v", f)
		}
		return f.ID == marker
	})
}

// TestProtocol10ClientAcrossUpdates is a 1.0 client: it knows only 1.0's frames and
// ignores the rest. It sees every message in order and syncs across the seqs updates
// took without an error.
func TestProtocol10ClientAcrossUpdates(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	old := connect(t, in, "oldclient")
	known := map[string]bool{model.TypeHello: true, model.TypeMessage: true, model.TypeAck: true, model.TypeReceipt: true,
		model.TypeSynced: true, model.TypeTyping: true, model.TypeStopTyping: true, model.TypeUserJoined: true,
		model.TypeUserLeft: true, model.TypeRoom: true, model.TypePong: true, model.TypeError: true}
	var ids []string
	for i := range 6 {
		id := alice.send(t, "general", fmt.Sprint("message ", i))
		alice.wantAck(t, id)
		ids = append(ids, id)
		alice.wantAck(t, alice.sendUpdate(t, reactFrame("general", id, "👍", true)))
		if i%2 == 0 {
			alice.wantAck(t, alice.sendUpdate(t, editFrame("general", id, fmt.Sprint("message ", i, " edited"))))
		}
	}
	// Live: the messages in order, unknown frames ignored, no error.
	var live []string
	var lastSeq int64
	old.c.WaitFor(t, "last message", func(f model.Frame) bool {
		if !known[f.Type] {
			return false
		}
		if f.Type == model.TypeError {
			t.Fatalf("1.0 client got %+v", f)
		}
		if f.Type == model.TypeMessage {
			if f.Seq <= lastSeq {
				t.Fatalf("seq %d after %d", f.Seq, lastSeq)
			}
			lastSeq = f.Seq
			live = append(live, f.ID)
		}
		return f.ID == ids[len(ids)-1]
	})
	if !slices.Equal(live, ids) {
		t.Fatalf("live %q, want %q", live, ids)
	}
	// A sync from zero, as a 1.0 client does after a reconnect: the messages in order,
	// then synced at the room's last seq (an update's), which it then sends as read.
	old.c.Close()
	old = reconnect(t, in, old)
	old.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "general", AfterSeq: 0})
	var synced []string
	var end model.Frame
	old.c.WaitFor(t, "synced", func(f model.Frame) bool {
		switch {
		case f.Type == model.TypeError:
			t.Fatalf("1.0 client got %+v", f)
		case f.Type == model.TypeMessage:
			synced = append(synced, f.ID)
		case f.Type == model.TypeSynced:
			end = f
			return true
		}
		return false
	})
	if !slices.Equal(synced, ids) || end.More {
		t.Fatalf("sync %q, want %q (%+v)", synced, ids, end)
	}
	old.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: "general", Seq: end.Seq})
	old.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "general", AfterSeq: end.Seq})
	if f := old.c.WaitFor(t, "synced again", func(f model.Frame) bool { return f.Type == model.TypeSynced || f.Type == model.TypeError }); f.Type != model.TypeSynced || f.Seq != end.Seq {
		t.Fatalf("sync at the end: %+v", f)
	}
	id := old.send(t, "general", "still works")
	if a := old.wantAck(t, id); a.Seq != end.Seq+1 {
		t.Fatalf("send after updates: %+v, want seq %d", a, end.Seq+1)
	}
	var rooms model.RoomsResponse
	in.Do(t, "GET", "/api/rooms", old.auth.AccessToken, nil, &rooms)
	if st := rooms.Rooms[0]; st.Unread != 0 {
		t.Fatalf("unread after reading to the end: %+v", st)
	}
}

// TestSyncPagesAcrossUpdates: a replay longer than a page goes on from the last seq of
// the page, whether that was a message's or an update's.
func TestSyncPagesAcrossUpdates(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	id := alice.send(t, "general", "target")
	alice.wantAck(t, id)
	const n = model.SyncPageSize + 10
	var lastAck model.Frame
	for i := range n {
		var up string
		if i%2 == 0 {
			up = alice.sendUpdate(t, reactFrame("general", id, "👍", i%4 == 0))
		} else {
			up = alice.send(t, "general", fmt.Sprint(i))
		}
		if i%50 == 49 || i == n-1 {
			lastAck = alice.wantAck(t, up)
		}
	}
	// The live frames of the sends first.
	alice.c.WaitFor(t, "live frames", func(f model.Frame) bool {
		if f.Type == model.TypeError {
			t.Fatalf("refused: %+v", f)
		}
		return (f.Type == model.TypeMessage || f.Type == model.TypeUpdate) && f.Seq == lastAck.Seq
	})
	seqs := []int64{}
	after := int64(0)
	for pages := 0; ; pages++ {
		alice.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "general", AfterSeq: after})
		f := alice.c.WaitFor(t, "page", func(f model.Frame) bool {
			if (f.Type == model.TypeMessage || f.Type == model.TypeUpdate) && f.Seq > after {
				seqs = append(seqs, f.Seq)
			}
			return f.Type == model.TypeSynced
		})
		if !f.More {
			break
		}
		after = seqs[len(seqs)-1]
		if pages > 3 {
			t.Fatal("too many pages")
		}
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("replayed seq %d at %d (of %d, last %d)", s, i, len(seqs), lastAck.Seq)
		}
	}
	if int64(len(seqs)) != lastAck.Seq {
		t.Fatalf("%d replayed, last seq %d", len(seqs), lastAck.Seq)
	}
	if lastAck.Seq != n+1 {
		t.Fatalf("last seq %d, want %d", lastAck.Seq, n+1)
	}
}
