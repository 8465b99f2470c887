package ui

import (
	"sort"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Window and paging sizes of the message list.
const (
	maxWindow     = 400          // rows held at most; older or newer ones are paged back in from storage
	pageSize      = 40           // rows fetched by one page: two screens
	floodWindow   = 2 * pageSize // rows kept when more than a page arrives at once at the bottom
	topThreshold  = 300          // px from the top at which older rows are asked for
	bottomSlack   = 24           // px from the bottom that still count as "at the bottom"
	heightsKeyCap = 4 * maxWindow
)

// emptyRoomText is what an empty room's chat shows, and its line in the rooms list.
const emptyRoomText = "No messages yet — say hello"

// heightKey names one measured row height: the message, its drawn form and the width.
type heightKey struct {
	id     string
	width  float32
	flags  uint8
	failed bool
	day    string
	att    attachKey
	shape  uint64 // the text and 1.1's parts: an edit or a reaction measures the row again
}

// listCallbacks is how the list asks its owner for data and reports what was seen.
type listCallbacks struct {
	older  func(beforeSeq int64) // page older rows in; answer with prependOlder
	newer  func(afterSeq int64)  // page newer rows in; answer with appendNewer
	latest func()                // jump to the newest rows; answer with setRows
	read   func(seq int64)       // rows up to seq have been on screen
	retry  func(id string)
	att    *attachEnv     // what the rows' pictures and file chips share
	acts   *bubbleActions // the bubble's menu, quote and chips; nil: none
}

// messageList is the chat's list: a bounded window of rows over the room's history,
// drawn with only the visible rows as widgets and every row height measured once.
type messageList struct {
	widget.BaseWidget
	cb    listCallbacks
	group bool
	now   func() time.Time

	rows    []Row
	views   []rowView
	heights []float32
	tops    []float32 // tops[i] is row i's y; tops[len] the total height

	hasOlder, hasNewer  bool
	loadingOlder        bool
	loadingNewer        bool
	atBottom            bool
	programmatic        bool    // the list itself is moving the offset
	lastOff             float32 // the offset the rows were last bound for
	newCount            int
	readSeq             int64
	width               float32
	cache               map[heightKey]float32
	body                *listBody
	scroll              *container.Scroll
	pill                *widget.Button
	empty               *widget.Label // "No messages yet — say hello", over an empty room
	loaded              bool          // setRows has run: an empty window means an empty room
	active              map[string]*rowWidget
	free                []*rowWidget
	refreshes, measures int // counted for tests and benchmarks
}

func newMessageList(cb listCallbacks, group bool) *messageList {
	l := &messageList{cb: cb, group: group, now: time.Now, atBottom: true,
		cache: map[heightKey]float32{}, active: map[string]*rowWidget{}}
	l.body = &listBody{l: l}
	l.body.ExtendBaseWidget(l.body)
	l.scroll = container.NewVScroll(l.body)
	l.scroll.OnScrolled = func(fyne.Position) { l.userScrolled() }
	l.pill = &widget.Button{Icon: theme.MoveDownIcon(), Importance: widget.HighImportance, OnTapped: l.tappedPill}
	l.pill.Hide()
	l.empty = &widget.Label{Text: emptyRoomText, Importance: widget.LowImportance, Alignment: fyne.TextAlignCenter}
	l.empty.Hide()
	l.ExtendBaseWidget(l)
	return l
}

// setRows replaces the window with rows (the newest of the room) and shows the bottom.
func (l *messageList) setRows(rows []Row, hasOlder bool) {
	l.rows = append(l.rows[:0:0], rows...)
	sort.SliceStable(l.rows, func(i, j int) bool { return l.rows[i].before(l.rows[j]) })
	l.hasOlder, l.hasNewer = hasOlder, false
	l.loaded = true
	l.loadingOlder, l.loadingNewer = false, false
	l.newCount = 0
	l.atBottom = true
	l.relayout()
	l.scrollToBottom()
}

// upsert applies new and changed rows of this list's room from the engine. New rows
// scroll into view only when the user is at the bottom; otherwise the pill counts them.
func (l *messageList) upsert(rows []Row) {
	if len(rows) == 0 {
		return
	}
	anchor, delta := l.anchor()
	index := make(map[string]int, len(l.rows))
	for i, r := range l.rows {
		index[r.ID] = i
	}
	added, ownAdded := 0, false
	for _, r := range rows {
		if i, ok := index[r.ID]; ok {
			l.rows[i] = r
			continue
		}
		if l.hasNewer && r.Seq > 0 {
			l.newCount++ // it lives past the window's end; the pill jumps to it
			continue
		}
		l.rows = append(l.rows, r)
		index[r.ID] = len(l.rows) - 1
		added++
		ownAdded = ownAdded || r.Own
	}
	if ownAdded && l.hasNewer && l.cb.latest != nil {
		l.cb.latest() // the user wrote while paged up: show the newest, with the new message
		return
	}
	sort.SliceStable(l.rows, func(i, j int) bool { return l.rows[i].before(l.rows[j]) })
	stick := l.atBottom || ownAdded
	keep := maxWindow
	if added > pageSize {
		// A flood (merged by the bridge): keep what is near the bottom only. Every row
		// kept is measured, and Fyne caches each measured text for a minute.
		keep = floodWindow
	}
	if stick && len(l.rows) > keep {
		l.rows = append(l.rows[:0:0], l.rows[len(l.rows)-keep:]...)
		l.hasOlder = true
	}
	l.relayout()
	if stick {
		l.newCount = 0
		l.scrollToBottom()
		return
	}
	l.newCount += added
	l.restore(anchor, delta)
}

// prependOlder puts older rows above the window without moving what is on screen.
func (l *messageList) prependOlder(rows []Row, more bool) {
	l.loadingOlder = false
	anchor, delta := l.anchor()
	l.rows = mergeRows(rows, l.rows)
	l.hasOlder = more
	if len(l.rows) > maxWindow {
		l.rows = l.rows[:maxWindow]
		l.hasNewer = true
	}
	l.relayout()
	l.restore(anchor, delta)
}

// appendNewer puts newer rows below the window (paging back down after paging up).
func (l *messageList) appendNewer(rows []Row, more bool) {
	l.loadingNewer = false
	anchor, delta := l.anchor()
	l.rows = mergeRows(l.rows, rows)
	l.hasNewer = more
	if len(l.rows) > maxWindow {
		l.rows = append(l.rows[:0:0], l.rows[len(l.rows)-maxWindow:]...)
		l.hasOlder = true
	}
	l.relayout()
	l.restore(anchor, delta)
}

// mergeRows joins two runs of rows, dropping duplicates, in list order.
func mergeRows(a, b []Row) []Row {
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]Row, 0, len(a)+len(b))
	for _, rs := range [][]Row{a, b} {
		for _, r := range rs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].before(out[j]) })
	return out
}

