package net

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// offlineSession is a session of a Client that runs nothing: frames are handed to
// handle by the test, and the batch is read with take.
func offlineSession(t testing.TB) (*Client, *session) {
	t.Helper()
	c := benchClient(t)
	s := newSession(c, nil)
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	t.Cleanup(func() {
		s.cancel(nil)
		c.store.Close()
	})
	return c, s
}

func updateFrame(id string, seq int64, sender, target, op string) model.Frame {
	return model.Frame{Type: model.TypeUpdate, ID: id, RoomID: "r1", Seq: seq, SenderID: sender, SenderName: sender,
		TargetID: target, Op: op, Timestamp: model.NewTime(time.Now())}
}

func messageFrame(id string, seq int64, sender, text string) model.Frame {
	return model.Frame{Type: model.TypeMessage, ID: id, RoomID: "r1", Seq: seq, SenderID: sender, SenderName: sender,
		Content: text, Timestamp: model.NewTime(time.Now())}
}

func mustHandle(t testing.TB, s *session, frames ...model.Frame) Batch {
	t.Helper()
	if err := s.handle(frames); err != nil {
		t.Fatalf("handle: %v", err)
	}
	b, _ := s.c.events.take()
	return b
}

// TestUpdateBeforeItsTarget: update frames that come before their target (a live
// update while the replay has not reached it) are kept and folded when it comes; the
// target then shows in its folded form, once, and the updates are no rows.
func TestUpdateBeforeItsTarget(t *testing.T) {
	c, s := offlineSession(t)
	on := true
	e := updateFrame("u-edit", 2, "u2", "m1", model.OpEdit)
	e.Content = "fixed before you saw it"
	r := updateFrame("u-react", 3, "u3", "m1", model.OpReact)
	r.Emoji, r.On = "👍", &on
	b := mustHandle(t, s, e, r)
	if len(b.Messages) != 0 || len(b.Changed) != 0 {
		t.Fatalf("updates without their target reported %+v / %+v", b.Messages, b.Changed)
	}
	b = mustHandle(t, s, messageFrame("m1", 1, "u2", "fixde"))
	if len(b.Messages) != 1 {
		t.Fatalf("target reported %d times", len(b.Messages))
	}
	got := b.Messages[0]
	if got.Content != "fixed before you saw it" || got.EditedAt.IsZero() || fmt.Sprint(got.Reactions) != "map[👍:[u3]]" {
		t.Errorf("target = %+v; want the edit and the reaction folded in", got)
	}
	if ms, _ := c.store.Latest("r1", 50); len(ms) != 1 {
		t.Errorf("the store lists %d rows; want the one message", len(ms))
	}
	// Then a live update of a held message: one changed row, no new one, not unread.
	if _, err := c.store.SetReadSeq("r1", 1); err != nil {
		t.Fatal(err)
	}
	d := updateFrame("u-del", 4, "u2", "m1", model.OpDelete)
	b = mustHandle(t, s, d)
	if len(b.Messages) != 0 || len(b.Changed) != 1 || !b.Changed[0].Deleted || b.Changed[0].Content != "" {
		t.Errorf("delete reported Messages %+v, Changed %+v", b.Messages, b.Changed)
	}
	if room, _, _ := c.store.Room("r1"); room.LastSeq != 4 || room.Unread() != 0 {
		t.Errorf("room: last seq %d, unread %d; want 4 and 0", room.LastSeq, room.Unread())
	}
}

