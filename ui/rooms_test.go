package ui

import (
	"image/color"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

func TestPreviewLineSaysYouForOwnMessages(t *testing.T) {
	const me = "u-root"
	for _, c := range []struct {
		name string
		room storage.Room
		want string
	}{
		{"own by id", storage.Room{Preview: "Hello there", PreviewSender: "root", PreviewSenderID: me}, "You: Hello there"},
		{"own pending", storage.Room{Preview: "Hello", PreviewSender: "root", PreviewOwn: true}, "You: Hello"},
		{"own in direct", storage.Room{Direct: true, Preview: "see you", PreviewSenderID: me}, "You: see you"},
		// Another member with the same display name is not "You".
		{"namesake", storage.Room{Preview: "hi", PreviewSender: "root", PreviewSenderID: "u-other"}, "root: hi"},
		{"other in group", storage.Room{Preview: "hi\n  all", PreviewSender: "bob", PreviewSenderID: "u-bob"}, "bob: hi all"},
		{"other in direct", storage.Room{Direct: true, Preview: "psst", PreviewSender: "bob", PreviewSenderID: "u-bob"}, "psst"},
		{"no messages", storage.Room{}, ""},
		{"deleted newest", storage.Room{PreviewSender: "bob", PreviewSenderID: "u-bob", PreviewAt: time.Unix(1, 0)}, "bob: Message deleted"},
	} {
		if got := previewLine(c.room, me); got != c.want {
			t.Errorf("%s: previewLine = %q, want %q", c.name, got, c.want)
		}
	}
	// Before anyone signed in nobody is "You", even a sender without an id.
	if got := previewLine(storage.Room{Preview: "x", PreviewSender: "a"}, ""); got != "a: x" {
		t.Errorf("signed out: %q, want %q", got, "a: x")
	}
}

// TestRoomsListShowsYouForOwnNewestMessage goes through the real store and engine: the
// user "root" wrote the newest message of one room, bob the newest of another.
func TestRoomsListShowsYouForOwnNewestMessage(t *testing.T) {
	st, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SaveAccount(storage.Account{ServerURL: "http://127.0.0.1:1", UserID: "u-root", Username: "root",
		DisplayName: "root", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertRooms([]model.Room{{ID: "general", Name: "general", Public: true, Epoch: "e1"},
		{ID: "random", Name: "random", Public: true, Epoch: "e1"}}); err != nil {
		t.Fatal(err)
	}
	at := func(s int) model.Time { return model.NewTime(t0.Add(time.Duration(s) * time.Second)) }
	if _, err := st.SaveIncoming([]model.Message{
		{ID: "g1", RoomID: "general", Seq: 1, SenderID: "u-bob", SenderName: "bob", Content: "Hi", Timestamp: at(1)},
		{ID: "g2", RoomID: "general", Seq: 2, SenderID: "u-root", SenderName: "root", Content: "Hello everyone", Timestamp: at(3)},
		{ID: "r1", RoomID: "random", Seq: 1, SenderID: "u-bob", SenderName: "bob", Content: "lunch?", Timestamp: at(2)},
	}); err != nil {
		t.Fatal(err)
	}
	c, err := pnet.New(pnet.Config{ServerURL: "http://127.0.0.1:1", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	items, err := newClientEngine(c).Rooms()
	if err != nil || len(items) != 2 {
		t.Fatalf("Rooms = %v, %v", items, err)
	}
	if items[0].ID != "general" || items[0].Preview != "You: Hello everyone" {
		t.Errorf("general = %q %q, want You: Hello everyone", items[0].ID, items[0].Preview)
	}
	if items[1].Preview != "bob: lunch?" {
		t.Errorf("random = %q, want bob: lunch?", items[1].Preview)
	}

	test.NewTempApp(t)
	s := newRoomsScreen(nil)
	w := test.NewTempWindow(t, s.content)
	w.Resize(fyne.NewSize(360, 300))
	s.setRooms(items)
	if row := visibleRow(t, s, "general"); row.preview.Text != "You: Hello everyone" {
		t.Errorf("row shows %q", row.preview.Text)
	}
}

// TestSelectedRoomRowIsReadable checks, in the dark and light themes, that the selected
// row's preview and time are drawn with at least the WCAG AA contrast (4.5:1) on the
// selection's background, and that the other rows keep their quieter colour.
func TestSelectedRoomRowIsReadable(t *testing.T) {
	for _, v := range []fyne.ThemeVariant{theme.VariantDark, theme.VariantLight} {
		test.NewTempApp(t)
		th := variantTheme{Theme: theme.DefaultTheme(), variant: v}
		fyne.CurrentApp().Settings().SetTheme(th)
		s := newRoomsScreen(nil)
		w := test.NewTempWindow(t, s.content)
		w.Resize(fyne.NewSize(360, 300))
		s.setRooms([]RoomItem{
			{ID: "general", Name: "general", Preview: "You: Hello everyone", PreviewTime: time.Now()},
			{ID: "random", Name: "random", Preview: "bob: lunch?", PreviewTime: time.Now().Add(-time.Hour)},
		})
		s.list.Select(0)

		bg := over(th.Color(theme.ColorNameSelection, v), th.Color(theme.ColorNameBackground, v))
		sel := visibleRow(t, s, "general")
		for _, l := range []struct {
			what string
			text string
			obj  fyne.CanvasObject
		}{{"preview", sel.preview.Text, sel.preview}, {"time", sel.when.Text, sel.when}} {
			fg := textColor(t, l.obj, l.text)
			if r := contrast(fg, bg); r < 4.5 {
				t.Errorf("variant %d: selected row's %s %v on %v has contrast %.2f, want ≥ 4.5", v, l.what, fg, bg, r)
			}
		}
		other := visibleRow(t, s, "random")
		quiet := th.Color(theme.ColorNameDisabled, v)
		if got := textColor(t, other.preview, other.preview.Text); !sameColor(got, quiet) {
			t.Errorf("variant %d: unselected preview colour %v, want the quiet %v", v, got, quiet)
		}

		// The highlight follows the selection.
		s.list.Select(1)
		if g := visibleRow(t, s, "general"); !sameColor(textColor(t, g.preview, g.preview.Text), quiet) {
			got := textColor(t, g.preview, g.preview.Text)
			t.Errorf("variant %d: general still drawn selected (%v) after selecting random", v, got)
		}
		if r := visibleRow(t, s, "random"); contrast(textColor(t, r.preview, r.preview.Text), bg) < 4.5 {
			t.Errorf("variant %d: newly selected row's preview is not readable", v)
		}
		s.list.UnselectAll()
		if r := visibleRow(t, s, "random"); !sameColor(textColor(t, r.preview, r.preview.Text), quiet) {
			t.Errorf("variant %d: unselected row still drawn selected", v)
		}
	}
}

// variantTheme forces one variant of a theme.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// visibleRow finds the drawn row showing the room named name.
func visibleRow(t *testing.T, s *roomsScreen, name string) *roomRow {
	t.Helper()
	for _, o := range descendants(s.list) {
		if r, ok := o.(*roomRow); ok && r.Visible() && r.name.Text == name {
			return r
		}
	}
	t.Fatalf("no row shows %q", name)
	return nil
}

// textColor is the colour of the drawn text s inside o.
func textColor(t *testing.T, o fyne.CanvasObject, s string) color.Color {
	t.Helper()
	for _, d := range descendants(o) {
		if txt, ok := d.(*canvas.Text); ok && txt.Text == s {
			return txt.Color
		}
	}
	t.Fatalf("text %q not drawn", s)
	return nil
}

// descendants lists o and everything drawn inside it, through widget renderers.
func descendants(o fyne.CanvasObject) []fyne.CanvasObject {
	out := []fyne.CanvasObject{o}
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			out = append(out, descendants(c)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			out = append(out, descendants(c)...)
		}
	}
	return out
}

// TestDirectRoomNamedAfterPeer goes through the real store and engine: the server
// names a direct room after both display names; the list shows the other person's,
// whatever the user's display name is (not only when it equals the username).
func TestDirectRoomNamedAfterPeer(t *testing.T) {
	st, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SaveAccount(storage.Account{ServerURL: "http://127.0.0.1:1", UserID: "u-alice", Username: "alice",
		DisplayName: "Alice Liddell", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertRooms([]model.Room{
		{ID: "d1", Name: "Alice Liddell & erin", Direct: true, MemberIDs: []string{"u-alice", "u-erin"}, Epoch: "e1"},
		{ID: "d2", Name: "bob & Alice Liddell", Direct: true, MemberIDs: []string{"u-bob", "u-alice"}, Epoch: "e1"},
	}); err != nil {
		t.Fatal(err)
	}
	c, err := pnet.New(pnet.Config{ServerURL: "http://127.0.0.1:1", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	items, err := newClientEngine(c).Rooms()
	if err != nil || len(items) != 2 {
		t.Fatalf("Rooms = %v, %v", items, err)
	}
	names := map[string]string{}
	for _, it := range items {
		names[it.ID] = it.Name
	}
	if names["d1"] != "erin" || names["d2"] != "bob" {
		t.Fatalf("direct rooms named %v, want erin and bob", names)
	}
}
