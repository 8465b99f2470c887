package ui

import (
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// roomsScreen lists the user's rooms, newest activity first, with preview, time, unread
// badge and, for direct rooms, the other member's online dot.
type roomsScreen struct {
	rooms    []RoomItem
	selected string
	// highlighted is the list row drawn selected (-1 for none): its preview and time
	// take the foreground colour, the low-importance grey being unreadable on the
	// selection's background.
	highlighted widget.ListItemID
	now         func() time.Time
	onOpen      func(RoomItem)

	server  *widget.Label
	list    *widget.List
	newRoom *widget.Button
	newDM   *widget.Button
	join    *widget.Button
	search  *widget.Button
	signOut *widget.Button
	content fyne.CanvasObject
}

func newRoomsScreen(onOpen func(RoomItem)) *roomsScreen {
	s := &roomsScreen{onOpen: onOpen, now: time.Now, highlighted: -1}
	s.server = &widget.Label{Importance: widget.LowImportance, SizeName: theme.SizeNameCaptionText,
		Truncation: fyne.TextTruncateEllipsis}
	s.list = &widget.List{
		Length:     func() int { return len(s.rooms) },
		CreateItem: func() fyne.CanvasObject { return newRoomRow() },
		UpdateItem: func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(s.rooms) {
				o.(*roomRow).bind(s.rooms[id], s.now(), id == s.highlighted)
			}
		},
		OnSelected: func(id widget.ListItemID) {
			// The list has drawn its rows before telling: draw this one again, selected.
			s.highlighted = id
			s.list.RefreshItem(id)
			if id < len(s.rooms) {
				s.selected = s.rooms[id].ID
				if s.onOpen != nil {
					s.onOpen(s.rooms[id])
				}
			}
		},
		OnUnselected: func(id widget.ListItemID) {
			if s.highlighted == id {
				s.highlighted = -1
			}
			s.list.RefreshItem(id)
		},
	}
	s.list.ExtendBaseWidget(s.list)
	s.newRoom = &widget.Button{Text: "Room", Icon: theme.ContentAddIcon(), Importance: widget.LowImportance}
	s.newDM = &widget.Button{Text: "Direct", Icon: theme.AccountIcon(), Importance: widget.LowImportance}
	s.join = &widget.Button{Text: "Join", Icon: theme.LoginIcon(), Importance: widget.LowImportance}
	s.search = &widget.Button{Icon: theme.SearchIcon(), Importance: widget.LowImportance}
	title := &widget.Label{Text: "Parley", TextStyle: fyne.TextStyle{Bold: true}}
	s.signOut = &widget.Button{Icon: theme.LogoutIcon(), Importance: widget.LowImportance}
	top := container.NewVBox(container.NewHBox(title, layout.NewSpacer(), s.newRoom, s.newDM, s.join),
		container.NewBorder(nil, nil, nil, container.NewHBox(s.search, s.signOut), s.server), widget.NewSeparator())
	s.content = container.NewBorder(top, nil, nil, nil, s.list)
	return s
}

// setRooms replaces the list, keeping the selection on the same room.
func (s *roomsScreen) setRooms(rooms []RoomItem) {
	s.rooms = rooms
	s.list.Refresh()
	s.reselect()
}

// merge applies changed rooms: known ones are replaced, new ones added; the list is
// ordered by the newest activity.
func (s *roomsScreen) merge(changed []RoomItem) {
	for _, c := range changed {
		found := false
		for i := range s.rooms {
			if s.rooms[i].ID == c.ID {
				online := s.rooms[i].Online
				s.rooms[i] = c
				s.rooms[i].Online = online || c.Online
				found = true
				break
			}
		}
		if !found {
			s.rooms = append(s.rooms, c)
		}
	}
	sortRooms(s.rooms)
	s.list.Refresh()
	s.reselect()
}

// reselect keeps the highlight on the open room after the order changed.
func (s *roomsScreen) reselect() {
	for i, r := range s.rooms {
		if r.ID == s.selected {
			s.list.Select(i)
			return
		}
	}
}

// setOnline marks direct rooms' online dots from presence changes; memberOf says whether
// the user is the other member of a direct room.
func (s *roomsScreen) setOnline(presence map[string]bool, peerOf func(roomID string) string) {
	changed := false
	for i := range s.rooms {
		if !s.rooms[i].Direct || peerOf == nil {
			continue
		}
		if on, ok := presence[peerOf(s.rooms[i].ID)]; ok && s.rooms[i].Online != on {
			s.rooms[i].Online = on
			changed = true
		}
	}
	if changed {
		s.list.Refresh()
	}
}

