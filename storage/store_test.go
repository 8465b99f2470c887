package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"go.uber.org/goleak"
)

// openTest opens a store in a fresh temporary folder, closed when the test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// signIn saves the account "me".
func signIn(t testing.TB, s *Store) {
	t.Helper()
	if err := s.SaveAccount(Account{ServerURL: "http://chat.test", UserID: "me", Username: "me", DisplayName: "Me", RefreshToken: "r1"}); err != nil {
		t.Fatalf("SaveAccount: %v", err)
	}
}

var baseTime = time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)

// msg builds a server message of room with seq, from sender.
func msg(room string, seq int64, sender string) model.Message {
	return model.Message{
		ID: fmt.Sprintf("%s-%06d", room, seq), RoomID: room, Seq: seq, SenderID: sender, SenderName: "N" + sender,
		Content: fmt.Sprintf("hello %d", seq), Timestamp: model.NewTime(baseTime.Add(time.Duration(seq) * time.Second)),
	}
}

// msgs builds the messages of room with seqs from..to, from sender.
func msgs(room string, from, to int64, sender string) []model.Message {
	var out []model.Message
	for seq := from; seq <= to; seq++ {
		out = append(out, msg(room, seq, sender))
	}
	return out
}

func mustIngest(t testing.TB, s *Store, ms []model.Message) []Message {
	t.Helper()
	fresh, err := s.SaveIncoming(ms)
	if err != nil {
		t.Fatalf("SaveIncoming: %v", err)
	}
	return fresh
}

func mustEnqueue(t testing.TB, s *Store, room, text string) Message {
	t.Helper()
	m, err := s.Enqueue(model.Message{RoomID: room, Content: text})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return m
}

func mustGet(t testing.TB, s *Store, room, id string) Message {
	t.Helper()
	m, ok, err := s.Get(room, id)
	if err != nil || !ok {
		t.Fatalf("Get(%s) = %v, %v", id, ok, err)
	}
	return m
}

