package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
)

func newDesktopShell(t *testing.T, width float32) (*shell, fyne.Window, *fakeEngine) {
	t.Helper()
	eng := newFakeEngine()
	eng.fill("general", 20, time.Now().Add(-time.Hour))
	eng.rooms = []RoomItem{{ID: "general", Name: "general", PreviewTime: time.Now()},
		{ID: "random", Name: "random", PreviewTime: time.Now().Add(-time.Hour)}}
	w := test.NewTempWindow(t, nil)
	s := newShell(w, eng, inlineRunner(), false)
	w.SetContent(s.content)
	w.Resize(fyne.NewSize(width, 640))
	s.loadRooms("general")
	return s, w, eng
}

// Issue 11, item 8: at 420 px the rooms kept ~300 px and the chat ~120. Below
// compactBelow the desktop shows one pane at a time, as the phone does.
func TestNarrowWindowShowsOnePane(t *testing.T) {
	for _, width := range []float32{360, 420, 600, 670, 700, 800, 1200} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			test.NewTempApp(t)
			s, w, _ := newDesktopShell(t, width)
			chatW := s.chat.list.Size().Width
			if width < compactBelow {
				if len(s.body.Objects) != 1 || s.body.Objects[0] != s.chat.content {
					t.Fatalf("at %v px the chat is not shown alone", width)
				}
				if chatW < width-20 {
					t.Errorf("at %v px the chat is %v px wide, want the window's width", width, chatW)
				}
				if !s.chat.back.Visible() {
					t.Fatalf("no back button in a narrow window")
				}
				test.Tap(s.chat.back)
				if s.body.Objects[0] != s.roomsPane || s.chat != nil {
					t.Fatalf("back does not show the rooms")
				}
				if rw := s.rooms.list.Size().Width; rw < width-20 {
					t.Errorf("at %v px the rooms are %v px wide", width, rw)
				}
				s.rooms.list.Select(1)
				if s.chat == nil || s.chat.room.ID != "random" || s.body.Objects[0] != s.chat.content {
					t.Fatalf("picking a room does not show its chat")
				}
				return
			}
			if s.body.Objects[0] != s.split || s.chatHolder.Objects[0] != s.chat.content {
				t.Fatalf("at %v px the rooms and the chat are not side by side", width)
			}
			if s.chat.back.Visible() {
				t.Errorf("a back button beside the rooms")
			}
			if chatW < 360 {
				t.Errorf("at %v px the chat is %v px wide", width, chatW)
			}
			_ = w
		})
	}
}

// Resizing across the threshold switches the layout and keeps the open room.
func TestResizeSwitchesPanesKeepingTheRoom(t *testing.T) {
	test.NewTempApp(t)
	s, w, _ := newDesktopShell(t, 960)
	w.Resize(fyne.NewSize(420, 640))
	if s.body.Objects[0] != s.chat.content || !s.chat.back.Visible() || s.chat.room.ID != "general" {
		t.Fatalf("narrowing did not show the open chat alone")
	}
	w.Resize(fyne.NewSize(1000, 640))
	if s.body.Objects[0] != s.split || s.chatHolder.Objects[0] != s.chat.content || s.chat.back.Visible() {
		t.Fatalf("widening did not bring the split back with the chat")
	}
	if s.rooms.selected != "general" {
		t.Errorf("the open room is not highlighted: %q", s.rooms.selected)
	}
}

// The divider stays where the user dragged it, in the app's preferences, for the next
// start of the app.
func TestSplitRemembersTheDivider(t *testing.T) {
	a := test.NewTempApp(t)
	s, w, _ := newDesktopShell(t, 1000)
	div := dividerOf(t, s.split)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(div).Add(fyne.NewPos(2, 100))
	before := s.rooms.content.Size().Width
	test.Drag(w.Canvas(), pos, 150, 0)
	if got := s.rooms.content.Size().Width; got < before+100 {
		t.Fatalf("the drag did not move the divider: rooms %v → %v px", before, got)
	}
	saved := a.Preferences().Float(prefRoomsSplit)
	if saved == 0 || saved == defaultRoomsSplit || saved != s.split.Offset {
		t.Fatalf("offset %v not kept (preference %v)", s.split.Offset, saved)
	}
	// Resizing the window keeps the share; it is not the user moving the divider.
	w.Resize(fyne.NewSize(1200, 640))
	if a.Preferences().Float(prefRoomsSplit) != saved {
		t.Errorf("resizing the window changed the kept offset")
	}
	// The next start.
	s2, _, _ := newDesktopShell(t, 1000)
	if s2.split.Offset != saved {
		t.Errorf("a new shell starts at %v, want the kept %v", s2.split.Offset, saved)
	}
}

// dividerOf finds the split's draggable divider.
func dividerOf(t *testing.T, sp *container.Split) fyne.CanvasObject {
	t.Helper()
	for _, o := range test.WidgetRenderer(sp).Objects() {
		if _, ok := o.(fyne.Draggable); ok {
			return o
		}
	}
	t.Fatal("no divider")
	return nil
}

// The rooms header says Offline while offline, not "Connected to".
func TestHeaderSaysOffline(t *testing.T) {
	test.NewTempApp(t)
	s, _, _ := newDesktopShell(t, 1000)
	s.setServerInfo("Connected to 127.0.0.1:8787")
	for _, c := range []struct {
		phase ConnPhase
		want  string
	}{
		{PhaseOffline, "Offline · 127.0.0.1:8787"},
		{PhaseConnecting, "Connecting · 127.0.0.1:8787…"},
		{PhaseOnline, "Connected to 127.0.0.1:8787"},
	} {
		s.apply(Update{Conn: &ConnState{Phase: c.phase, RetryAt: time.Now().Add(time.Second)}})
		if got := s.rooms.server.Text; got != c.want {
			t.Errorf("phase %d: header %q, want %q", c.phase, got, c.want)
		}
	}
}
