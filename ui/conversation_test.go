package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// convFixture is alice's app (a real engine and store) and bob's engine, on a real server.
type convFixture struct {
	t          *testing.T
	alice, bob *pnet.Client
	eng        *clientEngine
	s          *shell
	win        fyne.Window
}

func newConvFixture(t *testing.T) *convFixture {
	srv := servertest.Start(t, server.Config{})
	f := &convFixture{t: t, alice: startClient(t, srv.URL, "alice"), bob: startClient(t, srv.URL, "bob")}
	drain(t, f.bob)
	test.NewTempApp(t)
	f.eng = newClientEngine(f.alice)
	f.win = test.NewTempWindow(t, nil)
	f.s = newShell(f.win, f.eng, inlineRunner(), false)
	f.win.SetContent(f.s.content)
	f.win.Resize(fyne.NewSize(900, 600))
	f.s.loadRooms(server.GeneralRoomID)
	if f.s.chat == nil {
		t.Fatal("general is not open")
	}
	return f
}

func (f *convFixture) pump(what string, cond func() bool) {
	f.t.Helper()
	pump(f.t, f.alice, f.eng, f.s, what, cond)
}

// row returns the list's row with id.
func (f *convFixture) row(id string) (Row, bool) {
	for _, r := range f.s.chat.list.rows {
		if r.ID == id {
			return r, true
		}
	}
	return Row{}, false
}

// bobSays has bob write text and waits for alice's bubble of it.
func (f *convFixture) bobSays(text string) string {
	f.t.Helper()
	m, err := f.bob.Send(server.GeneralRoomID, text)
	if err != nil {
		f.t.Fatal(err)
	}
	f.pump("bob's "+text, func() bool { return f.s.chat.list.rowWidgetFor(m.ID) != nil })
	return m.ID
}

// menu right-clicks the bubble of id and returns the chat's conversation with its menu.
func (f *convFixture) menu(id string) *conversation {
	f.t.Helper()
	w := f.s.chat.list.rowWidgetFor(id)
	if w == nil {
		f.t.Fatalf("no bubble for %s", id)
	}
	test.TapSecondary(w)
	cv := f.s.chat.conv
	if cv.menu == nil || f.win.Canvas().Overlays().Top() == nil {
		f.t.Fatal("right-click opened no menu")
	}
	f.win.Canvas().Overlays().Top().Hide()
	f.win.Canvas().Overlays().Remove(f.win.Canvas().Overlays().Top())
	return cv
}

// needsUpdates checks that the server speaks protocol 1.1 (it asks for the public
// rooms, a 1.1 call) before a test relies on its updates reaching other members: a
// server that does not fails the test, it is never skipped.
func needsUpdates(t *testing.T, c *pnet.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.PublicRooms(ctx, "", 1); err != nil {
		t.Fatalf("the server does not speak protocol 1.1 (public rooms: %v)", err)
	}
}

// selectItem is the menu's "Select text…" entry as labels lists it: desktop only.
func selectItem() string {
	if fyne.CurrentDevice().IsMobile() {
		return ""
	}
	return ",Select text…"
}

func labels(m *fyne.Menu) string {
	var out []string
	for _, it := range m.Items {
		out = append(out, it.Label)
	}
	return strings.Join(out, ",")
}

// ownSent waits for alice's own message with text to be stored by the server.
func (f *convFixture) ownSent(text string) string {
	f.t.Helper()
	var id string
	f.pump("own "+text+" stored", func() bool {
		for _, r := range f.s.chat.list.rows {
			if r.Own && r.Text == text && r.Seq > 0 {
				id = r.ID
				return f.s.chat.list.rowWidgetFor(id) != nil
			}
		}
		return false
	})
	return id
}

func (f *convFixture) typeEnter(text string) {
	e := f.s.chat.composer
	e.newlineOnEnter = false
	f.win.Canvas().Focus(e)
	test.Type(e, text)
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
}

