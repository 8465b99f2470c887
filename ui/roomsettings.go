package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

// Member is one member of a room as the settings show it.
type Member struct {
	ID     string
	Name   string
	Online bool
}

// RoomDetails is what the room settings show and change.
type RoomDetails struct {
	Name    string
	Topic   string
	Members []Member
}

// RoomSettingsEngine is what the room settings need of the engine.
type RoomSettingsEngine interface {
	// RoomDetails returns the room's name, topic and members (online first, then by name).
	RoomDetails(roomID string) (RoomDetails, error)
	// SetRoom renames the room and sets its topic.
	SetRoom(roomID, name, topic string) (RoomItem, error)
	// AddMembers adds users to the room.
	AddMembers(roomID string, userIDs []string) (RoomItem, error)
	// Leave leaves the room; the engine reports it as left.
	Leave(roomID string) error
}

func (e *clientEngine) RoomDetails(roomID string) (RoomDetails, error) {
	// The server's rooms (members change without a frame this client sees), or the store's.
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	r, err := e.c.FetchRooms(ctx)
	if err != nil {
		if r, err = e.c.Rooms(); err != nil {
			return RoomDetails{}, fmt.Errorf("rooms: %w", err)
		}
	}
	var d RoomDetails
	var ids []string
	for _, x := range r {
		if x.ID == roomID {
			d.Name, d.Topic, ids = x.Name, x.Topic, x.MemberIDs
		}
	}
	// Names of the members: the server's user list (GET /api/users), else a short id.
	names := map[string]model.User{}
	if us, err := e.c.SearchUsers(ctx, ""); err == nil {
		for _, u := range us {
			names[u.UserID] = u
		}
	}
	for _, id := range ids {
		m := Member{ID: id, Name: names[id].DisplayName, Online: e.c.Online(id) || names[id].Online}
		if id == e.c.UserID() {
			m.Online = true
			if n := e.selfNames(); len(n) > 0 && m.Name == "" {
				m.Name = n[0]
			}
		}
		if m.Name == "" {
			m.Name = id[:min(8, len(id))]
		}
		d.Members = append(d.Members, m)
	}
	slices.SortFunc(d.Members, func(a, b Member) int {
		if a.Online != b.Online {
			if a.Online {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return d, nil
}

func (e *clientEngine) SetRoom(roomID, name, topic string) (RoomItem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	r, err := e.c.SetRoom(ctx, roomID, &name, &topic)
	if err != nil {
		return RoomItem{}, userErr(err)
	}
	return e.roomItem(r), nil
}

func (e *clientEngine) AddMembers(roomID string, userIDs []string) (RoomItem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	r, err := e.c.AddMembers(ctx, roomID, userIDs)
	if err != nil {
		return RoomItem{}, userErr(err)
	}
	return e.roomItem(r), nil
}

func (e *clientEngine) Leave(roomID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	return userErr(e.c.LeaveRoom(ctx, roomID))
}

// roomSettings is the settings of the open room: name and topic, the members (online
// ones marked), adding people, and leaving.
type roomSettings struct {
	s       *shell
	re      RoomSettingsEngine
	roomID  string
	name    *dialogEntry
	topic   *dialogEntry
	save    *widget.Button
	status  *widget.Label
	members *widget.List
	details RoomDetails
	add     *dialogEntry
	found   []model.User
	results *fyne.Container
	leave   *widget.Button
	confirm *dialog.ConfirmDialog
	dlg     dialog.Dialog
	content fyne.CanvasObject
}

// askRoomSettings opens the open room's settings.
func (s *shell) askRoomSettings() {
	re, ok := s.eng.(RoomSettingsEngine)
	if !ok || s.chat == nil || s.win == nil {
		return
	}
	rs := newRoomSettings(s, re, s.chat.room)
	s.settings = rs
	rs.dlg = dialog.NewCustom("Room settings", "Close", rs.content, s.win)
	rs.dlg.Resize(fyne.NewSize(460, 560))
	closeOnEscape(s.win, rs.dlg, rs.name, rs.topic, rs.add)
	rs.dlg.Show()
}

func newRoomSettings(s *shell, re RoomSettingsEngine, room RoomItem) *roomSettings {
	rs := &roomSettings{s: s, re: re, roomID: room.ID}
	rs.name = newDialogEntry()
	rs.name.SetText(room.Name)
	rs.topic = newDialogEntry()
	rs.topic.SetPlaceHolder("What the room is about")
	rs.save = &widget.Button{Text: "Save", Importance: widget.HighImportance, OnTapped: rs.saveTapped}
	rs.status = &widget.Label{Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}
	rs.members = widget.NewList(func() int { return len(rs.details.Members) },
		func() fyne.CanvasObject { return widget.NewLabel("member") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(rs.details.Members) {
				m := rs.details.Members[i]
				t := m.Name
				if m.Online {
					t += "  ● online"
				}
				o.(*widget.Label).SetText(t)
			}
		})
	rs.add = newDialogEntry()
	rs.add.SetPlaceHolder("Add people: type a name")
	rs.add.OnChanged = rs.searchPeople
	rs.results = container.NewVBox()
	rs.leave = &widget.Button{Text: "Leave room", Importance: widget.DangerImportance, OnTapped: rs.askLeave}
	form := widget.NewForm(widget.NewFormItem("Name", rs.name), widget.NewFormItem("Topic", rs.topic))
	top := container.NewVBox(form, container.NewBorder(nil, nil, nil, rs.save, rs.status), widget.NewSeparator(),
		&widget.Label{Text: "Members", TextStyle: fyne.TextStyle{Bold: true}})
	bottom := container.NewVBox(rs.add, rs.results, widget.NewSeparator(), rs.leave)
	rs.content = container.NewBorder(top, bottom, nil, nil, rs.members)
	rs.load()
	return rs
}

// load reads the room's details.
func (rs *roomSettings) load() {
	run := rs.s.run
	run.bg(func() {
		d, err := rs.re.RoomDetails(rs.roomID)
		run.ui(func() {
			if err != nil {
				rs.status.SetText(err.Error())
				return
			}
			rs.details = d
			if rs.topic.Text == "" {
				rs.topic.SetText(d.Topic)
			}
			rs.members.Refresh()
		})
	})
}

func (rs *roomSettings) saveTapped() {
	name, topic, run := strings.TrimSpace(rs.name.Text), strings.TrimSpace(rs.topic.Text), rs.s.run
	run.bg(func() {
		it, err := rs.re.SetRoom(rs.roomID, name, topic)
		run.ui(func() {
			if err != nil {
				rs.status.SetText("Not saved: " + err.Error())
				return
			}
			rs.status.SetText("Saved")
			rs.s.rooms.merge([]RoomItem{it})
			if rs.s.chat != nil && rs.s.chat.room.ID == it.ID {
				rs.s.chat.room.Name = it.Name
				rs.s.chat.title.SetText(roomTitle(it))
			}
		})
	})
}

// searchPeople lists the users matching the name typed, each with an Add button.
func (rs *roomSettings) searchPeople(q string) {
	q = strings.TrimSpace(q)
	if q == "" {
		rs.results.Objects = nil
		rs.results.Refresh()
		return
	}
	run := rs.s.run
	run.bg(func() {
		us, err := rs.s.eng.SearchUsers(q)
		run.ui(func() {
			if strings.TrimSpace(rs.add.Text) != q || err != nil {
				return
			}
			rs.found = us
			objs := make([]fyne.CanvasObject, 0, len(us))
			for _, u := range us {
				if slices.ContainsFunc(rs.details.Members, func(m Member) bool { return m.ID == u.UserID }) {
					continue
				}
				b := &widget.Button{Text: "Add", OnTapped: func() { rs.addMember(u) }}
				objs = append(objs, container.NewBorder(nil, nil, nil, b, widget.NewLabel(u.DisplayName)))
			}
			rs.results.Objects = objs
			rs.results.Refresh()
		})
	})
}

func (rs *roomSettings) addMember(u model.User) {
	run := rs.s.run
	run.bg(func() {
		it, err := rs.re.AddMembers(rs.roomID, []string{u.UserID})
		run.ui(func() {
			if err != nil {
				rs.status.SetText("Could not add " + u.DisplayName + ": " + err.Error())
				return
			}
			rs.s.rooms.merge([]RoomItem{it})
			rs.add.SetText("")
			rs.status.SetText(u.DisplayName + " added")
			rs.load()
		})
	})
}

// askLeave asks once, then leaves; the engine's room_left closes the chat.
func (rs *roomSettings) askLeave() {
	run := rs.s.run
	rs.confirm = dialog.NewConfirm("Leave this room?", "You will no longer get its messages.", func(yes bool) {
		if !yes {
			return
		}
		if rs.dlg != nil {
			rs.dlg.Hide()
		}
		run.bg(func() {
			if err := rs.re.Leave(rs.roomID); err != nil {
				run.ui(func() { rs.status.SetText("Could not leave: " + err.Error()) })
			}
		})
	}, rs.s.win)
	rs.confirm.SetConfirmText("Leave")
	rs.confirm.Show()
}
