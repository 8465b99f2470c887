package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// upd builds a server update of room with seq, from sender, on the target.
func upd(room string, seq int64, sender, target, op string) model.Update {
	return model.Update{ID: fmt.Sprintf("%s-u%06d", room, seq), RoomID: room, Seq: seq, SenderID: sender,
		SenderName: "N" + sender, TargetID: target, Op: op, Timestamp: model.NewTime(baseTime.Add(time.Duration(seq) * time.Second))}
}

func edit(room string, seq int64, sender, target, text string) model.Update {
	u := upd(room, seq, sender, target, model.OpEdit)
	u.Content = text
	return u
}

func reaction(room string, seq int64, sender, target, emoji string, on bool) model.Update {
	u := upd(room, seq, sender, target, model.OpReact)
	u.Emoji, u.On = emoji, on
	return u
}

func mustApply(t testing.TB, s *Store, us ...model.Update) Folded {
	t.Helper()
	f, err := s.ApplyUpdates(us)
	if err != nil {
		t.Fatalf("ApplyUpdates: %v", err)
	}
	return f
}

// Issue 13: message ids are made by clients, so the same id can come in two rooms;
// keyed on id alone, the second was dropped as a duplicate.
func TestSameIDInTwoRoomsKeepsBoth(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	a, b := msg("r1", 1, "bob"), msg("r2", 1, "carol")
	b.ID, b.Content = a.ID, "other room"
	if fresh := mustIngest(t, s, []model.Message{a, b}); len(fresh) != 2 {
		t.Fatalf("Ingest kept %d of two messages sharing an id in two rooms", len(fresh))
	}
	if got := mustGet(t, s, "r2", a.ID); got.Content != "other room" || got.SenderID != "carol" {
		t.Errorf("r2's message = %+v", got)
	}
	if got := mustGet(t, s, "r1", a.ID); got.Content != a.Content {
		t.Errorf("r1's message = %+v", got)
	}
	if n, _ := s.CountMessages("r2"); n != 1 {
		t.Errorf("CountMessages(r2) = %d; want 1", n)
	}
}

func TestMigrateVersion1StoreKeepsData(t *testing.T) {
	dir := t.TempDir()
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, FileName)+dsnPragmas), &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(db, 1); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`INSERT INTO account (id, server_url, user_id, username, display_name, refresh_token, signed_in) VALUES (1, 'http://chat.test', 'me', 'me', 'Me', 'r1', 1)`,
		`INSERT INTO rooms (id, name, last_seq, read_seq, described) VALUES ('r', 'general', 2, 1, 1)`,
		`INSERT INTO messages (id, room_id, seq, local_order, sender_id, sender_name, content, ts_ms) VALUES ('m1', 'r', 1, 1, 'bob', 'Bob', 'old lighthouse', 1000)`,
		`INSERT INTO messages (id, room_id, seq, local_order, sender_id, sender_name, content, ts_ms, status, own) VALUES ('m2', 'r', 2, 2, 'me', 'Me', 'mine', 2000, 'sent', 1)`,
		`INSERT INTO messages (id, room_id, seq, local_order, sender_id, sender_name, content, ts_ms, status, own) VALUES ('m3', 'r', 0, 3, 'me', 'Me', 'unsent', 3000, 'sending', 1)`,
		`INSERT INTO outbox (message_id, room_id) VALUES ('m3', 'r')`,
		// A version 1 store of the uploads build: m3 still waits to upload its file.
		`ALTER TABLE messages ADD COLUMN upload_path TEXT`,
		`UPDATE messages SET upload_path = '/photos/cat.png' WHERE id = 'm3'`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	sqlDB, _ := db.DB()
	sqlDB.Close()

	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open a version 1 store: %v", err)
	}
	defer s.Close()
	var version int
	s.db.Raw("PRAGMA user_version").Scan(&version)
	if version != schemaVersion {
		t.Errorf("user_version = %d; want %d", version, schemaVersion)
	}
	if a, ok, _ := s.Account(); !ok || a.UserID != "me" {
		t.Errorf("account after migration = %+v, %v", a, ok)
	}
	got, err := s.Latest("r", 10)
	if err != nil || fmt.Sprint(ids(got)) != "[m1 m2 m3]" || got[1].Status != model.StatusSent || !got[2].Pending() {
		t.Fatalf("Latest after migration = %+v, %v", got, err)
	}
	out, err := outboxMessages(s)
	if err != nil || len(out) != 1 || out[0].ID != "m3" {
		t.Errorf("outbox after migration = %+v, %v", out, err)
	}
	if up, err := s.PendingUploads(); err != nil || len(up) != 1 || up[0].UploadPath != "/photos/cat.png" {
		t.Errorf("pending uploads after migration = %+v, %v; want m3 with its file", up, err)
	}
	if r, _, _ := s.Room("r"); r.Name != "general" || r.Unread() != 1 {
		t.Errorf("room after migration = %+v", r)
	}
	if found, err := s.Search("lighthouse", "", 10); err != nil || len(found) != 1 || found[0].ID != "m1" {
		t.Errorf("Search over migrated messages = %+v, %v", found, err)
	}
	// The new order goes on from the old messages.
	if m := mustEnqueue(t, s, "r", "new"); m.LocalOrder != 4 {
		t.Errorf("LocalOrder after migration = %d; want 4", m.LocalOrder)
	}
}