// TestUpdatesQueueInOrderWithMessages: offline, edits, deletes and reactions join the
// on-disk outbox behind what was queued before, show at once, and leave as the
// protocol's frames.
func TestUpdatesQueueInOrderWithMessages(t *testing.T) {
	c, _ := offlineSession(t)
	a, err := c.Send("r1", "frist")
	if err != nil {
		t.Fatal(err)
	}
	ed, err := c.Edit("r1", a.ID, "first")
	if err != nil || ed.Target.Content != "first" {
		t.Fatalf("Edit = %+v, %v", ed, err)
	}
	re, err := c.React("r1", a.ID, "🎉", true)
	if err != nil || fmt.Sprint(re.Target.Reactions) != "map[🎉:[u1]]" {
		t.Fatalf("React = %+v, %v", re, err)
	}
	b, err := c.Reply("r1", a.ID, "and a reply")
	if err != nil || b.ReplyTo != a.ID {
		t.Fatalf("Reply = %+v, %v", b, err)
	}
	del, err := c.Delete("r1", b.ID)
	if err != nil || !del.Target.Deleted {
		t.Fatalf("Delete = %+v, %v", del, err)
	}
	if _, err := c.React("r1", a.ID, "two words", true); err == nil {
		t.Error("React took an emoji with a space")
	}
	if _, err := c.Edit("r1", "no-such-message", "x"); err == nil {
		t.Error("Edit of an unknown message queued")
	}
	out, err := c.store.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range out {
		raw, _ := json.Marshal(outgoingFrame(o))
		got = append(got, string(raw))
	}
	want := []string{
		fmt.Sprintf(`{"type":"message","id":"%s","roomId":"r1","content":"frist"}`, a.ID),
		fmt.Sprintf(`{"type":"edit","id":"%s","roomId":"r1","targetId":"%s","content":"first"}`, ed.UpdateID, a.ID),
		fmt.Sprintf(`{"type":"react","id":"%s","roomId":"r1","targetId":"%s","emoji":"🎉","on":true}`, re.UpdateID, a.ID),
		fmt.Sprintf(`{"type":"message","id":"%s","roomId":"r1","content":"and a reply","replyTo":"%s"}`, b.ID, a.ID),
		fmt.Sprintf(`{"type":"delete","id":"%s","roomId":"r1","targetId":"%s"}`, del.UpdateID, b.ID),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outbox frames:\n%v\nwant\n%v", got, want)
	}
	batch, _ := c.events.take()
	if len(batch.Messages) != 2 || len(batch.Changed) != 0 {
		t.Errorf("batch: %d messages, %d changed; want the two new messages in their latest form", len(batch.Messages), len(batch.Changed))
	}
	if m := batch.Messages[0]; m.Content != "first" || len(m.Reactions) != 1 {
		t.Errorf("batch's first message = %+v; want edited and reacted", m)
	}
}

// TestRefusedUpdateIsUndone: an error naming an update fails it and undoes its change;
// the UI learns both (Changed, Failed).
func TestRefusedUpdateIsUndone(t *testing.T) {
	c, s := offlineSession(t)
	mustHandle(t, s, messageFrame("m1", 1, "u2", "theirs"))
	ch, err := c.React("r1", "m1", "👀", true)
	if err != nil {
		t.Fatal(err)
	}
	c.events.take()
	s.inflight[ch.UpdateID] = 1 // sent on this connection
	b := mustHandle(t, s, model.Frame{Type: model.TypeError, Code: model.CodeNotFound, Message: "no such message", ID: ch.UpdateID})
	if len(b.Failed) != 1 || b.Failed[0].Update.ID != ch.UpdateID || len(b.Changed) != 1 || len(b.Changed[0].Reactions) != 0 {
		t.Fatalf("batch after the refusal: Failed %+v, Changed %+v", b.Failed, b.Changed)
	}
	if n, _ := c.store.OutboxLen(); n != 0 {
		t.Errorf("refused update still queued")
	}
}

// TestRoomLeftDropsTheRoom: room_left drops the room and says so.
func TestRoomLeftDropsTheRoom(t *testing.T) {
	c, s := offlineSession(t)
	mustHandle(t, s, messageFrame("m1", 1, "u2", "hi"))
	b := mustHandle(t, s, model.Frame{Type: model.TypeRoomLeft, RoomID: "r1"})
	if fmt.Sprint(b.Left) != "[r1]" {
		t.Errorf("Left = %v", b.Left)
	}
	if _, ok, _ := c.store.Room("r1"); ok {
		t.Error("the room is still held")
	}
	if _, err := c.Send("r1", "still here?"); err == nil {
		t.Error("Send to a room left succeeded")
	}
}

