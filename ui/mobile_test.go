//go:build mobile

package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
)

// TestMobileLayout shows one pane at a time on a phone-sized window, with back navigation,
// and writes docs/screenshots/mobile.png when PARLEY_SCREENSHOTS=1.
func TestMobileLayout(t *testing.T) {
	test.NewTempApp(t)
	fyne.CurrentApp().Settings().SetTheme(newAppTheme()) // the real look, for the screenshot
	if !fyne.CurrentDevice().IsMobile() {
		t.Fatal("the mobile build tag does not make a mobile device")
	}
	eng := newFakeEngine()
	now := time.Now()
	eng.fill("general", 8, now.Add(-30*time.Minute))
	eng.rows["general"][5].Text = "Shall we meet at the café at 6? ☕ https://example.com/map"
	eng.rows["general"][7].Status = model.StatusDelivered
	eng.rooms = []RoomItem{
		{ID: "general", Name: "general", Public: true, Preview: "Alice: message 8", PreviewTime: now, Unread: 2},
		{ID: "dm", Name: "bob", Direct: true, PeerID: "u-bob", Online: true, Preview: "see you", PreviewTime: now.Add(-time.Hour)},
	}
	w := test.NewTempWindow(t, nil)
	s := newShell(w, eng, inlineRunner(), fyne.CurrentDevice().IsMobile())
	w.SetContent(s.content)
	w.Resize(fyne.NewSize(360, 740))
	s.apply(Update{Conn: &ConnState{Phase: PhaseOnline}})

	if len(s.body.Objects) != 1 || s.body.Objects[0] != s.rooms.content {
		t.Fatalf("mobile starts elsewhere than the rooms list")
	}
	s.rooms.list.Select(0)
	if s.chat == nil || s.body.Objects[0] != s.chat.content {
		t.Fatalf("selecting a room does not show its chat alone")
	}
	if s.chat.back == nil || !s.chat.back.Visible() {
		t.Fatalf("no back button on mobile")
	}
	s.chat.setTyping([]Typist{{Name: "Alice"}})
	ids := s.chat.list.visibleIDs()
	if ids[len(ids)-1] != "general-000008" {
		t.Errorf("chat does not open at the newest: %v", ids)
	}
	saveScreenshot(t, w, "mobile.png")
	// Enter makes a new line on a phone; the button sends.
	e := s.chat.composer
	test.Type(e, "one")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	test.Type(e, "two")
	if e.Text != "one\ntwo" || len(eng.sent) != 0 {
		t.Errorf("Enter on mobile: field %q, sent %q", e.Text, eng.sent)
	}
	test.Tap(s.chat.sendBtn)
	if len(eng.sent) != 1 || eng.sent[0] != "one\ntwo" {
		t.Errorf("send button on mobile: sent %q", eng.sent)
	}
	test.Tap(s.chat.back)
	if s.body.Objects[0] != s.rooms.content || s.chat != nil {
		t.Errorf("back does not return to the rooms list")
	}
}