func TestApplyUpdatesFoldsEditsReactionsAndDeletes(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r", 1, 2, "bob"))
	target := msg("r", 1, "").ID
	f := mustApply(t, s, edit("r", 3, "bob", target, "fixed typo"), reaction("r", 4, "carol", target, "👍", true),
		reaction("r", 5, "me", target, "👍", true), reaction("r", 6, "carol", target, "🎉", true))
	if len(f.Changed) != 1 || f.Changed[0].ID != target {
		t.Fatalf("Changed = %+v; want the one target", f.Changed)
	}
	got := mustGet(t, s, "r", target)
	if got.Content != "fixed typo" || !got.EditedAt.Equal(baseTime.Add(3*time.Second)) {
		t.Errorf("edited = %q at %v", got.Content, got.EditedAt)
	}
	if fmt.Sprint(got.Reactions) != "map[🎉:[carol] 👍:[carol me]]" {
		t.Errorf("reactions = %v", got.Reactions)
	}
	mustApply(t, s, reaction("r", 7, "carol", target, "👍", false), reaction("r", 8, "carol", target, "🎉", false))
	if got := mustGet(t, s, "r", target); fmt.Sprint(got.Reactions) != "map[👍:[me]]" {
		t.Errorf("reactions after taking two back = %v", got.Reactions)
	}
	withFile := msg("r", 9, "bob")
	withFile.Attachment = &model.Attachment{URL: "/api/uploads/x", Name: "secret.pdf", Size: 3, MIME: "application/pdf"}
	mustIngest(t, s, []model.Message{withFile})
	mustApply(t, s, upd("r", 10, "bob", target, model.OpDelete), upd("r", 11, "bob", withFile.ID, model.OpDelete))
	for _, id := range []string{target, withFile.ID} {
		got := mustGet(t, s, "r", id)
		if !got.Deleted || got.Content != "" || got.Attachment != nil {
			t.Errorf("deleted %s = %+v", id, got)
		}
	}
	// Gone from the whole file, not hidden: no edit keeps the text, the index finds nothing.
	var left int64
	s.db.Raw(`SELECT COUNT(*) FROM updates WHERE content LIKE '%typo%'`).Scan(&left)
	if left != 0 {
		t.Errorf("%d updates still hold the deleted message's text", left)
	}
	if found, _ := s.Search("typo", "", 10); len(found) != 0 {
		t.Errorf("Search finds the deleted message: %+v", found)
	}
	// An edit after the delete changes nothing.
	if f := mustApply(t, s, edit("r", 12, "bob", target, "back?")); len(f.Changed) != 0 {
		t.Errorf("an edit of a deleted message changed %+v", f.Changed)
	}
	// The reactions went with it (the server drops them too), and a late one adds none.
	mustApply(t, s, reaction("r", 13, "carol", withFile.ID, "👍", true))
	for _, id := range []string{target, withFile.ID} {
		if got := mustGet(t, s, "r", id); len(got.Reactions) != 0 {
			t.Errorf("deleted %s keeps reactions %v", id, got.Reactions)
		}
	}
	// Updates are no rows of the list and do not count as unread.
	if got, _ := s.Latest("r", 50); fmt.Sprint(seqs(got)) != "[1 2 9]" {
		t.Errorf("Latest = %v; want only the messages", seqs(got))
	}
	if _, err := s.SetReadSeq("r", 9); err != nil {
		t.Fatal(err)
	}
	r, _, _ := s.Room("r")
	if r.LastSeq != 13 || r.Unread() != 0 {
		t.Errorf("room after updates = last %d unread %d; want 13 and 0", r.LastSeq, r.Unread())
	}
	if cur, _ := s.ContiguousSeq("r", 0); cur != 13 {
		t.Errorf("ContiguousSeq = %d; want 13 (updates fill their seqs)", cur)
	}
	if cur, _ := s.SyncCursor("r"); cur != 13 {
		t.Errorf("SyncCursor = %d; want 13", cur)
	}
}