func TestMergeSearch(t *testing.T) {
	at := func(sec int) model.Time { return model.NewTime(time.Unix(int64(sec), 0)) }
	local := []storage.Message{
		{Message: model.Message{ID: "a", RoomID: "r1", Timestamp: at(30), Content: "local form"}, Status: model.StatusSent, Own: true},
		{Message: model.Message{ID: "b", RoomID: "r1", Timestamp: at(10)}},
	}
	remote := []model.Message{
		{ID: "a", RoomID: "r1", Timestamp: at(30), Content: "server form"},
		{ID: "a", RoomID: "r2", Timestamp: at(20)}, // the same id in another room is another message
		{ID: "c", RoomID: "r1", Timestamp: at(40)},
		{ID: "d", RoomID: "r1", Timestamp: at(5), Deleted: true},
	}
	got := mergeSearch(local, remote, 10)
	var keys []string
	for _, m := range got {
		keys = append(keys, m.RoomID+"/"+m.ID)
	}
	if fmt.Sprint(keys) != "[r1/c r1/a r2/a r1/b]" || got[1].Content != "local form" {
		t.Errorf("mergeSearch = %v (%q); want [r1/c r1/a r2/a r1/b] with the local form", keys, got[1].Content)
	}
	if got := mergeSearch(local, remote, 2); len(got) != 2 {
		t.Errorf("limit 2 gave %d", len(got))
	}
}

// BenchmarkFold10k decodes 10,000 update frames (edits and reactions of 10,000 held
// messages) and folds them into the store as the connection does: the budget is that
// of a 10,000-message burst (BenchmarkIngest10k), a second of CPU.
func BenchmarkFold10k(b *testing.B) {
	const n = 10000
	raw := make([][]byte, n)
	on := true
	for i := range n {
		f := model.UpdateFrame{Type: model.TypeUpdate, ID: model.NewMessageID(), RoomID: "r1", Seq: int64(n + i + 1),
			SenderID: fmt.Sprintf("u%d", 2+i%5), SenderName: "bob", TargetID: fmt.Sprintf("m%d", i), Timestamp: model.NewTime(time.Now())}
		if i%2 == 0 {
			f.Op, f.Content = model.OpEdit, fmt.Sprintf("message number %d, edited", i)
		} else {
			f.Op, f.Emoji, f.On = model.OpReact, "👍", &on
		}
		raw[i], _ = json.Marshal(f)
	}
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		c, s := offlineSession(b)
		var msgs []model.Frame
		for i := range n {
			msgs = append(msgs, messageFrame(fmt.Sprintf("m%d", i), int64(i+1), "u2", fmt.Sprintf("message number %d with a little text", i)))
		}
		if err := s.handle(msgs); err != nil {
			b.Fatal(err)
		}
		c.events.take()
		b.StartTimer()
		c0 := processCPU()
		frames := make([]model.Frame, 0, n)
		for _, r := range raw {
			f, err := model.DecodeFrame(r)
			if err != nil {
				b.Fatal(err)
			}
			frames = append(frames, f)
		}
		if err := s.handle(frames); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - c0
		b.StopTimer()
		if batch, _ := c.events.take(); len(batch.Changed) != n {
			b.Fatalf("changed %d", len(batch.Changed))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// TestFoldedMessageFrame: a 1.1 server's message frame may carry the state updates
// made (a replay of a deleted, edited or reacted message): it is stored as it says.
func TestFoldedMessageFrame(t *testing.T) {
	c, s := offlineSession(t)
	f, err := model.DecodeFrame([]byte(`{"type":"message","id":"m1","roomId":"r1","seq":1,"senderId":"u2","senderName":"bob",
		"content":"v2","timestamp":"2026-12-01T10:00:00.000Z","editedAt":"2026-12-01T10:05:00.000Z","reactions":{"👍":["u3"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	g, err := model.DecodeFrame([]byte(`{"type":"message","id":"m2","roomId":"r1","seq":2,"senderId":"u2","senderName":"bob",
		"content":"","timestamp":"2026-12-01T10:00:01.000Z","deleted":true}`))
	if err != nil {
		t.Fatal(err)
	}
	mustHandle(t, s, f, g)
	m1, _, _ := c.store.Get("r1", "m1")
	m2, _, _ := c.store.Get("r1", "m2")
	if m1.EditedAt.IsZero() || fmt.Sprint(m1.Reactions) != "map[👍:[u3]]" || !m2.Deleted {
		t.Errorf("stored %+v and %+v; want the folded state kept", m1, m2)
	}
}
