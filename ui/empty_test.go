package ui

import (
	"testing"
	"time"
)

// Issue 11, item 11: an empty room says so in the chat and in the rooms list, instead of
// a blank list and a blank second line.
func TestEmptyRoomSaysSayHello(t *testing.T) {
	eng := newFakeEngine()
	c, _ := newTestChat(t, eng, false)
	if !c.list.empty.Visible() || c.list.empty.Text != "No messages yet — say hello" {
		t.Fatalf("an empty room shows hint %v %q", c.list.empty.Visible(), c.list.empty.Text)
	}
	c.list.upsert([]Row{{ID: "m1", RoomID: "r", Seq: 1, SenderID: "u-alice", SenderName: "Alice", Text: "hi", Time: t0}})
	if c.list.empty.Visible() {
		t.Errorf("the hint stays over a room with a message")
	}
	r := newRoomRow()
	r.bind(RoomItem{ID: "r", Name: "quiet"}, time.Now(), false)
	if r.preview.Text != "No messages yet" {
		t.Errorf("an empty room's preview line is %q", r.preview.Text)
	}
	r.bind(RoomItem{ID: "r", Name: "busy", Preview: "Alice: hi", LastSeq: 1}, time.Now(), false)
	if r.preview.Text != "Alice: hi" {
		t.Errorf("preview %q", r.preview.Text)
	}
}