func TestApplyUpdatesIsIdempotent(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r", 1, 1, "bob"))
	target := msg("r", 1, "").ID
	batch := []model.Update{reaction("r", 2, "carol", target, "👍", true), edit("r", 3, "bob", target, "v2")}
	mustApply(t, s, batch...)
	for range 2 {
		if f := mustApply(t, s, batch...); len(f.Changed) != 0 {
			t.Errorf("a replayed batch changed %+v", f.Changed)
		}
	}
	got := mustGet(t, s, "r", target)
	if fmt.Sprint(got.Reactions) != "map[👍:[carol]]" || got.Content != "v2" {
		t.Errorf("after replays: %q %v", got.Content, got.Reactions)
	}
	var n int64
	s.db.Model(&updateRow{}).Count(&n)
	if n != 2 {
		t.Errorf("%d update rows; want 2", n)
	}
}

// An update can come before its target: a live update during a replay that has not
// reached the target yet, or an update to history not paged in.
func TestUpdateBeforeItsTarget(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	target := msg("r", 1, "bob")
	f := mustApply(t, s, edit("r", 700, "bob", target.ID, "edited early"), reaction("r", 701, "carol", target.ID, "❤️", true))
	if len(f.Changed) != 0 {
		t.Fatalf("Changed = %+v with no target held", f.Changed)
	}
	if got, _ := s.Latest("r", 50); len(got) != 0 {
		t.Fatalf("pending updates show as rows: %+v", got)
	}
	fresh := mustIngest(t, s, []model.Message{target})
	if len(fresh) != 1 || fresh[0].Content != "edited early" || fmt.Sprint(fresh[0].Reactions) != "map[❤️:[carol]]" || fresh[0].EditedAt.IsZero() {
		t.Fatalf("target as ingested = %+v", fresh)
	}
	if found, _ := s.Search("early", "r", 5); len(found) != 1 {
		t.Errorf("Search finds the edited text %d times; want 1", len(found))
	}
	// Applied once: replaying the updates changes nothing.
	if f := mustApply(t, s, edit("r", 700, "bob", target.ID, "edited early"), reaction("r", 701, "carol", target.ID, "❤️", true)); len(f.Changed) != 0 {
		t.Errorf("replay changed %+v", f.Changed)
	}
	// A delete before its target: the target comes without its text.
	late := msg("r", 2, "bob")
	mustApply(t, s, upd("r", 702, "bob", late.ID, model.OpDelete))
	if fresh := mustIngest(t, s, []model.Message{late}); !fresh[0].Deleted || fresh[0].Content != "" {
		t.Errorf("late target of a delete = %+v", fresh[0])
	}
	if found, _ := s.Search("hello", "r", 5); len(found) != 0 {
		t.Errorf("Search finds a deleted message: %+v", found)
	}
}