// unreadTotal sums the unread counts.
func (s *roomsScreen) unreadTotal() int64 {
	var n int64
	for _, r := range s.rooms {
		n += r.Unread
	}
	return n
}

func (s *roomsScreen) room(id string) (RoomItem, bool) {
	for _, r := range s.rooms {
		if r.ID == id {
			return r, true
		}
	}
	return RoomItem{}, false
}

func sortRooms(rs []RoomItem) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && roomAbove(rs[j], rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func roomAbove(a, b RoomItem) bool {
	if !a.PreviewTime.Equal(b.PreviewTime) {
		return a.PreviewTime.After(b.PreviewTime)
	}
	return a.Name < b.Name
}

// roomRow is one line of the rooms list.
type roomRow struct {
	widget.BaseWidget
	dot     *canvas.Circle
	name    *widget.Label
	when    *widget.Label
	preview *widget.Label
	badge   *canvas.Text
	badgeBg *canvas.Circle
	badgeIn *fyne.Container // centres the badge's text: laid out again when the text changes
	top     *fyne.Container // name, dot and time: laid out again when the time's width changes
	content fyne.CanvasObject
}

func newRoomRow() *roomRow {
	r := &roomRow{
		dot:     &canvas.Circle{FillColor: theme.Color(theme.ColorNameSuccess)},
		name:    &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
		when:    &widget.Label{Importance: widget.LowImportance, SizeName: theme.SizeNameCaptionText},
		preview: &widget.Label{Importance: widget.LowImportance, Truncation: fyne.TextTruncateEllipsis},
		badge:   canvas.NewText("", theme.Color(theme.ColorNameForegroundOnPrimary)),
		badgeBg: &canvas.Circle{FillColor: theme.Color(theme.ColorNamePrimary)},
	}
	r.badge.TextSize = theme.CaptionTextSize()
	r.badge.TextStyle.Bold = true
	r.badge.Alignment = fyne.TextAlignCenter
	dotBox := container.New(&fixedLayout{size: fyne.NewSquareSize(10)}, r.dot)
	r.badgeIn = container.NewCenter(r.badge)
	badge := container.New(&fixedLayout{size: fyne.NewSquareSize(22)}, r.badgeBg, r.badgeIn)
	r.top = container.NewBorder(nil, nil, nil, r.when, r.name)
	r.content = container.NewBorder(nil, nil, dotBox, nil, container.NewVBox(r.top,
		container.NewBorder(nil, nil, nil, badge, r.preview)))
	r.ExtendBaseWidget(r)
	return r
}

// bind shows a room in the row; selected rows draw the preview and time in the
// foreground colour, readable on the selection's background.
func (r *roomRow) bind(it RoomItem, now time.Time, selected bool) {
	r.name.SetText(roomTitle(it))
	secondary := widget.LowImportance
	if selected {
		secondary = widget.MediumImportance
	}
	r.when.Importance = secondary
	r.when.SetText(shortTime(it.PreviewTime, now))
	r.preview.Importance = secondary
	preview := it.Preview
	if preview == "" && it.LastSeq == 0 {
		preview = "No messages yet" // a blank second line looked like a broken row
	}
	r.preview.SetText(preview)
	r.dot.Hidden = !(it.Direct && it.Online)
	r.dot.Refresh()
	if it.Unread > 0 {
		t := strconv.FormatInt(it.Unread, 10)
		if it.Unread > 99 {
			t = "99+"
		}
		r.badge.Text = t
		r.badge.Show()
		r.badgeBg.Show()
	} else {
		r.badge.Hide()
		r.badgeBg.Hide()
	}
	r.badge.Color = theme.Color(theme.ColorNameForegroundOnPrimary)
	r.badgeBg.FillColor = theme.Color(theme.ColorNamePrimary)
	r.dot.FillColor = theme.Color(theme.ColorNameSuccess)
	r.badgeIn.Refresh()
	r.badgeBg.Refresh()
	r.top.Refresh()
}

func (r *roomRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }

// fixedLayout gives its objects one fixed size, centred vertically.
type fixedLayout struct{ size fyne.Size }

func (f *fixedLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	for _, o := range objs {
		o.Resize(f.size)
		o.Move(fyne.NewPos((s.Width-f.size.Width)/2, (s.Height-f.size.Height)/2))
	}
}

func (f *fixedLayout) MinSize([]fyne.CanvasObject) fyne.Size { return f.size }