func TestBubbleMenuReplyQuoteAndJump(t *testing.T) {
	f := newConvFixture(t)
	bobID := f.bobSays("lunch at noon?")
	cv := f.menu(bobID)
	if got := labels(cv.menu); got != "Reply,React,Copy text"+selectItem() {
		t.Errorf("menu of another's message: %s", got)
	}
	cv.menuItem("Copy text").Action()
	if got := fyne.CurrentApp().Clipboard().Content(); got != "lunch at noon?" {
		t.Errorf("clipboard %q", got)
	}
	if !fyne.CurrentDevice().IsMobile() {
		// Select text… shows the text where part of it can be selected.
		cv.menuItem("Select text…").Action()
		if cv.selectText == nil || cv.selectText.Text != "lunch at noon?" || !cv.selectText.Selectable {
			t.Fatalf("select text: %+v", cv.selectText)
		}
		f.win.Canvas().Overlays().Remove(f.win.Canvas().Overlays().Top())
	}

	cv.menuItem("Reply").Action()
	if !cv.bar.Visible() || !strings.Contains(cv.barText.Text, "bob: lunch at noon?") {
		t.Fatalf("reply bar visible=%v %q", cv.bar.Visible(), cv.barText.Text)
	}
	// Escape cancels the reply, and the composer keeps what was typed.
	test.Type(f.s.chat.composer, "x")
	f.s.chat.composer.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if cv.bar.Visible() || f.s.chat.composer.Text != "x" {
		t.Errorf("after Escape: bar %v composer %q", cv.bar.Visible(), f.s.chat.composer.Text)
	}
	f.s.chat.composer.setText("")
	cancelBarTap(t, f, cv, bobID)

	f.typeEnter("yes, see you")
	mine := f.ownSent("yes, see you")
	r, _ := f.row(mine)
	if r.ReplyTo != bobID || r.Quote != "bob: lunch at noon?" {
		t.Fatalf("reply row: replyTo %q quote %q", r.ReplyTo, r.Quote)
	}
	w := f.s.chat.list.rowWidgetFor(mine)
	if w.x.quote.Hidden || w.x.quote.full != "bob: lunch at noon?" {
		t.Errorf("quote hidden=%v %q", w.x.quote.Hidden, w.x.quote.full)
	}
	// Tapping the quote when the target is outside the window pages it in and shows it.
	l := f.s.chat.list
	var rest []Row
	for _, r := range l.rows {
		if r.ID != bobID {
			rest = append(rest, r)
		}
	}
	l.setRows(rest, true)
	if _, ok := f.row(bobID); ok {
		t.Fatal("target still in the window")
	}
	test.Tap(l.rowWidgetFor(mine).x.quote)
	if _, ok := f.row(bobID); !ok || l.rowWidgetFor(bobID) == nil {
		t.Fatalf("tapping the quote did not bring the target in: %v", l.visibleIDs())
	}
	// Bob's engine holds the reply's target too.
	needsUpdates(t, f.bob)
	m, ok, err := f.bob.Store().Get(server.GeneralRoomID, mine)
	for deadline := time.Now().Add(30 * time.Second); (!ok || err != nil) && time.Now().Before(deadline); {
		<-time.After(20 * time.Millisecond) // polling bob's store: his events are drained
		m, ok, err = f.bob.Store().Get(server.GeneralRoomID, mine)
	}
	if m.ReplyTo != bobID {
		t.Errorf("bob's copy of the reply: replyTo %q", m.ReplyTo)
	}

}

// cancelBarTap checks the bar's cancel button ends a reply.
func cancelBarTap(t *testing.T, f *convFixture, cv *conversation, id string) {
	t.Helper()
	r, _ := f.row(id)
	cv.startReply(r)
	test.Tap(cv.barClose)
	if cv.bar.Visible() || cv.mode != composeNew {
		t.Errorf("cancel left the reply: bar %v mode %v", cv.bar.Visible(), cv.mode)
	}
	cv.startReply(r)
}

func TestBubbleMenuEditAndDelete(t *testing.T) {
	f := newConvFixture(t)
	f.typeEnter("teh plan")
	mine := f.ownSent("teh plan")
	cv := f.menu(mine)
	if got := labels(cv.menu); got != "Reply,React,Copy text"+selectItem()+",Edit,Delete" {
		t.Errorf("menu of an own message: %s", got)
	}
	before := f.s.chat.list.heights[len(f.s.chat.list.heights)-1]
	cv.menuItem("Edit").Action()
	e := f.s.chat.composer
	if e.Text != "teh plan" || !cv.bar.Visible() {
		t.Fatalf("edit: composer %q bar %v", e.Text, cv.bar.Visible())
	}
	e.setText("the plan")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	f.pump("edited", func() bool {
		r, _ := f.row(mine)
		w := f.s.chat.list.rowWidgetFor(mine)
		return r.Text == "the plan" && r.Edited && w != nil && w.label.Text == "the plan" && !w.x.edited.Hidden
	})
	if after := f.s.chat.list.heights[len(f.s.chat.list.heights)-1]; after <= before {
		t.Errorf("the edited row was not measured again: %v then %v", before, after)
	}
	if e.Text != "" || cv.bar.Visible() {
		t.Errorf("after saving: composer %q bar %v", e.Text, cv.bar.Visible())
	}
	// Escape cancels an edit and empties the composer.
	r, _ := f.row(mine)
	cv.startEdit(r)
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if e.Text != "" || cv.bar.Visible() {
		t.Errorf("after Escape: composer %q bar %v", e.Text, cv.bar.Visible())
	}

	cv = f.menu(mine)
	cv.menuItem("Delete").Action()
	if cv.confirm == nil {
		t.Fatal("delete did not ask")
	}
	cv.confirm.Confirm()
	f.pump("tombstone", func() bool {
		w := f.s.chat.list.rowWidgetFor(mine)
		return w != nil && w.label.Text == deletedText && w.label.TextStyle.Italic
	})
	// Deleted for everyone: bob's store has the tombstone.
	needsUpdates(t, f.bob)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		m, ok, err := f.bob.Store().Get(server.GeneralRoomID, mine)
		if err == nil && ok && m.Deleted && m.Content == "" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("bob never saw the delete: %+v", m)
		case <-time.After(20 * time.Millisecond): // polling bob's store: his events are drained
		}
	}
	if w := f.s.chat.list.rowWidgetFor(mine); w != nil {
		test.TapSecondary(w)
		if f.win.Canvas().Overlays().Top() != nil {
			t.Error("a deleted message still opens the menu")
		}
	}
}