// An update older than one already folded for the same thing changes nothing: pages
// may arrive in any order, and the newest word stands.
func TestOlderUpdateNeverOverridesNewer(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r", 1, 1, "bob"))
	target := msg("r", 1, "").ID
	mustApply(t, s, reaction("r", 12, "carol", target, "👍", false), edit("r", 13, "bob", target, "newest"))
	mustApply(t, s, reaction("r", 10, "carol", target, "👍", true), edit("r", 11, "bob", target, "older"))
	got := mustGet(t, s, "r", target)
	if len(got.Reactions) != 0 || got.Content != "newest" {
		t.Errorf("after older updates: %q %v; want newest and no reaction", got.Content, got.Reactions)
	}
}

func TestEnqueueUpdateAppliesAtOnceAndIsConfirmed(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, []model.Message{msg("r", 1, "me"), msg("r", 2, "bob")})
	mine, theirs := msg("r", 1, "").ID, msg("r", 2, "").ID
	first := mustEnqueue(t, s, "r", "queued first")
	edited, err := s.EnqueueUpdate(model.Update{RoomID: "r", TargetID: mine, Op: model.OpEdit, Content: "mine, fixed"})
	if err != nil || edited.Content != "mine, fixed" || edited.EditedAt.IsZero() {
		t.Fatalf("EnqueueUpdate(edit) = %+v, %v", edited, err)
	}
	reacted, err := s.EnqueueUpdate(model.Update{RoomID: "r", TargetID: theirs, Op: model.OpReact, Emoji: "👍", On: true})
	if err != nil || fmt.Sprint(reacted.Reactions) != "map[👍:[me]]" {
		t.Fatalf("EnqueueUpdate(react) = %+v, %v", reacted, err)
	}
	out, err := s.Outbox()
	if err != nil || len(out) != 3 || out[0].Message == nil || out[0].ID() != first.ID ||
		out[1].Update == nil || out[1].Update.Op != model.OpEdit || out[2].Update.Emoji != "👍" {
		t.Fatalf("Outbox = %+v, %v; want the message, then the edit, then the react", out, err)
	}
	editID, reactID := out[1].ID(), out[2].ID()
	// The edit is acked; the react comes back as an update frame before its ack.
	if _, err := s.ApplyAcks([]Ack{{ID: first.ID, RoomID: "r", Seq: 3}, {ID: editID, RoomID: "r", Seq: 4}}); err != nil {
		t.Fatal(err)
	}
	echo := reaction("r", 5, "me", theirs, "👍", true)
	echo.ID = reactID
	f := mustApply(t, s, echo)
	if len(f.Confirmed) != 1 || f.Confirmed[0].ID != reactID || len(f.Changed) != 0 {
		t.Errorf("echo of an own update: %+v; want confirmed, nothing changed", f)
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("OutboxLen = %d; want 0", n)
	}
	// The edit's own echo after its ack changes nothing either.
	e := edit("r", 4, "me", mine, "mine, fixed")
	e.ID = editID
	if f := mustApply(t, s, e); len(f.Changed) != 0 {
		t.Errorf("echo after ack changed %+v", f.Changed)
	}
	if got := mustGet(t, s, "r", theirs); fmt.Sprint(got.Reactions) != "map[👍:[me]]" {
		t.Errorf("reactions = %v; want one 👍", got.Reactions)
	}
	if r, _, _ := s.Room("r"); r.LastSeq != 5 {
		t.Errorf("LastSeq = %d; want 5", r.LastSeq)
	}
}