// anchor returns the first visible row and how far below the viewport's top it starts.
func (l *messageList) anchor() (string, float32) {
	if len(l.rows) == 0 {
		return "", 0
	}
	off := l.scroll.Offset.Y
	i := l.rowAt(off)
	return l.rows[i].ID, l.tops[i] - off
}

// restore scrolls so that row id is again delta below the viewport's top.
func (l *messageList) restore(id string, delta float32) {
	for i, r := range l.rows {
		if r.ID == id {
			l.setOffset(l.tops[i] - delta)
			return
		}
	}
	l.setOffset(l.scroll.Offset.Y)
}

// relayout recomputes the views and heights of the window's rows.
func (l *messageList) relayout() {
	now := l.now()
	l.views = l.views[:0]
	l.heights = l.heights[:0]
	l.tops = append(l.tops[:0], 0)
	y := float32(0)
	for i := range l.rows {
		v := viewOf(l.rows, i, l.group, now)
		h := l.measure(v)
		l.views = append(l.views, v)
		l.heights = append(l.heights, h)
		y += h
		l.tops = append(l.tops, y)
	}
	if len(l.cache) > heightsKeyCap {
		l.cache = map[heightKey]float32{}
	}
	l.body.Resize(fyne.NewSize(l.width, fyne.Max(y, l.scroll.Size().Height)))
	l.updatePill()
}

