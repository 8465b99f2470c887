package ui

import (
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// BenchmarkLongMessageRow shows one new message of 3,998 characters (a part of Send as N
// messages) in an open chat: measuring, binding and laying its bubble out.
func BenchmarkLongMessageRow(b *testing.B) {
	test.NewTempApp(b)
	c := newChatScreen(newFakeEngine(), inlineRunner(), RoomItem{ID: "r", Name: "general"}, nil)
	w := test.NewTempWindow(b, c.content)
	w.Resize(fyne.NewSize(960, 640))
	i := 0
	for b.Loop() {
		i++
		text := strconv.Itoa(i) + " " + longText(3990)
		c.list.upsert([]Row{{ID: "m" + strconv.Itoa(i), RoomID: "r", Seq: int64(i), SenderID: "u-me", SenderName: "Me",
			Own: true, Text: text, Time: t0.Add(time.Duration(i) * time.Second)}})
	}
}