func TestEnqueueUpdateRefusals(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, []model.Message{msg("r", 1, "bob")})
	theirs := msg("r", 1, "").ID
	cases := []struct {
		u    model.Update
		want error
	}{
		{model.Update{RoomID: "r", TargetID: theirs, Op: model.OpEdit, Content: "x"}, ErrForbidden},
		{model.Update{RoomID: "r", TargetID: theirs, Op: model.OpDelete}, ErrForbidden},
		{model.Update{RoomID: "other", TargetID: theirs, Op: model.OpReact, Emoji: "👍", On: true}, ErrNotFound},
		{model.Update{RoomID: "r", TargetID: theirs, Op: "shout"}, ErrInvalid},
	}
	for _, c := range cases {
		if _, err := s.EnqueueUpdate(c.u); !errors.Is(err, c.want) {
			t.Errorf("EnqueueUpdate(%+v) = %v; want %v", c.u, err, c.want)
		}
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("refused updates queued: %d", n)
	}
}

func TestFailUpdateUndoesIt(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	withFile := msg("r", 1, "me")
	withFile.Attachment = &model.Attachment{URL: "/api/uploads/x", Name: "a.txt", Size: 1, MIME: "text/plain"}
	mustIngest(t, s, []model.Message{withFile, msg("r", 2, "bob")})
	mustApply(t, s, reaction("r", 3, "bob", withFile.ID, "👍", true))
	del, err := s.EnqueueUpdate(model.Update{ID: "d1", RoomID: "r", TargetID: withFile.ID, Op: model.OpDelete})
	if err != nil || !del.Deleted || del.Content != "" || del.Attachment != nil {
		t.Fatalf("optimistic delete = %+v, %v", del, err)
	}
	if _, err := s.EnqueueUpdate(model.Update{ID: "x1", RoomID: "r", TargetID: msg("r", 2, "").ID, Op: model.OpReact, Emoji: "🙃", On: true}); err != nil {
		t.Fatal(err)
	}
	f, ok, err := s.FailUpdate("d1", "forbidden")
	if err != nil || !ok || f.Target.Deleted || f.Target.Content != withFile.Content || f.Target.Attachment == nil || f.Update.Op != model.OpDelete ||
		fmt.Sprint(f.Target.Reactions) != "map[👍:[bob]]" {
		t.Fatalf("FailUpdate(delete) = %+v, %v, %v; want the message back, its reaction too", f, ok, err)
	}
	f, ok, err = s.FailUpdate("x1", "invalid")
	if err != nil || !ok || len(f.Target.Reactions) != 0 {
		t.Fatalf("FailUpdate(react) = %+v, %v, %v; want no reaction", f, ok, err)
	}
	if _, ok, _ := s.FailUpdate("x1", "again"); ok {
		t.Errorf("FailUpdate twice reported a second failure")
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("failed updates left in the outbox: %d", n)
	}
}