// measure returns a row's height at the current width, measuring it only once.
func (l *messageList) measure(v rowView) float32 {
	if l.width <= 0 {
		return 0
	}
	k := heightKey{id: v.ID, width: l.width, day: v.day, failed: v.Own && v.Status == "failed", att: attachKeyOf(v.Att), shape: shapeOf(v)}
	if v.firstRun {
		k.flags |= 1
	}
	if v.lastRun {
		k.flags |= 2
	}
	if v.showName {
		k.flags |= 4
	}
	if h, ok := l.cache[k]; ok {
		return h
	}
	l.measures++
	h := geometry(v, l.width, wrappedHeight).height
	l.cache[k] = h
	return h
}

// rowAt returns the index of the row at y.
func (l *messageList) rowAt(y float32) int {
	i := sort.Search(len(l.rows), func(i int) bool { return l.tops[i+1] > y })
	if i >= len(l.rows) {
		i = len(l.rows) - 1
	}
	return max(i, 0)
}

func (l *messageList) total() float32 {
	if len(l.tops) == 0 {
		return 0
	}
	return l.tops[len(l.tops)-1]
}

func (l *messageList) maxOffset() float32 {
	return fyne.Max(0, l.total()-l.scroll.Size().Height)
}

func (l *messageList) setOffset(y float32) {
	y = fyne.Min(fyne.Max(y, 0), l.maxOffset())
	l.programmatic = true
	l.scroll.Offset.Y = y
	l.scroll.Refresh()
	l.programmatic = false
	l.viewportChanged()
}

func (l *messageList) scrollToBottom() {
	l.setOffset(l.maxOffset())
}

// tappedPill jumps to the newest message.
func (l *messageList) tappedPill() {
	l.newCount = 0
	if l.hasNewer && l.cb.latest != nil {
		l.cb.latest()
		return
	}
	l.scrollToBottom()
}

func (l *messageList) updatePill() {
	if empty := l.loaded && len(l.rows) == 0 && !l.hasOlder && !l.hasNewer; empty != l.empty.Visible() {
		if empty {
			l.empty.Show()
		} else {
			l.empty.Hide()
		}
	}
	if l.newCount > 0 && !l.atBottom {
		l.pill.SetText(strconv.Itoa(l.newCount) + " new")
		l.pill.Show()
		return
	}
	l.pill.Hide()
}

// viewportChanged binds the visible rows and reports what has been seen.
func (l *messageList) viewportChanged() {
	off := l.scroll.Offset.Y
	l.atBottom = !l.hasNewer && off >= l.maxOffset()-bottomSlack
	if l.atBottom {
		l.newCount = 0
	}
	l.updatePill()
	l.bindVisible()
	l.refreshes++
	l.lastOff = off
}

// userScrolled follows a scroll by the user: it binds the rows now visible and, near
// either end of the window, asks for the next page in the direction of the scroll.
func (l *messageList) userScrolled() {
	if l.programmatic {
		return
	}
	prev := l.lastOff
	l.viewportChanged()
	off := l.scroll.Offset.Y
	if len(l.rows) == 0 {
		return
	}
	if off < prev && off < topThreshold && l.hasOlder && !l.loadingOlder && l.cb.older != nil && l.rows[0].Seq > 0 {
		l.loadingOlder = true
		l.cb.older(l.rows[0].Seq)
		return
	}
	if off > prev && off >= l.maxOffset()-topThreshold && l.hasNewer && !l.loadingNewer && l.cb.newer != nil {
		if last := l.lastSeq(); last > 0 {
			l.loadingNewer = true
			l.cb.newer(last)
		}
	}
}

func (l *messageList) lastSeq() int64 {
	for i := len(l.rows) - 1; i >= 0; i-- {
		if l.rows[i].Seq > 0 {
			return l.rows[i].Seq
		}
	}
	return 0
}