func seqs(ms []Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func ids(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestOpenCreatesTheFileInWALMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profile", "nested")
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	var mode string
	if err := s.db.Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestOpenWithoutFolderFails(t *testing.T) {
	if _, err := Open(""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open(\"\") = %v; want ErrInvalid", err)
	}
}

func TestOpenTwiceKeepsData(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, s)
	mustIngest(t, s, msgs("r1", 1, 3, "bob"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountMessages("r1"); err != nil || n != 3 {
		t.Fatalf("CountMessages after reopen = %d, %v; want 3", n, err)
	}
	// The local order carries on after the reopen.
	m := mustEnqueue(t, s, "r1", "after reopen")
	if m.LocalOrder <= 3 {
		t.Errorf("LocalOrder after reopen = %d; want > 3", m.LocalOrder)
	}
	if m.SenderID != "me" || m.SenderName != "Me" {
		t.Errorf("sender after reopen = %q %q; want the account's", m.SenderID, m.SenderName)
	}
}

func TestAccount(t *testing.T) {
	s := openTest(t)
	if _, ok, err := s.Account(); ok || err != nil {
		t.Fatalf("Account on a new store = %v, %v; want false", ok, err)
	}
	if err := s.SetRefreshToken("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetRefreshToken signed out = %v; want ErrNotFound", err)
	}
	if err := s.SaveAccount(Account{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveAccount without user id = %v; want ErrInvalid", err)
	}
	signIn(t, s)
	a, ok, err := s.Account()
	want := Account{ServerURL: "http://chat.test", UserID: "me", Username: "me", DisplayName: "Me", RefreshToken: "r1"}
	if !ok || err != nil || a != want {
		t.Fatalf("Account = %+v, %v, %v; want %+v", a, ok, err, want)
	}
	if err := s.SetRefreshToken("r2"); err != nil {
		t.Fatalf("SetRefreshToken: %v", err)
	}
	if a, _, _ := s.Account(); a.RefreshToken != "r2" {
		t.Errorf("RefreshToken = %q; want r2", a.RefreshToken)
	}
	mustIngest(t, s, msgs("r1", 1, 2, "bob"))
	if err := s.ClearAccount(); err != nil {
		t.Fatalf("ClearAccount: %v", err)
	}
	if _, ok, err := s.Account(); ok || err != nil {
		t.Errorf("Account after ClearAccount = %v, %v; want false", ok, err)
	}
	var token string
	s.db.Raw("SELECT refresh_token FROM account").Scan(&token)
	if token != "" {
		t.Errorf("the refresh token is still on disk after sign-out")
	}
	if n, _ := s.CountMessages("r1"); n != 2 {
		t.Errorf("history after sign-out = %d messages; want 2 kept", n)
	}
	// The same user signing in again (trailing slash aside) keeps the history.
	if err := s.SaveAccount(Account{ServerURL: "http://chat.test/", UserID: "me", RefreshToken: "r3"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountMessages("r1"); n != 2 {
		t.Errorf("history after the same user signs in = %d messages; want 2 kept", n)
	}
	// Another user clears it.
	if err := s.SaveAccount(Account{ServerURL: "http://chat.test", UserID: "other", RefreshToken: "r4"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountMessages("r1"); n != 0 {
		t.Errorf("history after another user signs in = %d messages; want 0", n)
	}
	if rooms, _ := s.Rooms(); len(rooms) != 0 {
		t.Errorf("rooms after another user signs in = %d; want 0", len(rooms))
	}
}

func TestUpsertRoomsAndRooms(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	reset, err := s.UpsertRooms([]model.Room{
		{ID: "general", Name: "General", Public: true, MemberIDs: []string{"me", "bob"}, LastSeq: 10, Unread: 4, Epoch: "e1"},
		{ID: "dm", Name: "Bob", Direct: true, MemberIDs: []string{"me", "bob"}, Epoch: "e1"},
		{ID: "quiet", Name: "Quiet", Epoch: "e1"},
		{ID: ""}, // ignored
	})
	if err != nil || len(reset) != 0 {
		t.Fatalf("UpsertRooms = %v, %v; want no reset", reset, err)
	}
	g, ok, err := s.Room("general")
	if !ok || err != nil {
		t.Fatalf("Room(general) = %v, %v", ok, err)
	}
	if g.Name != "General" || !g.Public || g.Direct || len(g.MemberIDs) != 2 || g.Epoch != "e1" ||
		g.LastSeq != 10 || g.ReadSeq != 6 || g.Unread() != 4 {
		t.Errorf("Room(general) = %+v; want the server's figures, read mark 6", g)
	}
	if _, ok, err := s.Room("nope"); ok || err != nil {
		t.Errorf("Room(nope) = %v, %v; want false", ok, err)
	}

	// An update: LastSeq forward only; the read mark takes the server's when that is
	// ahead (read on another device), never goes back.
	if _, err := s.UpsertRooms([]model.Room{{ID: "general", Name: "Everyone", Public: true, LastSeq: 8, Unread: 0, Epoch: "e1"}}); err != nil {
		t.Fatal(err)
	}
	g, _, _ = s.Room("general")
	if g.Name != "Everyone" || g.LastSeq != 10 || g.ReadSeq != 8 || len(g.MemberIDs) != 0 {
		t.Errorf("after update: %+v; want name Everyone, LastSeq 10, ReadSeq 8", g)
	}
	if _, err := s.UpsertRooms([]model.Room{{ID: "general", Name: "Everyone", Public: true, LastSeq: 10, Unread: 9, Epoch: "e1"}}); err != nil {
		t.Fatal(err)
	}
	if g, _, _ = s.Room("general"); g.ReadSeq != 8 {
		t.Errorf("a server behind us moved the read mark back to %d", g.ReadSeq)
	}

	// Preview and order: newest activity first, rooms without messages last by name.
	mustIngest(t, s, msgs("general", 1, 3, "bob"))
	mustIngest(t, s, []model.Message{msg("dm", 1, "bob")}) // older timestamp than general's seq 3
	att := msg("dm", 5, "bob")
	att.Content, att.Attachment = "", &model.Attachment{URL: "/u/1", Name: "cat.png", Size: 10, MIME: "image/png"}
	mustIngest(t, s, []model.Message{att})
	rooms, err := s.Rooms()
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rooms {
		order = append(order, r.ID)
	}
	if fmt.Sprint(order) != "[dm general quiet]" {
		t.Fatalf("Rooms order = %v; want [dm general quiet]", order)
	}
	if rooms[0].Preview != "📎 cat.png" || rooms[0].PreviewSender != "Nbob" || !rooms[0].PreviewAt.Equal(att.Timestamp.Time) {
		t.Errorf("dm preview = %q %q %v", rooms[0].Preview, rooms[0].PreviewSender, rooms[0].PreviewAt)
	}
	if rooms[1].Preview != "hello 3" || rooms[1].LastSeq != 10 {
		t.Errorf("general = %+v; want preview hello 3", rooms[1])
	}
	if rooms[2].Preview != "" || !rooms[2].PreviewAt.IsZero() {
		t.Errorf("quiet preview = %+v; want none", rooms[2])
	}

	// A pending own message is the preview of its room and makes it the newest.
	s.now = func() time.Time { return baseTime.Add(time.Hour) }
	mustEnqueue(t, s, "quiet", "first words")
	rooms, _ = s.Rooms()
	if rooms[0].ID != "quiet" || rooms[0].Preview != "first words" || rooms[0].PreviewSender != "Me" {
		t.Errorf("after Enqueue, first room = %+v; want quiet with its pending message", rooms[0])
	}
}

// TestRoomPreviewNamesItsSender checks that the preview carries its sender's id and
// whether the message is the account user's own: a message from another member, an own
// message echoed by the server (sent from another device), and a pending own one.
func TestRoomPreviewNamesItsSender(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	if _, err := s.UpsertRooms([]model.Room{{ID: "r", Name: "R", Epoch: "e1"}}); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, []model.Message{msg("r", 1, "bob")})
	r, _, _ := s.Room("r")
	if r.PreviewSenderID != "bob" || r.PreviewSender != "Nbob" || r.PreviewOwn {
		t.Errorf("bob's preview = id %q name %q own %v; want bob, Nbob, not own", r.PreviewSenderID, r.PreviewSender, r.PreviewOwn)
	}
	mustIngest(t, s, []model.Message{msg("r", 2, "me")})
	r, _, _ = s.Room("r")
	if r.PreviewSenderID != "me" || !r.PreviewOwn {
		t.Errorf("own echoed preview = id %q own %v; want me, own", r.PreviewSenderID, r.PreviewOwn)
	}
	mustEnqueue(t, s, "r", "pending words")
	rooms, err := s.Rooms()
	if err != nil || len(rooms) != 1 {
		t.Fatalf("Rooms = %v, %v", rooms, err)
	}
	if r := rooms[0]; r.Preview != "pending words" || r.PreviewSenderID != "me" || !r.PreviewOwn {
		t.Errorf("pending preview = %q id %q own %v; want pending words, me, own", r.Preview, r.PreviewSenderID, r.PreviewOwn)
	}
}

func TestRoomKnownOnlyFromMessagesTakesServerFigures(t *testing.T) {
	s := openTest(t)
	mustIngest(t, s, msgs("r", 1, 5, "bob"))
	r, ok, _ := s.Room("r")
	if !ok || r.Name != "" || r.LastSeq != 5 || r.ReadSeq != 0 {
		t.Fatalf("stub room = %+v, %v", r, ok)
	}
	if _, err := s.UpsertRooms([]model.Room{{ID: "r", Name: "R", LastSeq: 7, Unread: 3, Epoch: "e"}}); err != nil {
		t.Fatal(err)
	}
	r, _, _ = s.Room("r")
	if r.Name != "R" || r.LastSeq != 7 || r.ReadSeq != 4 || r.Epoch != "e" {
		t.Errorf("described room = %+v; want R, LastSeq 7, ReadSeq 4, epoch e", r)
	}
}

func TestEpochChangeClearsTheRoom(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	if _, err := s.UpsertRooms([]model.Room{{ID: "r", Name: "R", LastSeq: 0, Epoch: "e1"}, {ID: "other", Epoch: "e1"}}); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, msgs("r", 1, 20, "bob"))
	mustIngest(t, s, msgs("other", 1, 2, "bob"))
	mine := mustIngest(t, s, []model.Message{msg("r", 21, "me")}) // own, sent from elsewhere
	if len(mine) != 1 || !mine[0].Own {
		t.Fatalf("own message from another device = %+v", mine)
	}
	pending := mustEnqueue(t, s, "r", "still queued")
	failed := mustEnqueue(t, s, "r", "will fail")
	if _, _, err := s.MarkFailed(failed.ID, "rate_limited"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyReceipt("r", "bob", 21, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetReadSeq("r", 15); err != nil {
		t.Fatal(err)
	}

	// Same epoch, or none: nothing happens.
	reset, err := s.UpsertRooms([]model.Room{{ID: "r", Name: "R", LastSeq: 21, Epoch: "e1"}, {ID: "other", LastSeq: 2}})
	if err != nil || len(reset) != 0 {
		t.Fatalf("UpsertRooms same epoch = %v, %v; want no reset", reset, err)
	}

	reset, err = s.UpsertRooms([]model.Room{{ID: "r", Name: "R", LastSeq: 3, Unread: 1, Epoch: "e2"}, {ID: "other", Epoch: "e1"}})
	if err != nil || fmt.Sprint(reset) != "[r]" {
		t.Fatalf("UpsertRooms new epoch = %v, %v; want [r]", reset, err)
	}
	if cur, _ := s.SyncCursor("r"); cur != 0 {
		t.Errorf("SyncCursor after reset = %d; want 0", cur)
	}
	got, _ := s.Latest("r", 50)
	if fmt.Sprint(ids(got)) != fmt.Sprint([]string{pending.ID, failed.ID}) {
		t.Errorf("Latest after reset = %v; want only the pending and failed own messages", ids(got))
	}
	if n, _ := s.OutboxLen(); n != 1 {
		t.Errorf("OutboxLen after reset = %d; want 1", n)
	}
	r, _, _ := s.Room("r")
	if r.Epoch != "e2" || r.LastSeq != 3 || r.ReadSeq != 2 {
		t.Errorf("room after reset = %+v; want epoch e2, LastSeq 3, ReadSeq 2", r)
	}
	var receipts int64
	s.db.Model(&receiptRow{}).Where("room_id = ?", "r").Count(&receipts)
	if receipts != 0 {
		t.Errorf("receipts after reset = %d; want 0", receipts)
	}
	if n, _ := s.CountMessages("other"); n != 2 {
		t.Errorf("other room after reset = %d messages; want 2 untouched", n)
	}
	// The sync from 0 brings the new history in as fresh.
	if fresh := mustIngest(t, s, msgs("r", 1, 3, "bob")); len(fresh) != 3 {
		t.Errorf("resync = %d fresh; want 3", len(fresh))
	}
}

func TestCursorsAndMarks(t *testing.T) {
	s := openTest(t)
	if cur, err := s.SyncCursor("r"); cur != 0 || err != nil {
		t.Fatalf("SyncCursor of an empty room = %d, %v", cur, err)
	}
	mustIngest(t, s, msgs("r", 1, 7, "bob"))
	if cur, _ := s.SyncCursor("r"); cur != 7 {
		t.Errorf("SyncCursor = %d; want 7", cur)
	}
	mustEnqueue(t, s, "r", "pending") // no seq: does not move the cursor
	if cur, _ := s.SyncCursor("r"); cur != 7 {
		t.Errorf("SyncCursor with a pending message = %d; want 7", cur)
	}

	if moved, err := s.SetReadSeq("r", 5); !moved || err != nil {
		t.Errorf("SetReadSeq(5) = %v, %v; want moved", moved, err)
	}
	if moved, _ := s.SetReadSeq("r", 5); moved {
		t.Errorf("SetReadSeq(5) again moved")
	}
	if moved, _ := s.SetReadSeq("r", 3); moved {
		t.Errorf("SetReadSeq(3) after 5 moved backwards")
	}
	if moved, err := s.SetReadSeq("nope", 3); moved || err != nil {
		t.Errorf("SetReadSeq of an unknown room = %v, %v; want false, nil", moved, err)
	}
	r, _, _ := s.Room("r")
	if r.ReadSeq != 5 || r.LastSeq != 7 || r.Unread() != 2 {
		t.Errorf("room = %+v; want ReadSeq 5, LastSeq 7, unread 2", r)
	}

	if err := s.SetLastSeq("r", 12); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastSeq("r", 9); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := s.Room("r"); r.LastSeq != 12 || r.Unread() != 7 {
		t.Errorf("after SetLastSeq: %+v; want LastSeq 12, unread 7", r)
	}
	if err := s.SetLastSeq("new", 4); err != nil {
		t.Fatal(err)
	}
	if r, ok, _ := s.Room("new"); !ok || r.LastSeq != 4 {
		t.Errorf("SetLastSeq of an unknown room: %+v, %v; want added with LastSeq 4", r, ok)
	}
	if err := s.SetLastSeq("", 4); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetLastSeq without room = %v; want ErrInvalid", err)
	}
	if (Room{LastSeq: 3, ReadSeq: 9}).Unread() != 0 {
		t.Errorf("Unread with the read mark above LastSeq is not 0")
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Signing in as another account while this one has unsent messages changes nothing until
// the user agrees (DiscardHistory); the history and the outbox stay the old account's.
func TestSaveAccountKeepsUnsentMessagesOfTheOldAccount(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r1", 1, 2, "bob"))
	mustEnqueue(t, s, "r1", "one")
	failed := mustEnqueue(t, s, "r1", "two")
	if _, _, err := s.MarkFailed(failed.ID, "refused"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.UnsentCount(); err != nil || n != 2 {
		t.Fatalf("UnsentCount = %d, %v; want 2", n, err)
	}
	before, _, _ := s.Account()
	for _, other := range []Account{
		{ServerURL: before.ServerURL, UserID: "other", Username: "other", RefreshToken: "x"},
		{ServerURL: "http://elsewhere.test", UserID: before.UserID, Username: before.Username, RefreshToken: "x"},
	} {
		err := s.SaveAccount(other)
		var ue *UnsentError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnsent) || ue.Count != 2 || ue.Old.UserID != before.UserID {
			t.Fatalf("SaveAccount(%+v) = %v; want an *UnsentError of 2 messages of %s", other, err, before.UserID)
		}
		if a, ok, _ := s.Account(); !ok || a != before {
			t.Errorf("account after the refused switch = %+v, %v; want %+v", a, ok, before)
		}
		if n, _ := s.OutboxLen(); n != 1 {
			t.Errorf("outbox after the refused switch = %d; want 1", n)
		}
		if n, _ := s.CountMessages("r1"); n != 4 {
			t.Errorf("messages after the refused switch = %d; want 4", n)
		}
	}
	// Signed out, the history is still the old account's: LastAccount says whose.
	if err := s.ClearAccount(); err != nil {
		t.Fatal(err)
	}
	if last, ok, err := s.LastAccount(); err != nil || !ok || last.UserID != before.UserID || last.RefreshToken != "" {
		t.Errorf("LastAccount after sign-out = %+v, %v, %v; want %s without a token", last, ok, err, before.UserID)
	}
	if err := s.DiscardHistory(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.LastAccount(); ok {
		t.Errorf("LastAccount after DiscardHistory: still an account")
	}
	if err := s.SaveAccount(Account{ServerURL: "http://elsewhere.test", UserID: "other", RefreshToken: "x"}); err != nil {
		t.Fatalf("SaveAccount after DiscardHistory: %v", err)
	}
	if n, _ := s.CountMessages("r1"); n != 0 {
		t.Errorf("messages after DiscardHistory = %d; want 0", n)
	}
	if n, _ := s.UnsentCount(); n != 0 {
		t.Errorf("unsent after DiscardHistory = %d; want 0", n)
	}
}

// outboxMessages returns the messages of the outbox, in order (no updates).
func outboxMessages(s *Store) ([]Message, error) {
	out, err := s.Outbox()
	var ms []Message
	for _, o := range out {
		if o.Message != nil {
			ms = append(ms, *o.Message)
		}
	}
	return ms, err
}

// An own edit or reaction still queued counts as unsent too: switching accounts would
// drop it, so SaveAccount refuses and says how many.
func TestSaveAccountKeepsUnsentChangesOfTheOldAccount(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r1", 1, 2, "bob"))
	target := msg("r1", 1, "").ID
	if _, err := s.EnqueueUpdate(model.Update{ID: "u1", RoomID: "r1", TargetID: target, Op: model.OpReact, Emoji: "👍", On: true}); err != nil {
		t.Fatal(err)
	}
	before, _, _ := s.Account()
	err := s.SaveAccount(Account{ServerURL: before.ServerURL, UserID: "other", Username: "other", RefreshToken: "x"})
	var ue *UnsentError
	if !errors.As(err, &ue) || ue.Count != 0 || ue.Changes != 1 {
		t.Fatalf("SaveAccount = %v; want an *UnsentError of 1 change", err)
	}
	if m := mustGet(t, s, "r1", target); len(m.Reactions["👍"]) != 1 {
		t.Errorf("the queued reaction is gone after the refused switch: %v", m.Reactions)
	}
}
