package ui

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

// directoryScreen is the public rooms directory: a search field over the server's
// public rooms, each with its topic and member count, joined in one tap; a room id can
// still be typed under it.
type directoryScreen struct {
	s       *shell
	query   *dialogEntry
	list    *widget.List
	status  *widget.Label
	idEntry *dialogEntry
	idJoin  *widget.Button
	rooms   []model.PublicRoom
	asked   string // the query of the answer shown
	content fyne.CanvasObject
	dlg     dialog.Dialog
}

// askDirectory opens the directory (or, with an engine without protocol 1.1, the
// dialog that joins by room id).
func (s *shell) askDirectory() {
	ce, ok := s.eng.(ConversationEngine)
	if !ok || s.win == nil {
		s.askJoin()
		return
	}
	d := newDirectoryScreen(s, ce)
	s.dir = d
	d.dlg = dialog.NewCustom("Public rooms", "Close", d.content, s.win)
	d.dlg.Resize(fyne.NewSize(460, 520))
	closeOnEscape(s.win, d.dlg, d.query, d.idEntry)
	d.dlg.Show()
	s.win.Canvas().Focus(d.query)
}

func newDirectoryScreen(s *shell, ce ConversationEngine) *directoryScreen {
	d := &directoryScreen{s: s}
	d.query = newDialogEntry()
	d.query.SetPlaceHolder("Search public rooms")
	d.query.OnChanged = func(q string) { d.search(ce, q) }
	d.status = &widget.Label{Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}
	d.list = widget.NewList(func() int { return len(d.rooms) },
		func() fyne.CanvasObject {
			name := &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
			topic := &widget.Label{Truncation: fyne.TextTruncateEllipsis, Importance: widget.LowImportance,
				SizeName: theme.SizeNameCaptionText}
			join := &widget.Button{Text: "Join", Importance: widget.HighImportance}
			return container.NewBorder(nil, nil, nil, container.NewCenter(join), container.NewVBox(name, topic))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(d.rooms) {
				return
			}
			r := d.rooms[i]
			c := o.(*fyne.Container)
			texts := c.Objects[0].(*fyne.Container).Objects
			texts[0].(*widget.Label).SetText(r.Name)
			line := members(r.MemberCount)
			if r.Topic != "" {
				line += " · " + r.Topic
			}
			texts[1].(*widget.Label).SetText(line)
			join := c.Objects[1].(*fyne.Container).Objects[0].(*widget.Button)
			if _, member := d.s.rooms.room(r.ID); member {
				join.SetText("Open")
			} else {
				join.SetText("Join")
			}
			join.OnTapped = func() { d.join(r.ID) }
		})
	d.list.OnSelected = func(i widget.ListItemID) {
		d.list.UnselectAll()
		if i < len(d.rooms) {
			d.join(d.rooms[i].ID)
		}
	}
	d.idEntry = newDialogEntry()
	d.idEntry.SetPlaceHolder("…or a room id")
	d.idJoin = &widget.Button{Text: "Join by id", OnTapped: func() {
		if id := strings.TrimSpace(d.idEntry.Text); id != "" {
			d.join(id)
		}
	}}
	bottom := container.NewVBox(widget.NewSeparator(), container.NewBorder(nil, nil, nil, d.idJoin, d.idEntry))
	d.content = container.NewBorder(container.NewVBox(d.query, d.status), bottom, nil, nil, d.list)
	d.search(ce, "")
	return d
}

func members(n int) string {
	if n == 1 {
		return "1 member"
	}
	return strconv.Itoa(n) + " members"
}

// search asks the server for the public rooms matching q; an answer to an older query
// than the one typed now is dropped.
func (d *directoryScreen) search(ce ConversationEngine, q string) {
	d.status.SetText("Searching…")
	run := d.s.run
	run.bg(func() {
		rooms, err := ce.PublicRooms(q)
		run.ui(func() {
			if d.query.Text != q {
				return
			}
			d.asked = q
			switch {
			case err != nil:
				d.status.SetText("Could not list public rooms: " + err.Error())
			case len(rooms) == 0 && q != "":
				d.status.SetText("No public room is called like “" + q + "”")
			case len(rooms) == 0:
				d.status.SetText("No public rooms yet")
			default:
				d.status.SetText("")
			}
			d.rooms = rooms
			d.list.Refresh()
		})
	})
}

// join joins the room (or opens it, when the user is a member already) and closes the
// directory.
func (d *directoryScreen) join(id string) {
	s := d.s
	if d.dlg != nil {
		d.dlg.Hide()
	}
	if r, ok := s.rooms.room(id); ok {
		s.open(r)
		return
	}
	s.run.bg(func() {
		r, err := s.eng.JoinRoom(id)
		s.run.ui(func() { s.opened(r, err) })
	})
}