// bindVisible gives each visible row a widget, reusing the ones already showing it.
func (l *messageList) bindVisible() {
	viewH := l.scroll.Size().Height
	off := l.scroll.Offset.Y
	next := make(map[string]*rowWidget, len(l.active))
	objs := l.body.objects[:0]
	var maxSeq int64
	if len(l.rows) > 0 && l.width > 0 {
		for i := l.rowAt(off); i < len(l.rows) && l.tops[i] < off+viewH; i++ {
			id := l.rows[i].ID
			w, ok := l.active[id]
			if ok {
				delete(l.active, id)
			} else if n := len(l.free); n > 0 {
				w, l.free = l.free[n-1], l.free[:n-1]
			} else {
				w = newRowWidget(l.cb.retry)
				w.env = l.cb.att
			}
			w.x.acts = l.cb.acts
			w.Move(fyne.NewPos(0, l.tops[i]))
			w.Resize(fyne.NewSize(l.width, l.heights[i])) // first, so the text wraps once, at this width
			w.bind(l.views[i])
			next[id] = w
			objs = append(objs, w)
			if s := l.rows[i].Seq; s > maxSeq && l.tops[i+1] <= off+viewH+1 {
				maxSeq = s
			}
		}
	}
	for _, w := range l.active {
		l.free = append(l.free, w)
	}
	l.active = next
	l.body.objects = objs
	l.body.Refresh()
	if maxSeq > l.readSeq {
		l.readSeq = maxSeq
		if l.cb.read != nil {
			l.cb.read(maxSeq)
		}
	}
}

// resized re-measures for a new width, keeping the bottom or the first visible row in place.
func (l *messageList) resized(size fyne.Size) {
	if size.Width == l.width {
		// Only the height changed (the composer grew, say): keep the bottom in view.
		l.body.Resize(fyne.NewSize(l.width, fyne.Max(l.total(), size.Height)))
		if l.atBottom {
			l.scrollToBottom()
			return
		}
		l.setOffset(l.scroll.Offset.Y)
		return
	}
	anchor, delta := l.anchor()
	stick := l.atBottom
	l.width = size.Width
	l.relayout()
	if stick {
		l.scrollToBottom()
		return
	}
	l.restore(anchor, delta)
}

// visibleIDs lists the ids of the rows that have widgets now, top to bottom.
func (l *messageList) visibleIDs() []string {
	ids := make([]string, 0, len(l.body.objects))
	for _, o := range l.body.objects {
		ids = append(ids, o.(*rowWidget).view.ID)
	}
	return ids
}

// rowWidgetFor returns the widget showing message id, if it is visible.
func (l *messageList) rowWidgetFor(id string) *rowWidget { return l.active[id] }

func (l *messageList) MinSize() fyne.Size { return fyne.NewSize(120, 120) }

func (l *messageList) CreateRenderer() fyne.WidgetRenderer {
	return &messageListRenderer{l: l}
}

type messageListRenderer struct{ l *messageList }

func (r *messageListRenderer) Layout(size fyne.Size) {
	l := r.l
	l.scroll.Resize(size)
	l.resized(size)
	ps := l.pill.MinSize()
	l.pill.Resize(ps)
	l.pill.Move(fyne.NewPos(size.Width-ps.Width-theme.Padding()*3, size.Height-ps.Height-theme.Padding()*2))
	es := l.empty.MinSize()
	l.empty.Resize(fyne.NewSize(size.Width, es.Height))
	l.empty.Move(fyne.NewPos(0, (size.Height-es.Height)/2))
}

func (r *messageListRenderer) MinSize() fyne.Size { return r.l.MinSize() }
func (r *messageListRenderer) Refresh() {
	r.l.updatePill()
	r.l.pill.Refresh()
	r.l.scroll.Refresh()
}
func (r *messageListRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.l.scroll, r.l.empty, r.l.pill}
}
func (r *messageListRenderer) Destroy() {}

// listBody is the scrolled content: as tall as every row, holding widgets only for the
// rows on screen.
type listBody struct {
	widget.BaseWidget
	l       *messageList
	objects []fyne.CanvasObject
}

func (b *listBody) MinSize() fyne.Size { return fyne.NewSize(0, b.l.total()) }

func (b *listBody) CreateRenderer() fyne.WidgetRenderer { return &listBodyRenderer{b: b} }

type listBodyRenderer struct{ b *listBody }

func (r *listBodyRenderer) Layout(fyne.Size)             {}
func (r *listBodyRenderer) MinSize() fyne.Size           { return r.b.MinSize() }
func (r *listBodyRenderer) Refresh()                     {}
func (r *listBodyRenderer) Objects() []fyne.CanvasObject { return r.b.objects }
func (r *listBodyRenderer) Destroy()                     {}