func TestReactionChipsToggle(t *testing.T) {
	f := newConvFixture(t)
	bobID := f.bobSays("shipped it")
	l := f.s.chat.list
	plain := l.heights[len(l.heights)-1]
	cv := f.menu(bobID)
	cv.menuItem("React").Action()
	if cv.picker == nil || len(cv.pickBtn) < 6 || cv.pickBtn[0].Text != "👍" {
		t.Fatal("React showed no picker of common emoji")
	}
	test.Tap(cv.pickBtn[0])
	f.pump("own 👍 chip", func() bool {
		w := l.rowWidgetFor(bobID)
		return w != nil && len(w.x.chips.Objects) == 1 && w.x.chips.Objects[0].(*chip).r == reaction{"👍", 1, true} && !w.x.chips.Hidden
	})
	if h := l.heights[len(l.heights)-1]; h <= plain {
		t.Errorf("the row with a chip was not measured again: %v then %v", plain, h)
	}
	// Tapping the chip takes alice's back: no chips, and the row is as tall as before.
	tapChip := func() { test.Tap(l.rowWidgetFor(bobID).x.chips.Objects[0].(*chip)) }
	tapChip()
	f.pump("no chips", func() bool {
		w := l.rowWidgetFor(bobID)
		return w != nil && len(w.x.chips.Objects) == 0 && w.x.chips.Hidden
	})
	if h := l.heights[len(l.heights)-1]; h != plain {
		t.Errorf("row height %v, want %v again", h, plain)
	}

	// Bob reacts: alice sees his chip, not highlighted; tapping it adds hers.
	needsUpdates(t, f.bob)
	if _, err := f.bob.React(server.GeneralRoomID, bobID, "🎉", true); err != nil {
		t.Fatal(err)
	}
	chipIs := func(want reaction) func() bool {
		return func() bool {
			w := l.rowWidgetFor(bobID)
			return w != nil && len(w.x.chips.Objects) == 1 && w.x.chips.Objects[0].(*chip).r == want
		}
	}
	f.pump("bob's 🎉", chipIs(reaction{"🎉", 1, false}))
	tapChip()
	f.pump("🎉 2, own", chipIs(reaction{"🎉", 2, true}))
	if _, err := f.bob.React(server.GeneralRoomID, bobID, "🎉", false); err != nil {
		t.Fatal(err)
	}
	f.pump("🎉 1, own", chipIs(reaction{"🎉", 1, true}))
}

