package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

// askNewRoom asks for a group room's name and whether it is public, then opens it.
func (s *shell) askNewRoom() {
	if s.win == nil {
		return
	}
	name := widget.NewEntry()
	name.SetPlaceHolder("Room name")
	public := widget.NewCheck("Public (anyone can join)", nil)
	public.SetChecked(true)
	dialog.ShowForm("New room", "Create", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", name), widget.NewFormItem("", public)}, func(ok bool) {
		if !ok || strings.TrimSpace(name.Text) == "" {
			return
		}
		n, pub := name.Text, public.Checked
		s.run.bg(func() {
			r, err := s.eng.CreateRoom(n, pub)
			s.run.ui(func() { s.opened(r, err) })
		})
	}, s.win)
}

// askJoin asks for a public room's id and joins it.
func (s *shell) askJoin() {
	if s.win == nil {
		return
	}
	id := widget.NewEntry()
	id.SetPlaceHolder("Room id")
	dialog.ShowForm("Join a public room", "Join", "Cancel", []*widget.FormItem{widget.NewFormItem("Room", id)},
		func(ok bool) {
			if !ok || strings.TrimSpace(id.Text) == "" {
				return
			}
			rid := strings.TrimSpace(id.Text)
			s.run.bg(func() {
				r, err := s.eng.JoinRoom(rid)
				s.run.ui(func() { s.opened(r, err) })
			})
		}, s.win)
}

// askDirect searches users as the name is typed and opens the direct room with the one picked.
func (s *shell) askDirect() {
	if s.win == nil {
		return
	}
	var users []model.User
	var d dialog.Dialog
	results := widget.NewList(func() int { return len(users) },
		func() fyne.CanvasObject { return widget.NewLabel("someone") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(users) {
				t := users[i].DisplayName
				if users[i].Online {
					t += "  ●"
				}
				o.(*widget.Label).SetText(t)
			}
		})
	results.OnSelected = func(i widget.ListItemID) {
		if i >= len(users) {
			return
		}
		uid := users[i].UserID
		d.Hide()
		s.run.bg(func() {
			r, err := s.eng.DM(uid)
			s.run.ui(func() { s.opened(r, err) })
		})
	}
	query := widget.NewEntry()
	query.SetPlaceHolder("Search people")
	query.OnChanged = func(q string) {
		s.run.bg(func() {
			found, err := s.eng.SearchUsers(q)
			s.run.ui(func() {
				if err != nil || query.Text != q {
					return
				}
				me := s.eng.UserID()
				users = users[:0]
				for _, u := range found {
					if u.UserID != me {
						users = append(users, u)
					}
				}
				results.Refresh()
			})
		})
	}
	box := container.NewBorder(query, nil, nil, nil, results)
	d = dialog.NewCustom("Direct chat", "Close", box, s.win)
	d.Resize(fyne.NewSize(360, 420))
	d.Show()
	s.win.Canvas().Focus(query)
	query.OnChanged("")
}

// opened adds a room made or joined and opens it, or says what went wrong.
func (s *shell) opened(r RoomItem, err error) {
	if err != nil {
		dialog.ShowError(err, s.win)
		return
	}
	s.rooms.merge([]RoomItem{r})
	s.open(r)
}

// dialogEntry is an entry in one of the app's dialogs: Escape closes the dialog (Fyne's
// dialogs take no keys of their own), as Escape leaves the composer.
type dialogEntry struct {
	widget.Entry
	onEscape func()
}

func newDialogEntry() *dialogEntry {
	e := &dialogEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey closes the dialog on Escape; every other key is the entry's.
func (e *dialogEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.onEscape != nil {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(k)
}

// closeOnEscape has Escape close dlg while it is shown: in its entries, and in the window
// when nothing has the focus. The window's own key handler is back once dlg closes.
func closeOnEscape(win fyne.Window, dlg dialog.Dialog, entries ...*dialogEntry) {
	c := win.Canvas()
	prev := c.OnTypedKey()
	c.SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyEscape {
			dlg.Hide()
			return
		}
		if prev != nil {
			prev(k)
		}
	})
	for _, e := range entries {
		e.onEscape = dlg.Hide
	}
	dlg.SetOnClosed(func() { c.SetOnTypedKey(prev) })
}