func TestSearch(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	texts := []string{"Meet at the café at noon", "the server is down", "servers are up again", "lunch at noon?"}
	var batch []model.Message
	for i, text := range texts {
		m := msg("r1", int64(i+1), "bob")
		m.Content = text
		batch = append(batch, m)
	}
	other := msg("r2", 1, "carol")
	other.Content, other.Timestamp = "noon in another room", model.NewTime(baseTime)
	mustIngest(t, s, append(batch, other))
	cases := []struct {
		q, room string
		want    []string
	}{
		{"noon", "", []string{"r1-000004", "r1-000001", "r2-000001"}},
		{"noon", "r1", []string{"r1-000004", "r1-000001"}},
		{"cafe", "", []string{"r1-000001"}},              // diacritics ignored
		{"SERV", "", []string{"r1-000003", "r1-000002"}}, // prefix, any case
		{"server down", "", []string{"r1-000002"}},       // every word
		{`noon* ("`, "r2", []string{"r2-000001"}},        // operators are text
		{"***", "", nil},
	}
	for _, c := range cases {
		got, err := s.Search(c.q, c.room, 10)
		if err != nil || !slices.Equal(ids(got), c.want) {
			t.Errorf("Search(%q, %q) = %v, %v; want %v", c.q, c.room, ids(got), err, c.want)
		}
	}
	mustApply(t, s, edit("r1", 5, "bob", "r1-000002", "the database is down"))
	if got, _ := s.Search("server", "", 10); !slices.Equal(ids(got), []string{"r1-000003"}) {
		t.Errorf("Search after an edit finds the old text: %v", ids(got))
	}
	if got, _ := s.Search("database", "", 10); !slices.Equal(ids(got), []string{"r1-000002"}) {
		t.Errorf("Search misses the edited text: %v", ids(got))
	}
	// A delete takes the text out of the index itself, not only out of the answers.
	mustApply(t, s, upd("r1", 6, "bob", "r1-000003", model.OpDelete))
	if got, _ := s.Search("servers", "", 10); len(got) != 0 {
		t.Errorf("Search finds a deleted message: %v", ids(got))
	}
	var indexed int64
	if err := s.db.Raw(`SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH '"servers"'`).Scan(&indexed).Error; err != nil || indexed != 0 {
		t.Errorf("the index still holds a deleted message's text: %d rows, %v", indexed, err)
	}
	// History paged in later is older: it sorts below what came before it.
	old := msg("r1", 0, "bob")
	old.ID, old.Seq, old.Content, old.Timestamp = "r1-old", 1, "noon long ago", model.NewTime(baseTime.Add(-time.Hour))
	mustIngest(t, s, []model.Message{old})
	if got, _ := s.Search("noon", "", 10); !slices.Equal(ids(got), []string{"r1-000004", "r1-000001", "r2-000001", "r1-old"}) {
		t.Errorf("Search after a history page = %v; want the old message last", ids(got))
	}
	// A pending own message is searchable too, offline, and once acked (the server's
	// time replaces the local one) it is found once.
	p := mustEnqueue(t, s, "r1", "draft of a noon plan")
	if got, _ := s.Search("plan", "", 10); len(got) != 1 || !got[0].Pending() {
		t.Errorf("Search misses a pending message: %+v", got)
	}
	if _, err := s.ApplyAcks([]Ack{{ID: p.ID, RoomID: "r1", Seq: 7, Timestamp: baseTime.Add(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Search("plan", "", 10); len(got) != 1 || got[0].Seq != 7 {
		t.Errorf("Search after the ack = %+v; want the message once, with its seq", got)
	}
}

func TestDraftsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetDraft("r1", "half a thought"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDraft("r2", "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDraft("r2", "  "); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := s.Draft("r1"); d != "half a thought" || err != nil {
		t.Errorf("Draft(r1) = %q, %v", d, err)
	}
	if d, _ := s.Draft("r2"); d != "" {
		t.Errorf("Draft(r2) = %q; want blank dropped", d)
	}
}

func TestDropRoom(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r1", 1, 3, "bob"))
	mustIngest(t, s, msgs("r2", 1, 3, "bob"))
	mustApply(t, s, edit("r1", 4, "bob", "r1-000001", "x"))
	mustEnqueue(t, s, "r1", "unsent")
	if err := s.SetDraft("r1", "d"); err != nil {
		t.Fatal(err)
	}
	if err := s.DropRoom("r1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Room("r1"); ok {
		t.Error("room r1 still held")
	}
	for _, table := range []string{"messages", "updates", "outbox", "drafts"} {
		var n int64
		s.db.Table(table).Where("room_id = ?", "r1").Count(&n)
		if n != 0 {
			t.Errorf("%d rows of r1 left in %s", n, table)
		}
	}
	if n, _ := s.CountMessages("r2"); n != 3 {
		t.Errorf("r2 lost messages: %d", n)
	}
}
