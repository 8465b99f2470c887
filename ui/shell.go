package ui

import (
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// shell is the signed-in app: the banner over the rooms and the chat, side by side on
// desktop and one at a time on mobile and in a desktop window narrower than
// compactBelow. Its apply method is where engine updates land.
type shell struct {
	win     fyne.Window
	eng     Engine
	run     runner
	mobile  bool
	narrow  bool // a desktop window narrower than compactBelow: one pane at a time
	now     func() time.Time
	notify  func(title, body string)
	focused bool

	banner      *connBanner
	rooms       *roomsScreen
	chat        *chatScreen
	typing      map[string][]Typist
	presence    map[string]bool
	chatHolder  *fyne.Container
	placeholder fyne.CanvasObject
	body        *fyne.Container
	roomsPane   fyne.CanvasObject // the rooms screen as the body or the split shows it
	split       *container.Split  // desktop: rooms beside the chat
	prefs       fyne.Preferences  // keeps the split's offset; nil: not kept
	serverInfo  string            // where the app is connected, for the rooms header
	content     fyne.CanvasObject
	onSignOut   func()
	onUnread    func(total int64) // the unread total changed (the tray shows it)
	unread      int64
	throttled   bool             // the engine holds the outbox back for the server's rate limit
	dir         *directoryScreen // the public rooms directory shown last
	search      *searchScreen    // the search shown last
	settings    *roomSettings    // the room settings shown last
}

func newShell(win fyne.Window, eng Engine, run runner, mobile bool) *shell {
	s := &shell{win: win, eng: eng, run: run, mobile: mobile, now: time.Now, focused: true,
		typing: map[string][]Typist{}, presence: map[string]bool{}}
	s.banner = newConnBanner(eng.Nudge)
	s.rooms = newRoomsScreen(s.open)
	s.rooms.newRoom.OnTapped = s.askNewRoom
	s.rooms.newDM.OnTapped = s.askDirect
	s.rooms.join.OnTapped = s.askDirectory
	s.rooms.search.OnTapped = s.askSearch
	s.rooms.signOut.OnTapped = func() {
		if s.onSignOut != nil {
			s.onSignOut()
		}
	}
	s.placeholder = container.NewCenter(&widget.Label{Text: "Pick a room to start chatting", Importance: widget.LowImportance})
	s.chatHolder = container.NewStack(s.placeholder)
	if a := fyne.CurrentApp(); a != nil {
		s.prefs = a.Preferences()
	}
	if mobile {
		s.roomsPane = s.rooms.content
		s.body = container.NewStack(s.roomsPane)
		s.content = container.NewBorder(s.banner, nil, nil, nil, s.body)
	} else {
		s.roomsPane = newSizeWatch(s.rooms.content, func(fyne.Size) { s.keepSplit() })
		if win != nil {
			win.SetOnDropped(s.dropped) // files dropped onto the window (desktop only; attach.go)
		}
		s.split = container.NewHSplit(s.roomsPane, s.chatHolder)
		s.split.Offset = defaultRoomsSplit
		if s.prefs != nil {
			s.split.Offset = s.prefs.FloatWithFallback(prefRoomsSplit, defaultRoomsSplit)
		}
		s.body = container.NewStack(s.split)
		// The window may shrink to one pane's width: the split is only shown when wider.
		watch := newSizeWatch(s.body, func(size fyne.Size) { s.setNarrow(size.Width < compactBelow) })
		watch.minSize = func() fyne.Size { return s.rooms.content.MinSize() }
		s.content = container.NewBorder(s.banner, nil, nil, nil, watch)
	}
	s.loadRooms("")
	return s
}

// setServerInfo says where the app is connected ("Hosting on 127.0.0.1:8787"); the
// rooms header shows it while online, and "Offline"/"Connecting…" otherwise.
func (s *shell) setServerInfo(text string) {
	s.serverInfo = text
	s.showServerInfo()
}

// showServerInfo puts the connection state and the server in the rooms header.
func (s *shell) showServerInfo() {
	text := s.serverInfo
	switch s.banner.state.Phase {
	case PhaseOffline:
		text = "Offline" + serverSuffix(text)
	case PhaseConnecting:
		text = "Connecting" + serverSuffix(text) + "…"
	}
	s.rooms.server.SetText(text)
}

// serverSuffix turns "Connected to host:port" (or "Hosting on …") into " · host:port".
func serverSuffix(info string) string {
	for _, p := range []string{"Connected to ", "Hosting on "} {
		if strings.HasPrefix(info, p) {
			return " · " + strings.TrimPrefix(info, p)
		}
	}
	if info == "" {
		return ""
	}
	return " · " + info
}

// compact reports whether one pane is shown at a time (a phone, a narrow window).
func (s *shell) compact() bool { return s.mobile || s.narrow }

// setNarrow switches a desktop window between the split and one pane at a time.
func (s *shell) setNarrow(narrow bool) {
	if s.mobile || narrow == s.narrow {
		return
	}
	s.narrow = narrow
	if narrow {
		s.chatHolder.Objects = []fyne.CanvasObject{s.placeholder}
		s.body.Objects = []fyne.CanvasObject{s.roomsPane}
		if s.chat != nil {
			s.body.Objects = []fyne.CanvasObject{s.chat.content}
			s.chat.showBack(true)
		}
	} else {
		s.chatHolder.Objects = []fyne.CanvasObject{s.placeholder}
		if s.chat != nil {
			s.chatHolder.Objects = []fyne.CanvasObject{s.chat.content}
			s.chat.showBack(false)
		}
		s.body.Objects = []fyne.CanvasObject{s.split}
	}
	s.chatHolder.Refresh()
	s.body.Refresh()
}

// keepSplit stores where the user put the divider, once it moved.
func (s *shell) keepSplit() {
	if s.prefs == nil || s.compact() {
		return
	}
	if s.prefs.FloatWithFallback(prefRoomsSplit, defaultRoomsSplit) != s.split.Offset {
		s.prefs.SetFloat(prefRoomsSplit, s.split.Offset)
	}
}

// loadRooms reads the rooms and opens openID (or, on desktop, the first room).
func (s *shell) loadRooms(openID string) {
	s.run.bg(func() {
		rooms, err := s.eng.Rooms()
		s.run.ui(func() {
			if err != nil {
				return
			}
			for i := range rooms {
				if on, ok := s.presence[rooms[i].PeerID]; ok {
					rooms[i].Online = on
				}
			}
			s.rooms.rooms = rooms
			sortRooms(s.rooms.rooms)
			s.rooms.list.Refresh()
			s.updateTitle()
			if openID != "" {
				if r, ok := s.rooms.room(openID); ok {
					s.open(r)
				}
			}
		})
	})
}

// open shows room's chat.
func (s *shell) open(r RoomItem) {
	if s.chat != nil && s.chat.room.ID == r.ID {
		if s.compact() {
			s.body.Objects = []fyne.CanvasObject{s.chat.content}
			s.body.Refresh()
		}
		return
	}
	if s.chat != nil {
		s.chat.drafts.leave()
	}
	s.chat = newChatScreen(s.eng, s.run, r, s.back)
	s.chat.attach.win, s.chat.attach.mobile = s.window, s.mobile
	s.chat.showBack(s.compact())
	s.chat.active = func() bool { return s.focused }
	s.chat.conv.settingsBtn.OnTapped = s.askRoomSettings
	s.chat.setTyping(s.typing[r.ID])
	s.chat.setThrottled(s.throttled)
	if s.compact() {
		s.body.Objects = []fyne.CanvasObject{s.chat.content}
		s.body.Refresh()
	} else {
		s.chatHolder.Objects = []fyne.CanvasObject{s.chat.content}
		s.chatHolder.Refresh()
		s.rooms.selected = r.ID
		s.rooms.reselect()
	}
	if s.win != nil {
		s.win.Canvas().Focus(s.chat.composer)
	}
}

// back returns from a chat to the rooms list (one pane at a time).
func (s *shell) back() {
	s.body.Objects = []fyne.CanvasObject{s.roomsPane}
	s.body.Refresh()
	s.rooms.list.UnselectAll()
	s.rooms.selected = ""
	s.chat = nil
}

// apply shows one batch of engine events: every list is refreshed at most once.
func (s *shell) apply(u Update) {
	if u.Conn != nil {
		s.banner.setState(*u.Conn, s.now())
		s.throttled = u.Conn.Throttled
		if s.chat != nil {
			s.chat.setThrottled(s.throttled)
		}
		s.showServerInfo()
	}
	for id, on := range u.Presence {
		s.presence[id] = on
	}
	if len(u.Rooms) > 0 {
		rooms := make([]RoomItem, len(u.Rooms))
		copy(rooms, u.Rooms)
		for i := range rooms {
			if on, ok := s.presence[rooms[i].PeerID]; ok {
				rooms[i].Online = on
			}
		}
		s.rooms.merge(rooms)
	}
	if len(u.Presence) > 0 {
		s.rooms.setOnline(u.Presence, s.peerOf)
	}
	for room, who := range u.Typing {
		s.typing[room] = who
		if s.chat != nil && s.chat.room.ID == room {
			s.chat.setTyping(who)
		}
	}
	for _, id := range u.Reset {
		if s.chat != nil && s.chat.room.ID == id {
			s.chat.loadLatest()
		}
	}
	if s.chat != nil && len(u.Rows) > 0 {
		var mine []Row
		for _, r := range u.Rows {
			if r.RoomID == s.chat.room.ID {
				mine = append(mine, r)
			}
		}
		s.chat.list.upsert(mine)
	}
	if s.chat != nil && len(u.Uploads) > 0 {
		s.chat.setProgress(u.Uploads)
	}
	s.applyConversation(u)
	if !s.focused && s.notify != nil {
		s.notifyAbout(u.Notify)
	}
	s.updateTitle()
}

// maxNotes is how many messages of one batch get a notification each; a bigger batch
// (a sync after a reconnect) gets one summary instead.
const maxNotes = 3

// notifyAbout raises notifications for others' new messages.
func (s *shell) notifyAbout(rows []Row) {
	var others []Row
	for _, r := range rows {
		if !r.Own {
			others = append(others, r)
		}
	}
	if len(others) > maxNotes {
		s.notify("Parley", strconv.Itoa(len(others))+" new messages")
		return
	}
	for _, r := range others {
		title := r.SenderName
		if room, ok := s.rooms.room(r.RoomID); ok && !room.Direct {
			title += " in " + roomTitle(room)
		}
		s.notify(title, r.Text)
	}
}

func (s *shell) peerOf(roomID string) string {
	r, _ := s.rooms.room(roomID)
	return r.PeerID
}

// updateTitle puts the unread total in the window title.
func (s *shell) updateTitle() {
	if s.win == nil {
		return
	}
	t := "Parley"
	n := s.rooms.unreadTotal()
	if n > 0 {
		t += " (" + strconv.FormatInt(n, 10) + ")"
	}
	if n != s.unread {
		s.unread = n
		if s.onUnread != nil {
			s.onUnread(n)
		}
	}
	if s.win.Title() != t {
		s.win.SetTitle(t)
	}
}

// setFocused records whether the window has the focus; regaining it marks as read what
// arrived on screen meanwhile.
func (s *shell) setFocused(f bool) {
	s.focused = f
	if f && s.chat != nil {
		s.chat.flushRead()
	}
}

// tick advances the banner's countdown.
func (s *shell) tick() { s.banner.tick(s.now()) }
