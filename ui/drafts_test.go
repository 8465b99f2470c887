package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// waitDraft polls the engine's store until the room's draft is want.
func waitDraft(t *testing.T, eng *clientEngine, roomID, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := eng.Draft(roomID)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("draft of %s: %q (%v), want %q", roomID, got, err, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the store, which has no event for it
	}
}

// TestDraftKeptAcrossChats: text typed and not sent is the room's draft in the real
// store: a new chat screen of the room (another room opened and back, or the app
// started again on the same profile) shows it in the composer; sending clears it.
func TestDraftKeptAcrossChats(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	alice := startClient(t, srv.URL, "alice")
	test.NewTempApp(t)
	eng := newClientEngine(alice)
	go func() {
		for range alice.Events() {
		}
	}()
	room := RoomItem{ID: server.GeneralRoomID, Name: "general"}
	c := newChatScreen(eng, inlineRunner(), room, nil)
	w := test.NewTempWindow(t, c.content)
	w.Resize(fyne.NewSize(900, 600))
	w.Canvas().Focus(c.composer)
	test.Type(c.composer, "half a thought")
	waitDraft(t, eng, room.ID, "half a thought")

	again := newChatScreen(eng, inlineRunner(), room, nil)
	if got := again.composer.value(); got != "half a thought" {
		t.Fatalf("the room opened again shows %q in the composer, want the draft", got)
	}
	w.SetContent(again.content)
	w.Canvas().Focus(again.composer)
	again.composer.send()
	waitDraft(t, eng, room.ID, "")
}