func TestReactionsEncodeOrder(t *testing.T) {
	got := decodeReactions(encodeReactions(map[string][]string{"🎉": {"b"}, "👍": {"a", "b"}, "😂": {"c"}}, "b"))
	want := []reaction{{"👍", 2, true}, {"🎉", 1, true}, {"😂", 1, false}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("chip %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDirectoryBrowseSearchAndJoin(t *testing.T) {
	f := newConvFixture(t)
	needsUpdates(t, f.bob)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	club, err := f.bob.CreateRoom(ctx, "Book club", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	topic := "one novel a month"
	if _, err := f.bob.SetRoom(ctx, club.ID, nil, &topic); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bob.CreateRoom(ctx, "Chess", nil, true); err != nil {
		t.Fatal(err)
	}
	test.Tap(f.s.rooms.join)
	d := f.s.dir
	if d == nil || len(d.rooms) < 2 {
		t.Fatalf("directory shows %v", d)
	}
	test.Type(d.query, "book")
	if len(d.rooms) != 1 || d.rooms[0].Name != "Book club" || d.rooms[0].MemberCount != 1 {
		t.Fatalf("search for book: %+v", d.rooms)
	}
	item := test.WidgetRenderer(d.list).Objects()[0]
	var texts []string
	for _, l := range findAll[*widget.Label](item) {
		texts = append(texts, l.Text)
	}
	if got := strings.Join(texts, "|"); got != "Book club|1 member · one novel a month" {
		t.Errorf("directory row %q", got)
	}
	join := findAll[*widget.Button](item)[0]
	if join.Text != "Join" {
		t.Errorf("button %q", join.Text)
	}
	test.Tap(join)
	f.pump("book club open", func() bool { return f.s.chat != nil && f.s.chat.room.ID == club.ID })
	if _, ok := f.s.rooms.room(club.ID); !ok {
		t.Error("the joined room is not in the rooms list")
	}
	// The id still works, as a fallback.
	test.Tap(f.s.rooms.join)
	test.Type(f.s.dir.idEntry, server.GeneralRoomID)
	test.Tap(f.s.dir.idJoin)
	if f.s.chat.room.ID != server.GeneralRoomID {
		t.Errorf("join by id opened %s", f.s.chat.room.ID)
	}
}

func TestSearchOpensTheRoomAtTheMessage(t *testing.T) {
	f := newConvFixture(t)
	target := f.bobSays("the Quarterly report is ready")
	f.bobSays("unrelated")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	side, err := f.alice.CreateRoom(ctx, "side", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	f.s.loadRooms(side.ID)
	if f.s.chat.room.ID != side.ID {
		t.Fatal("side is not open")
	}
	test.Tap(f.s.rooms.search)
	ss := f.s.search
	if ss == nil || !ss.scope.Checked || ss.scope.Text != "Only in side" {
		t.Fatalf("search scope: %+v", ss)
	}
	test.Type(ss.query, "quarterly")
	if len(ss.results) != 0 || ss.status.Text != "Nothing found" {
		t.Fatalf("within side: %d results, %q", len(ss.results), ss.status.Text)
	}
	test.Tap(ss.scope) // every room
	if len(ss.results) != 1 || ss.results[0].ID != target {
		t.Fatalf("in every room: %+v", ss.results)
	}
	if m := ss.metaOf(ss.results[0]); !strings.HasPrefix(m, "general · bob · ") {
		t.Errorf("result meta %q", m)
	}
	var bold []string
	for _, s := range highlight(ss.results[0].Text, "quarterly") {
		if ts := s.(*widget.TextSegment); ts.Style.TextStyle.Bold {
			bold = append(bold, ts.Text)
		}
	}
	if strings.Join(bold, ",") != "Quarterly" {
		t.Errorf("highlighted %v", bold)
	}
	ss.list.Select(0)
	if f.s.chat.room.ID != server.GeneralRoomID || f.s.chat.list.rowWidgetFor(target) == nil {
		t.Fatalf("choosing the result: room %s, visible %v", f.s.chat.room.ID, f.s.chat.list.visibleIDs())
	}
}

// findAll returns the widgets of type T under o, in tree order.
func findAll[T fyne.CanvasObject](o fyne.CanvasObject) []T {
	var out []T
	if w, ok := o.(T); ok {
		out = append(out, w)
	}
	switch c := o.(type) {
	case *fyne.Container:
		for _, x := range c.Objects {
			out = append(out, findAll[T](x)...)
		}
	case fyne.Widget:
		if _, ok := o.(T); !ok {
			for _, x := range test.WidgetRenderer(c).Objects() {
				out = append(out, findAll[T](x)...)
			}
		}
	}
	return out
}

func TestRoomSettingsRenameAddAndLeave(t *testing.T) {
	f := newConvFixture(t)
	needsUpdates(t, f.bob)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	team, err := f.alice.CreateRoom(ctx, "team", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	f.s.loadRooms(team.ID)
	if f.s.chat.room.ID != team.ID || !f.s.chat.conv.settingsBtn.Visible() {
		t.Fatal("team is not open with its settings button")
	}
	test.Tap(f.s.chat.conv.settingsBtn)
	rs := f.s.settings
	if rs == nil || len(rs.details.Members) != 1 || rs.details.Members[0].Name != "alice" || !rs.details.Members[0].Online {
		t.Fatalf("members %+v", rs.details.Members)
	}
	rs.name.SetText("Team A")
	rs.topic.SetText("weekly sync")
	test.Tap(rs.save)
	if rs.status.Text != "Saved" || f.s.chat.title.Text != "Team A" {
		t.Fatalf("save: %q, title %q", rs.status.Text, f.s.chat.title.Text)
	}
	if r, _ := f.s.rooms.room(team.ID); r.Name != "Team A" {
		t.Errorf("rooms list name %q", r.Name)
	}
	test.Type(rs.add, "bob")
	if len(rs.results.Objects) != 1 {
		t.Fatalf("%d people found for bob", len(rs.results.Objects))
	}
	test.Tap(findAll[*widget.Button](rs.results.Objects[0])[0])
	if len(rs.details.Members) != 2 || rs.status.Text != "bob added" {
		t.Fatalf("after adding bob: %+v %q", rs.details.Members, rs.status.Text)
	}
	test.Tap(rs.leave)
	rs.confirm.Confirm()
	f.pump("team left", func() bool {
		_, listed := f.s.rooms.room(team.ID)
		return f.s.chat == nil && !listed
	})
}

func TestMentionsCompleteHighlightAndNotify(t *testing.T) {
	f := newConvFixture(t)
	var notes []string
	f.s.notify = func(title, body string) { notes = append(notes, title+": "+body) }
	// @b offers bob; choosing him completes the name.
	e := f.s.chat.composer
	f.win.Canvas().Focus(e)
	test.Type(e, "thanks @b")
	mn := f.s.chat.conv.mention
	if len(mn.choices) != 1 || mn.choices[0].Text != "@bob" {
		t.Fatalf("choices for @b: %d of members %+v", len(mn.choices), mn.members)
	}
	test.Tap(mn.choices[0])
	if e.Text != "thanks @bob " || mn.popup != nil {
		t.Fatalf("after choosing: %q popup %v", e.Text, mn.popup != nil)
	}
	e.setText("")

	// Bob's message that mentions alice is highlighted; one that does not is not.
	plain := f.bobSays("hello everyone")
	named := f.bobSays("@Alice can you look?")
	l := f.s.chat.list
	if l.rowWidgetFor(named).bubble.FillColor != mentionBubble() || l.rowWidgetFor(plain).bubble.FillColor == mentionBubble() {
		t.Error("the mention is not the only highlighted bubble")
	}
	if len(notes) != 0 {
		t.Errorf("notified while the room is open and focused: %v", notes)
	}
	// With another room open, a mention notifies although the window has the focus.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	side, err := f.alice.CreateRoom(ctx, "side", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	f.s.loadRooms(side.ID)
	if _, err := f.bob.Send(server.GeneralRoomID, "no mention here"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bob.Send(server.GeneralRoomID, "ping @alice"); err != nil {
		t.Fatal(err)
	}
	f.pump("the mention's notification", func() bool { return len(notes) > 0 })
	if len(notes) != 1 || notes[0] != "bob mentioned you in general: ping @alice" {
		t.Errorf("notifications %q", notes)
	}
}

func TestMentionParsing(t *testing.T) {
	for text, want := range map[string]bool{"@alice hi": true, "hi @ALICE.": true, "@alicex": false, "mail alice@x": false, "@al": false} {
		if got := mentionsOf(text, "alice"); got != want {
			t.Errorf("mentionsOf(%q) = %v", text, got)
		}
	}
	for text, want := range map[string]string{"@": "", "hi @bo": "bo", "a@b": "-", "@bob ": "-"} {
		got, ok := mentionPrefix(text)
		if !ok {
			got = "-"
		}
		if got != want {
			t.Errorf("mentionPrefix(%q) = %q", text, got)
		}
	}
}

// The bridge merges updates while messages flood in; edits, reactions, refusals and
// rooms left must survive the merge (they were dropped: a reaction never reached the
// window in scripts/e2e.sh).
func TestMergeUpdatesKeepsConversationParts(t *testing.T) {
	a := Update{Changed: []Row{{ID: "1"}}, Failed: []FailedChange{{UpdateID: "x"}}, Left: []string{"r1"}}
	b := Update{Changed: []Row{{ID: "2"}}, Failed: []FailedChange{{UpdateID: "y"}}, Left: []string{"r2"}}
	u := mergeUpdates(a, b)
	if len(u.Changed) != 2 || u.Changed[1].ID != "2" || len(u.Failed) != 2 || len(u.Left) != 2 {
		t.Errorf("merged %+v", u)
	}
	// Upload progress too: the later figure of each file wins.
	u = mergeUpdates(Update{Uploads: map[string]Progress{"f": {Sent: 1, Total: 4}}},
		Update{Uploads: map[string]Progress{"f": {Sent: 3, Total: 4}, "g": {Sent: 1, Total: 2}}})
	if len(u.Uploads) != 2 || u.Uploads["f"].Sent != 3 {
		t.Errorf("merged uploads %+v", u.Uploads)
	}
	var g updateGate
	g.add(Update{Changed: []Row{{ID: "3"}}}, time.Now())
	if u := g.take(time.Now()); len(u.Changed) != 1 {
		t.Errorf("the gate lost a change: %+v", u)
	}
}

// TestReplyBarCancelSitsAtItsRightEnd checks the reply bar's ✕ on the desktop and in a
// phone-sized window: at the right end of the bar, level with the quoted text, inside
// the chat (it once stayed where the hidden bar had been laid out: over the rooms list).
func TestReplyBarCancelSitsAtItsRightEnd(t *testing.T) {
	f := newConvFixture(t)
	id := f.bobSays("Shall we ship the search tonight?")
	for _, size := range []fyne.Size{fyne.NewSize(900, 560), fyne.NewSize(360, 740)} {
		f.win.Resize(size)
		f.s.loadRooms(server.GeneralRoomID)
		if f.s.chat == nil || f.s.chat.list.rowWidgetFor(id) == nil {
			t.Fatalf("%v: general is not open at bob's message", size)
		}
		cv := f.s.chat.conv
		r, _ := f.row(id)
		cv.startReply(r)
		d := fyne.CurrentApp().Driver()
		bar, btn, text := d.AbsolutePositionForObject(cv.bar), d.AbsolutePositionForObject(cv.barClose), d.AbsolutePositionForObject(cv.barText)
		comp := d.AbsolutePositionForObject(f.s.chat.composer)
		bs := cv.barClose.Size()
		const tol = 1.5
		if bs.Width < cv.barClose.MinSize().Width-tol || bs.Height < cv.barClose.MinSize().Height-tol {
			t.Errorf("%v: ✕ is %v, smaller than its %v", size, bs, cv.barClose.MinSize())
		}
		if right, barRight := btn.X+bs.Width, bar.X+cv.bar.Size().Width; right < barRight-tol || right > barRight+tol {
			t.Errorf("%v: ✕ ends at x=%.1f, the bar at x=%.1f", size, right, barRight)
		}
		if btn.X < text.X+cv.barText.Size().Width-tol {
			t.Errorf("%v: ✕ at x=%.1f overlaps the quote (to x=%.1f)", size, btn.X, text.X+cv.barText.Size().Width)
		}
		if mid, tmid := btn.Y+bs.Height/2, text.Y+cv.barText.Size().Height/2; mid < tmid-tol || mid > tmid+tol {
			t.Errorf("%v: ✕ centred at y=%.1f, the quote at y=%.1f", size, mid, tmid)
		}
		if btn.Y < bar.Y-tol || btn.Y+bs.Height > comp.Y+tol {
			t.Errorf("%v: ✕ at y=%.1f..%.1f, outside the bar (y=%.1f) above the composer (y=%.1f)", size, btn.Y, btn.Y+bs.Height, bar.Y, comp.Y)
		}
		chat := d.AbsolutePositionForObject(f.s.chat.content)
		if btn.X < chat.X || btn.X+bs.Width > chat.X+f.s.chat.content.Size().Width+tol {
			t.Errorf("%v: ✕ at x=%.1f is outside the chat (x=%.1f..%.1f)", size, btn.X, chat.X, chat.X+f.s.chat.content.Size().Width)
		}
		cv.cancel()
	}
}

// objectAt is what the desktop driver gives a click at pos (absolute) on c: the last
// object, in the order the tree is drawn, that is visible, under pos and matches.
func objectAt(c fyne.Canvas, pos fyne.Position, match func(fyne.CanvasObject) bool) fyne.CanvasObject {
	var found fyne.CanvasObject
	var walk func(o fyne.CanvasObject, at fyne.Position)
	walk = func(o fyne.CanvasObject, at fyne.Position) {
		if o == nil || !o.Visible() {
			return
		}
		at = at.Add(o.Position())
		s := o.Size()
		if pos.X < at.X || pos.Y < at.Y || pos.X >= at.X+s.Width || pos.Y >= at.Y+s.Height {
			return
		}
		if match(o) {
			found = o
		}
		var kids []fyne.CanvasObject
		switch x := o.(type) {
		case *fyne.Container:
			kids = x.Objects
		case fyne.Widget:
			kids = test.WidgetRenderer(x).Objects()
		}
		for _, k := range kids {
			walk(k, at)
		}
	}
	if top := c.Overlays().Top(); top != nil {
		walk(top, fyne.Position{})
		return found
	}
	walk(c.Content(), fyne.Position{})
	return found
}

// TestRightClickOnTheTextAndTheHoverButtonOpenTheMenu clicks where a person does: on the
// words of a bubble, and on the ⋯ that shows beside it under the mouse. A selectable
// label took the right-click for its own Copy menu, and the ⋯ hid itself when the
// pointer reached it.
func TestRightClickOnTheTextAndTheHoverButtonOpenTheMenu(t *testing.T) {
	f := newConvFixture(t)
	id := f.bobSays("lunch at noon?")
	w := f.s.chat.list.rowWidgetFor(id)
	d := fyne.CurrentApp().Driver()
	text := d.AbsolutePositionForObject(w.label).AddXY(w.label.Size().Width/2, w.label.Size().Height/2)
	o := objectAt(f.win.Canvas(), text, func(o fyne.CanvasObject) bool {
		_, ok := o.(fyne.SecondaryTappable)
		return ok
	})
	if o != fyne.CanvasObject(w) {
		t.Fatalf("a right-click on the bubble's text goes to %T, not the bubble", o)
	}
	test.TapSecondaryAt(o.(fyne.SecondaryTappable), text.Subtract(d.AbsolutePositionForObject(w)))
	if cv := f.s.chat.conv; cv.menu == nil || labels(cv.menu) != "Reply,React,Copy text"+selectItem() {
		t.Fatal("the right-click on the text opened no bubble menu")
	}
	f.win.Canvas().Overlays().Remove(f.win.Canvas().Overlays().Top())
	f.s.chat.conv.menu = nil
	if fyne.CurrentDevice().IsMobile() {
		return // no pointer to hover with (-tags mobile): the long press above is the way in
	}

	test.MoveMouse(f.win.Canvas(), text)
	if !w.x.more.Visible() {
		t.Fatal("no ⋯ beside the bubble under the mouse")
	}
	more := d.AbsolutePositionForObject(w.x.more).AddXY(w.x.more.Size().Width/2, w.x.more.Size().Height/2)
	test.MoveMouse(f.win.Canvas(), more)
	if !w.x.more.Visible() {
		t.Fatal("the ⋯ hid itself when the mouse reached it")
	}
	tap, _ := objectAt(f.win.Canvas(), more, func(o fyne.CanvasObject) bool {
		_, ok := o.(fyne.Tappable)
		return ok
	}).(fyne.Tappable)
	if tap == nil {
		t.Fatal("nothing to click at the ⋯")
	}
	test.Tap(tap)
	if cv := f.s.chat.conv; cv.menu == nil || f.win.Canvas().Overlays().Top() == nil {
		t.Fatal("clicking the ⋯ opened no menu")
	}
	test.MoveMouse(f.win.Canvas(), fyne.NewPos(1, 1))
	if w.x.more.Visible() {
		t.Error("the ⋯ stays after the mouse left")
	}
}

// TestEscapeClosesTheDialogs: the directory, the search and the room settings close on
// Escape, from a field and from the window with nothing focused, and then give the
// window its keys back.
func TestEscapeClosesTheDialogs(t *testing.T) {
	f := newConvFixture(t)
	c := f.win.Canvas()
	esc := &fyne.KeyEvent{Name: fyne.KeyEscape}
	shown := func() bool { return c.Overlays().Top() != nil }
	test.Tap(f.s.rooms.join)
	if f.s.dir == nil || !shown() {
		t.Fatal("no directory")
	}
	f.s.dir.query.TypedKey(esc)
	if shown() {
		t.Error("Escape in the directory's search field left it open")
	}
	if c.OnTypedKey() != nil {
		t.Error("the closed directory still takes the window's keys")
	}
	test.Tap(f.s.rooms.search)
	if f.s.search == nil || !shown() {
		t.Fatal("no search")
	}
	f.s.search.query.TypedKey(esc)
	if shown() {
		t.Error("Escape in the search field left it open")
	}
	f.s.askRoomSettings()
	if f.s.settings == nil || !shown() {
		t.Fatal("no room settings")
	}
	c.Unfocus()
	if c.OnTypedKey() == nil {
		t.Fatal("the room settings take no keys from the window")
	}
	c.OnTypedKey()(esc)
	if shown() {
		t.Error("Escape with nothing focused left the room settings open")
	}
	if c.OnTypedKey() != nil {
		t.Error("the closed settings still take the window's keys")
	}
}

// TestChipsAndPickerDrawEmojiLarge: the font draws emoji about half a digit's height, so
// the chip's emoji is drawn larger than its count and the picker's larger than text,
// and the chip stays inside the line under the bubble.
func TestChipsAndPickerDrawEmojiLarge(t *testing.T) {
	test.NewTempApp(t)
	c := newChip()
	c.set(reaction{"👍", 2, false})
	if c.emoji.TextSize < 1.3*c.count.TextSize {
		t.Errorf("chip emoji at %.1f, its count at %.1f", c.emoji.TextSize, c.count.TextSize)
	}
	if h := c.MinSize().Height; h > extrasHeight()-4+0.5 {
		t.Errorf("chip %.1f high, the line under the bubble %.1f", h, extrasHeight())
	}
	box, btns := newEmojiPicker(func(string) bool { return false }, func(string, bool) {})
	w := test.NewTempWindow(t, box)
	w.Resize(box.MinSize())
	plain := &widget.Button{Text: "👍", Importance: widget.LowImportance}
	if got, want := btns[0].MinSize().Height, plain.MinSize().Height; got < want*1.2 {
		t.Errorf("picker's buttons %.1f high, a plain one %.1f", got, want)
	}
}

// A reaction the server refuses for good (a 21st emoji) shows over the composer with
// Retry and Discard; Retry sends it again once there is room, Discard lets it go, and
// a refusal still waiting shows again when the room is opened anew (as after a restart).
func TestRefusedChangeOffersRetryAndDiscard(t *testing.T) {
	f := newConvFixture(t)
	f.typeEnter("vote")
	mine := f.ownSent("vote")
	room := server.GeneralRoomID
	emoji := []rune("😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗🙃")
	reactions := func() int {
		m, _, _ := f.alice.Store().Get(room, mine)
		return len(m.Reactions)
	}
	for _, e := range emoji[:model.MaxReactionsPerMsg] {
		if err := f.eng.React(room, mine, string(e), true); err != nil {
			t.Fatal(err)
		}
	}
	f.pump("twenty reactions stored", func() bool {
		n, _ := f.alice.Store().OutboxLen()
		return n == 0 && reactions() == model.MaxReactionsPerMsg
	})
	// Twenty chips wrap onto several lines, every one inside the row.
	l := f.s.chat.list
	f.pump("twenty chips", func() bool {
		w := l.rowWidgetFor(mine)
		return w != nil && len(w.x.chips.Objects) == model.MaxReactionsPerMsg
	})
	w := l.rowWidgetFor(mine)
	lines := map[float32]bool{}
	for _, o := range w.x.chips.Objects {
		x := w.x.chips.Position().X + o.Position().X
		if x < 0 || x+o.Size().Width > w.Size().Width {
			t.Errorf("a chip at x %.0f–%.0f of a %.0f wide row", x, x+o.Size().Width, w.Size().Width)
		}
		lines[o.Position().Y] = true
	}
	if len(lines) < 2 {
		t.Errorf("twenty chips on %d line(s) of a %.0f wide row", len(lines), w.Size().Width)
	}
	extra := string(emoji[model.MaxReactionsPerMsg])
	if err := f.eng.React(room, mine, extra, true); err != nil {
		t.Fatal(err)
	}
	bar := f.s.chat.failed
	f.pump("the 21st refused", func() bool { return bar.box.Visible() })
	if got := bar.label.Text; !strings.Contains(got, "Your reaction "+extra+" was not saved: invalid") {
		t.Fatalf("bar says %q", got)
	}
	if reactions() != model.MaxReactionsPerMsg {
		t.Fatalf("the refused reaction was not undone: %d emoji", reactions())
	}

	// Opened anew, the room shows it again: it is kept in the store.
	again := newChatScreen(f.eng, inlineRunner(), f.s.chat.room, nil)
	if !again.failed.box.Visible() || again.failed.label.Text != bar.label.Text {
		t.Fatalf("reopened chat: bar visible %v %q", again.failed.box.Visible(), again.failed.label.Text)
	}

	// Retry once there is room for it.
	if err := f.eng.React(room, mine, string(emoji[0]), false); err != nil {
		t.Fatal(err)
	}
	test.Tap(bar.retry)
	if bar.box.Visible() {
		t.Error("the bar stays after Retry")
	}
	f.pump("the retried reaction stored", func() bool {
		m, _, _ := f.alice.Store().Get(room, mine)
		n, _ := f.alice.Store().OutboxLen()
		return n == 0 && len(m.Reactions[extra]) == 1
	})
	if fs, err := f.eng.FailedChanges(room); err != nil || len(fs) != 0 {
		t.Fatalf("failed changes after Retry: %+v, %v", fs, err)
	}

	// Refused again (a 21st once more), then discarded.
	if err := f.eng.React(room, mine, string(emoji[1+model.MaxReactionsPerMsg]), true); err != nil {
		t.Fatal(err)
	}
	f.pump("refused again", func() bool { return bar.box.Visible() })
	test.Tap(bar.discard)
	if bar.box.Visible() {
		t.Error("the bar stays after Discard")
	}
	if fs, err := f.eng.FailedChanges(room); err != nil || len(fs) != 0 {
		t.Fatalf("failed changes after Discard: %+v, %v", fs, err)
	}
}
