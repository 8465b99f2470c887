package ui

import (
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// composeMode is what Enter does with the composer's text.
type composeMode int

const (
	composeNew composeMode = iota
	composeReply
	composeEdit
)

// conversation is a chat's part in protocol 1.1: the bubbles' menu, the reply or edit
// under way (shown in a bar over the composer), reactions and jumping to a quoted message.
type conversation struct {
	c      *chatScreen
	mode   composeMode
	target Row

	bar      *fyne.Container
	barText  *widget.Label
	barClose *widget.Button

	menu        *fyne.Menu // the menu shown last (tests pick from it)
	popup       *widget.PopUpMenu
	picker      *widget.PopUp
	pickBtn     []*widget.Button
	confirm     *dialog.ConfirmDialog
	selectText  *widget.Label  // the selectable text of "Select text…", while its dialog shows
	settingsBtn *widget.Button // opens the room settings (group rooms)
	mention     *mentions      // @name completion
	jumps       int            // counts jumps to a message: the newest page asked for before one is not shown over it
}

func newConversation(c *chatScreen) *conversation {
	cv := &conversation{c: c}
	cv.mention = &mentions{c: c}
	cv.barText = &widget.Label{Truncation: fyne.TextTruncateEllipsis, SizeName: theme.SizeNameCaptionText}
	cv.barClose = &widget.Button{Icon: theme.CancelIcon(), Importance: widget.LowImportance,
		OnTapped: func() { cv.cancel() }}
	cv.bar = container.NewBorder(nil, nil, nil, cv.barClose, cv.barText)
	cv.bar.Hide()
	cv.settingsBtn = &widget.Button{Icon: theme.SettingsIcon(), Importance: widget.LowImportance}
	if _, ok := c.eng.(RoomSettingsEngine); !ok || c.room.Direct {
		cv.settingsBtn.Hide()
	}
	return cv
}

// engine is the chat's engine's conversation side, when it has one.
func (cv *conversation) engine() (ConversationEngine, bool) {
	ce, ok := cv.c.eng.(ConversationEngine)
	return ce, ok
}

// actions are what the bubbles of the chat do; nil when the engine has no 1.1 side.
func (cv *conversation) actions() *bubbleActions {
	if _, ok := cv.engine(); !ok {
		return nil
	}
	return &bubbleActions{menu: cv.showMenu, quote: cv.jumpTo, react: cv.react}
}

// menuFor is a bubble's menu: Reply, React, Copy text, Select text… (on the desktop),
// and Edit and Delete for own messages.
func (cv *conversation) menuFor(v rowView) *fyne.Menu {
	items := []*fyne.MenuItem{
		fyne.NewMenuItem("Reply", func() { cv.startReply(v.Row) }),
		fyne.NewMenuItem("React", func() { cv.showPicker(v.Row) }),
		fyne.NewMenuItem("Copy text", func() { cv.copyText(v.Row) }),
	}
	if !fyne.CurrentDevice().IsMobile() && !v.Deleted && v.Text != "" {
		// The bubble's text is not selectable (a selectable label would take the
		// right-click that opens this menu): part of a message is copied from here.
		items = append(items, fyne.NewMenuItem("Select text…", func() { cv.showSelectable(v.Row) }))
	}
	if v.Own {
		items = append(items,
			fyne.NewMenuItem("Edit", func() { cv.startEdit(v.Row) }),
			fyne.NewMenuItem("Delete", func() { cv.askDelete(v.Row) }))
	}
	return fyne.NewMenu("", items...)
}

// showMenu opens a bubble's menu at an absolute position.
func (cv *conversation) showMenu(v rowView, at fyne.Position) {
	cv.menu = cv.menuFor(v)
	cnv := fyne.CurrentApp().Driver().CanvasForObject(cv.c.list)
	if cnv == nil {
		return
	}
	cv.popup = widget.NewPopUpMenu(cv.menu, cnv)
	cv.popup.ShowAtPosition(at)
}

// menuItem returns the shown menu's item labelled label, for tests and the e2e driver.
func (cv *conversation) menuItem(label string) *fyne.MenuItem {
	if cv.menu == nil {
		return nil
	}
	for _, it := range cv.menu.Items {
		if it.Label == label {
			return it
		}
	}
	return nil
}

func (cv *conversation) showBar(text string) {
	cv.barText.SetText(text)
	cv.bar.Show()
	cv.c.relayoutBottom()
	if cnv := fyne.CurrentApp().Driver().CanvasForObject(cv.c.composer); cnv != nil {
		cnv.Focus(cv.c.composer)
	}
}

// startReply shows the message answered over the composer.
func (cv *conversation) startReply(r Row) {
	if cv.mode == composeEdit {
		cv.c.composer.setText("")
	}
	cv.mode, cv.target = composeReply, r
	cv.showBar("Replying to " + quoteOf(r))
}

// startEdit fills the composer with the message's text; Enter saves, Escape cancels.
func (cv *conversation) startEdit(r Row) {
	cv.mode, cv.target = composeEdit, r
	cv.c.composer.setText(r.Text)
	cv.showBar("Editing your message — Enter saves, Escape cancels")
}

// cancel ends a reply or an edit; it reports whether one was under way.
func (cv *conversation) cancel() bool {
	if cv.mode == composeNew {
		return false
	}
	if cv.mode == composeEdit {
		cv.c.composer.setText("")
	}
	cv.mode, cv.target = composeNew, Row{}
	cv.bar.Hide()
	cv.c.relayoutBottom()
	return true
}

// send takes the composer's text when a reply or an edit is under way.
func (cv *conversation) send(text string) bool {
	if cv.mode == composeNew {
		return false
	}
	ce, ok := cv.engine()
	if !ok {
		return false
	}
	mode, t, room := cv.mode, cv.target, cv.c.room.ID
	cv.mode, cv.target = composeNew, Row{}
	cv.bar.Hide()
	cv.c.relayoutBottom()
	if mode == composeEdit && text == t.Text {
		return true
	}
	cv.c.run.bg(func() {
		var err error
		if mode == composeEdit {
			err = ce.Edit(room, t.ID, text)
		} else {
			err = ce.Reply(room, t.ID, text)
		}
		if err != nil {
			cv.c.run.ui(func() { cv.c.showError(err.Error()) })
		}
	})
	return true
}

// askDelete asks once, then deletes the message for everyone.
func (cv *conversation) askDelete(r Row) {
	ce, ok := cv.engine()
	win := windowOf(cv.c.list)
	if !ok || win == nil {
		return
	}
	room := cv.c.room.ID
	cv.confirm = dialog.NewConfirm("Delete message?", "It is deleted for everyone in the room.", func(yes bool) {
		if !yes {
			return
		}
		cv.c.run.bg(func() {
			if err := ce.Delete(room, r.ID); err != nil {
				cv.c.run.ui(func() { cv.c.showError(err.Error()) })
			}
		})
	}, win)
	cv.confirm.SetConfirmText("Delete")
	cv.confirm.SetConfirmImportance(widget.DangerImportance)
	cv.confirm.Show()
}

// showSelectable shows r's text in a dialog where any part of it can be selected and
// copied (Ctrl+C, or the label's own right-click Copy).
func (cv *conversation) showSelectable(r Row) {
	win := windowOf(cv.c.list)
	if win == nil {
		return
	}
	cv.selectText = &widget.Label{Text: r.Text, Selectable: true, Wrapping: fyne.TextWrapWord}
	scroll := container.NewVScroll(cv.selectText)
	d := dialog.NewCustom("Select text", "Close", scroll, win)
	d.SetOnClosed(func() { cv.selectText = nil })
	d.Resize(fyne.NewSize(min(480, win.Canvas().Size().Width-2*theme.Padding()), min(320, win.Canvas().Size().Height-2*theme.Padding())))
	d.Show()
}

func (cv *conversation) copyText(r Row) {
	if a := fyne.CurrentApp(); a != nil && !r.Deleted {
		a.Clipboard().SetContent(r.Text)
	}
}

// react adds or takes back the user's reaction.
func (cv *conversation) react(v rowView, emoji string, on bool) {
	ce, ok := cv.engine()
	if !ok {
		return
	}
	room, id := cv.c.room.ID, v.ID
	cv.c.run.bg(func() {
		if err := ce.React(room, id, emoji, on); err != nil {
			cv.c.run.ui(func() { cv.c.showError(err.Error()) })
		}
	})
}

// showPicker offers the common emoji for a message.
func (cv *conversation) showPicker(r Row) {
	cnv := fyne.CurrentApp().Driver().CanvasForObject(cv.c.list)
	if cnv == nil {
		return
	}
	mine := map[string]bool{}
	for _, x := range decodeReactions(r.Reactions) {
		mine[x.Emoji] = x.Mine
	}
	var box fyne.CanvasObject
	box, cv.pickBtn = newEmojiPicker(func(e string) bool { return mine[e] }, func(e string, on bool) {
		if cv.picker != nil {
			cv.picker.Hide()
		}
		cv.react(rowView{Row: r}, e, on)
	})
	cv.picker = widget.NewPopUp(box, cnv)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(cv.c.list)
	if w := cv.c.list.rowWidgetFor(r.ID); w != nil {
		pos = fyne.CurrentApp().Driver().AbsolutePositionForObject(w).Add(w.bubble.Position())
	}
	cv.picker.ShowAtPosition(pos)
}

// jumpTo scrolls to the message a reply answers, paging it in when it is not in the window.
func (cv *conversation) jumpTo(v rowView) { cv.jumpToID(v.ReplyTo) }

// jumpToID scrolls to message id, paging it in when it is not in the window.
func (cv *conversation) jumpToID(id string) {
	if id == "" || cv.c.list.scrollTo(id) {
		return
	}
	ce, ok := cv.engine()
	if !ok {
		return
	}
	room := cv.c.room.ID
	cv.jumps++
	cv.c.run.bg(func() {
		rows, older, err := ce.Around(room, id, pageSize/2)
		cv.c.run.ui(func() {
			if err != nil {
				cv.c.showError("Could not show that message: " + err.Error())
				return
			}
			cv.c.list.showAround(rows, older, id)
		})
	})
}

// windowOf finds the window that shows o.
func windowOf(o fyne.CanvasObject) fyne.Window {
	a := fyne.CurrentApp()
	if a == nil {
		return nil
	}
	cnv := a.Driver().CanvasForObject(o)
	for _, w := range a.Driver().AllWindows() {
		if w.Canvas() == cnv {
			return w
		}
	}
	return nil
}

// quoteGeometry is the height of a reply's quote and the bubble's width with room for it.
func quoteGeometry(v rowView, bw, maxW float32) (float32, float32) {
	if v.ReplyTo == "" {
		return 0, bw
	}
	q := v.Quote
	if q == "" {
		q = "Original message"
	}
	size := theme.CaptionTextSize()
	ts := fyne.MeasureText(q, size, fyne.TextStyle{})
	bw = fyne.Max(bw, fyne.Min(ts.Width+2*theme.InnerPadding()+16, maxW))
	return ts.Height + 12, bw
}

// change applies edits, deletes and reactions to rows in the window (others are read
// from the store when paged in), and refreshes the quotes of replies to them.
func (l *messageList) change(rows []Row) {
	if len(rows) == 0 || len(l.rows) == 0 {
		return
	}
	byID := make(map[string]Row, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	hit := false
	for i, r := range l.rows {
		if n, ok := byID[r.ID]; ok {
			l.rows[i], hit = n, true
		}
		if t, ok := byID[r.ReplyTo]; ok && r.ReplyTo != "" {
			l.rows[i].Quote, hit = quoteOf(t), true
		}
	}
	if !hit {
		return
	}
	anchor, delta := l.anchor()
	stick := l.atBottom
	l.relayout()
	if stick {
		l.scrollToBottom()
		return
	}
	l.restore(anchor, delta)
}

// scrollTo brings row id to the top of the view; false when it is not in the window.
func (l *messageList) scrollTo(id string) bool {
	for i, r := range l.rows {
		if r.ID == id {
			l.setOffset(l.tops[i])
			l.atBottom = !l.hasNewer && l.scroll.Offset.Y >= l.maxOffset()-bottomSlack
			return true
		}
	}
	return false
}

// showAround replaces the window with rows about message id and shows it.
func (l *messageList) showAround(rows []Row, older bool, id string) {
	l.rows = append(l.rows[:0:0], rows...)
	sort.SliceStable(l.rows, func(i, j int) bool { return l.rows[i].before(l.rows[j]) })
	l.hasOlder, l.hasNewer = older, true
	l.loaded, l.loadingOlder, l.loadingNewer = true, false, false
	l.newCount = 0
	l.atBottom = false
	l.relayout()
	l.scrollTo(id)
}

// applyConversation shows a batch's edits, deletes and reactions, refusals and rooms left.
func (s *shell) applyConversation(u Update) {
	if s.chat != nil && len(u.Changed) > 0 {
		var mine []Row
		for _, r := range u.Changed {
			if r.RoomID == s.chat.room.ID {
				mine = append(mine, r)
			}
		}
		s.chat.list.change(mine)
	}
	// A mention notifies even while the window has the focus, when its room is not open.
	if s.focused && s.notify != nil {
		for _, r := range u.Notify {
			if r.MentionsMe && (s.chat == nil || s.chat.room.ID != r.RoomID) {
				title := r.SenderName + " mentioned you"
				if room, ok := s.rooms.room(r.RoomID); ok {
					title += " in " + roomTitle(room)
				}
				s.notify(title, r.Text)
			}
		}
	}
	if s.chat != nil && len(u.Failed) > 0 {
		s.chat.failed.add(u.Failed...)
	}
	if len(u.Left) > 0 {
		for _, id := range u.Left {
			if s.chat != nil && s.chat.room.ID == id {
				s.closeChat()
			}
		}
		s.loadRooms("")
	}
}

// closeChat shows no room (the room open was left).
func (s *shell) closeChat() {
	if s.compact() {
		s.back()
		return
	}
	s.chat = nil
	s.chatHolder.Objects = []fyne.CanvasObject{s.placeholder}
	s.chatHolder.Refresh()
	s.rooms.selected = ""
	s.rooms.list.UnselectAll()
}
