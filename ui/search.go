package ui

import (
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// searchScreen searches messages: every room, or only the one open. Each result gives
// its room, sender and time and the text with the words searched for in bold; choosing
// one opens its room at that message.
type searchScreen struct {
	s       *shell
	ce      ConversationEngine
	query   *dialogEntry
	scope   *widget.Check // only the open room
	roomID  string        // the room open when the search began
	status  *widget.Label
	list    *widget.List
	results []Row
	content fyne.CanvasObject
	dlg     dialog.Dialog
}

// askSearch opens the search; it searches within the open room when there is one
// (the check box widens it to every room).
func (s *shell) askSearch() {
	ce, ok := s.eng.(ConversationEngine)
	if !ok || s.win == nil {
		return
	}
	ss := newSearchScreen(s, ce)
	s.search = ss
	ss.dlg = dialog.NewCustom("Search messages", "Close", ss.content, s.win)
	ss.dlg.Resize(fyne.NewSize(520, 560))
	closeOnEscape(s.win, ss.dlg, ss.query)
	ss.dlg.Show()
	s.win.Canvas().Focus(ss.query)
}

func newSearchScreen(s *shell, ce ConversationEngine) *searchScreen {
	ss := &searchScreen{s: s, ce: ce}
	ss.query = newDialogEntry()
	ss.query.SetPlaceHolder("Search messages")
	ss.query.OnChanged = func(string) { ss.run() }
	ss.status = &widget.Label{Importance: widget.LowImportance}
	ss.scope = widget.NewCheck("Only in this room", func(bool) { ss.run() })
	if s.chat != nil {
		ss.roomID = s.chat.room.ID
		ss.scope.Text = "Only in " + roomTitle(s.chat.room)
		ss.scope.Checked = true
	} else {
		ss.scope.Hide()
	}
	ss.list = widget.NewList(func() int { return len(ss.results) },
		func() fyne.CanvasObject {
			meta := &widget.Label{SizeName: theme.SizeNameCaptionText, Importance: widget.LowImportance,
				Truncation: fyne.TextTruncateEllipsis}
			text := widget.NewRichText()
			text.Truncation = fyne.TextTruncateEllipsis
			return container.NewVBox(meta, text)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(ss.results) {
				return
			}
			r := ss.results[i]
			objs := o.(*fyne.Container).Objects
			objs[0].(*widget.Label).SetText(ss.metaOf(r))
			rt := objs[1].(*widget.RichText)
			rt.Segments = highlight(oneLine(r.Text), ss.query.Text)
			rt.Refresh()
		})
	ss.list.OnSelected = func(i widget.ListItemID) {
		ss.list.UnselectAll()
		if i < len(ss.results) {
			ss.choose(ss.results[i])
		}
	}
	ss.content = container.NewBorder(container.NewVBox(ss.query, ss.scope, ss.status), nil, nil, nil, ss.list)
	return ss
}

// metaOf is a result's first line: room · sender · time.
func (ss *searchScreen) metaOf(r Row) string {
	room := r.RoomID
	if it, ok := ss.s.rooms.room(r.RoomID); ok {
		room = roomTitle(it)
	}
	return room + " · " + r.SenderName + " · " + searchTime(r.Time, ss.s.now())
}

// run searches for what is typed now; an answer to an older query is dropped.
func (ss *searchScreen) run() {
	q := strings.TrimSpace(ss.query.Text)
	room := ""
	if ss.scope.Visible() && ss.scope.Checked {
		room = ss.roomID
	}
	if q == "" {
		ss.results = nil
		ss.status.SetText("")
		ss.list.Refresh()
		return
	}
	ss.status.SetText("Searching…")
	run := ss.s.run
	run.bg(func() {
		rows, err := ss.ce.Search(q, room)
		run.ui(func() {
			if strings.TrimSpace(ss.query.Text) != q {
				return
			}
			switch {
			case err != nil:
				ss.status.SetText("Could not search: " + err.Error())
			case len(rows) == 0:
				ss.status.SetText("Nothing found")
			default:
				ss.status.SetText("")
			}
			ss.results = rows
			ss.list.Refresh()
		})
	})
}

// choose opens the result's room at the result.
func (ss *searchScreen) choose(r Row) {
	if ss.dlg != nil {
		ss.dlg.Hide()
	}
	s := ss.s
	it, ok := s.rooms.room(r.RoomID)
	if !ok {
		return
	}
	if s.chat == nil || s.chat.room.ID != r.RoomID {
		s.open(it)
	} else {
		s.open(it) // compact: bring the chat to the front
	}
	if s.chat != nil {
		s.chat.conv.jumpToID(r.ID)
	}
}

// highlight cuts text into rich text segments with every occurrence of the query's
// words (any case) in bold.
func highlight(text, query string) []widget.RichTextSegment {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	lower := strings.ToLower(text)
	if len(lower) != len(text) {
		lower = text // a case change that alters byte lengths: match exactly instead
	}
	bold := make([]bool, len(text))
	for _, w := range words {
		for i := 0; w != "" && i < len(lower); {
			j := strings.Index(lower[i:], w)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(w); k++ {
				bold[k] = true
			}
			i += j + len(w)
		}
	}
	var segs []widget.RichTextSegment
	start := 0
	for i := 1; i <= len(text); i++ {
		if i == len(text) || bold[i] != bold[start] {
			st := widget.RichTextStyleInline
			if bold[start] {
				st = widget.RichTextStyleStrong
				st.ColorName = theme.ColorNamePrimary
			}
			segs = append(segs, &widget.TextSegment{Text: text[start:i], Style: st})
			start = i
		}
	}
	return segs
}
