package storage

import (
	"errors"
	"fmt"
	"testing"

	"github.com/parleychat/parley/model"
)

// own queues an own update with a known id.
func own(t testing.TB, s *Store, u model.Update) Message {
	t.Helper()
	m, err := s.EnqueueUpdate(u)
	if err != nil {
		t.Fatalf("EnqueueUpdate(%+v): %v", u, err)
	}
	return m
}

// An own pending reaction is listed last; others' reactions that come meanwhile go
// before it, and its ack (or echo) puts it at its seq's place: where the server,
// and so every other device and a fresh sync, lists it.
func TestOwnReactionTakesItsPlaceBySeq(t *testing.T) {
	for _, via := range []string{"ack", "echo"} {
		t.Run(via, func(t *testing.T) {
			s := openTest(t)
			signIn(t, s)
			mustIngest(t, s, msgs("r", 1, 1, "bob"))
			target := msg("r", 1, "").ID
			mustApply(t, s, reaction("r", 2, "carol", target, "👍", true))
			got := own(t, s, model.Update{ID: "mine", RoomID: "r", TargetID: target, Op: model.OpReact, Emoji: "👍", On: true})
			if fmt.Sprint(got.Reactions) != "map[👍:[carol me]]" {
				t.Fatalf("pending: %v; want mine last", got.Reactions)
			}
			// dave's reaction (seq 4) comes before the answer to mine (seq 3).
			f := mustApply(t, s, reaction("r", 4, "dave", target, "👍", true))
			if len(f.Changed) != 1 || fmt.Sprint(f.Changed[0].Reactions) != "map[👍:[carol dave me]]" {
				t.Fatalf("while mine is pending: %+v; want dave before mine", f.Changed)
			}
			var changed []Message
			switch via {
			case "ack":
				a, err := s.ApplyAcks([]Ack{{ID: "mine", RoomID: "r", Seq: 3}})
				if err != nil {
					t.Fatal(err)
				}
				changed = a.Changed
			case "echo":
				echo := reaction("r", 3, "me", target, "👍", true)
				echo.ID = "mine"
				changed = mustApply(t, s, echo).Changed
			}
			if len(changed) != 1 || fmt.Sprint(changed[0].Reactions) != "map[👍:[carol me dave]]" {
				t.Fatalf("after the %s: %+v; want mine at seq 3, between carol (2) and dave (4)", via, changed)
			}
			if got := mustGet(t, s, "r", target); fmt.Sprint(got.Reactions) != "map[👍:[carol me dave]]" {
				t.Errorf("stored: %v", got.Reactions)
			}
		})
	}
}

// A reaction that arrives late (a sync replay after the live ones) is listed at its
// seq's place, not at the end.
func TestLateReactionGoesToItsPlace(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r", 1, 1, "bob"))
	target := msg("r", 1, "").ID
	mustApply(t, s, reaction("r", 5, "carol", target, "🎉", true), reaction("r", 9, "dave", target, "🎉", true))
	mustApply(t, s, reaction("r", 7, "erin", target, "🎉", true))
	if got := mustGet(t, s, "r", target); fmt.Sprint(got.Reactions) != "map[🎉:[carol erin dave]]" {
		t.Errorf("reactions = %v; want by seq", got.Reactions)
	}
}

// Another device of the user edits the same message while this one's edit waits:
// whichever the server took last (by seq) stands, on both.
func TestOwnEditSettlesBySeq(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, []model.Message{msg("r", 1, "me")})
	target := msg("r", 1, "").ID
	own(t, s, model.Update{ID: "here", RoomID: "r", TargetID: target, Op: model.OpEdit, Content: "from this device"})
	// The other device's edit took seq 3; this one's comes back with seq 2.
	mustApply(t, s, edit("r", 3, "me", target, "from the other device"))
	if got := mustGet(t, s, "r", target); got.Content != "from this device" {
		t.Fatalf("while pending: %q; want this device's", got.Content)
	}
	a, err := s.ApplyAcks([]Ack{{ID: "here", RoomID: "r", Seq: 2, Timestamp: baseTime}})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Changed) != 1 || a.Changed[0].Content != "from the other device" {
		t.Fatalf("after the ack: %+v; want the edit with the higher seq", a.Changed)
	}
}

// A refused update is failed and undone; it stays listed, with the server's reason,
// until it is retried (queued again with its id and applied again) or discarded.
func TestFailedUpdateRetryAndDiscard(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, []model.Message{msg("r", 1, "me"), msg("r", 2, "bob")})
	mine, theirs := msg("r", 1, "").ID, msg("r", 2, "").ID
	own(t, s, model.Update{ID: "e1", RoomID: "r", TargetID: mine, Op: model.OpEdit, Content: "better"})
	own(t, s, model.Update{ID: "x1", RoomID: "r", TargetID: theirs, Op: model.OpReact, Emoji: "👀", On: true})
	if _, ok, err := s.FailUpdate("e1", "internal: update not stored"); err != nil || !ok {
		t.Fatalf("FailUpdate = %v, %v", ok, err)
	}
	if _, ok, err := s.FailUpdate("x1", "invalid: a message takes at most 20 distinct emoji"); err != nil || !ok {
		t.Fatalf("FailUpdate = %v, %v", ok, err)
	}
	failed, err := s.FailedUpdates("r")
	if err != nil || len(failed) != 2 || failed[0].Update.ID != "e1" || failed[0].Reason != "internal: update not stored" ||
		failed[0].Target.Content != msg("r", 1, "").Content || failed[1].Update.ID != "x1" || len(failed[1].Target.Reactions) != 0 {
		t.Fatalf("FailedUpdates = %+v, %v", failed, err)
	}
	if st, reason, _, _ := s.UpdateStatus("r", "e1"); st != model.StatusFailed || reason == "" {
		t.Errorf("UpdateStatus = %s %q", st, reason)
	}
	got, u, err := s.RetryUpdate("r", "e1")
	if err != nil || got.Content != "better" || u.ID != "e1" || u.Content != "better" {
		t.Fatalf("RetryUpdate = %+v, %v; want the edit applied again", got, err)
	}
	if out, _ := s.Outbox(); len(out) != 1 || out[0].ID() != "e1" || out[0].Update.Content != "better" {
		t.Fatalf("Outbox after the retry = %+v", out)
	}
	if st, _, _, _ := s.UpdateStatus("r", "e1"); st != model.StatusSending {
		t.Errorf("retried update is %s", st)
	}
	if _, ok, _ := s.PendingUpdate("e1"); !ok {
		t.Errorf("PendingUpdate after the retry: not pending")
	}
	if _, _, err := s.RetryUpdate("r", "e1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RetryUpdate of a sending update = %v; want ErrNotFound", err)
	}
	if err := s.DiscardUpdate("r", "x1"); err != nil {
		t.Fatal(err)
	}
	if failed, _ := s.FailedUpdates(""); len(failed) != 0 {
		t.Errorf("FailedUpdates after retry and discard = %+v", failed)
	}
	if err := s.DiscardUpdate("r", "x1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DiscardUpdate twice = %v; want ErrNotFound", err)
	}
	// The retried edit is confirmed like any.
	if _, err := s.ApplyAcks([]Ack{{ID: "e1", RoomID: "r", Seq: 3}}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "r", mine); got.Content != "better" {
		t.Errorf("after the ack: %q", got.Content)
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("OutboxLen = %d", n)
	}
}

// Undoing one of two own pending changes of the same thing leaves the later one
// standing, and the later one then undoes to where the first began.
func TestUndoUnderALaterOwnChange(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, []model.Message{msg("r", 1, "me"), msg("r", 2, "bob")})
	mine, theirs := msg("r", 1, "").ID, msg("r", 2, "").ID
	original := msg("r", 1, "").Content
	own(t, s, model.Update{ID: "e1", RoomID: "r", TargetID: mine, Op: model.OpEdit, Content: "one"})
	own(t, s, model.Update{ID: "e2", RoomID: "r", TargetID: mine, Op: model.OpEdit, Content: "two"})
	own(t, s, model.Update{ID: "on", RoomID: "r", TargetID: theirs, Op: model.OpReact, Emoji: "👍", On: true})
	own(t, s, model.Update{ID: "off", RoomID: "r", TargetID: theirs, Op: model.OpReact, Emoji: "👍", On: false})
	f, _, _ := s.FailUpdate("e1", "internal")
	if f.Target.Content != "two" {
		t.Errorf("undo of the first edit shows %q; want the second, still queued", f.Target.Content)
	}
	f, _, _ = s.FailUpdate("e2", "internal")
	if f.Target.Content != original {
		t.Errorf("undo of both shows %q; want %q", f.Target.Content, original)
	}
	f, _, _ = s.FailUpdate("on", "invalid")
	if len(f.Target.Reactions) != 0 {
		t.Errorf("undo of the react under its take-back shows %v; want none", f.Target.Reactions)
	}
	f, _, _ = s.FailUpdate("off", "invalid")
	if len(f.Target.Reactions) != 0 {
		t.Errorf("undo of both shows %v; want none, as before them", f.Target.Reactions)
	}
}

// An ack that comes after all for an update failed meanwhile (a resend crossed its
// refusal) means the server holds it: its change, undone, is folded again.
func TestAckOfAFailedUpdateRefoldsIt(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r", 1, 1, "bob"))
	target := msg("r", 1, "").ID
	own(t, s, model.Update{ID: "x", RoomID: "r", TargetID: target, Op: model.OpReact, Emoji: "🙌", On: true})
	if f, ok, _ := s.FailUpdate("x", "internal"); !ok || len(f.Target.Reactions) != 0 {
		t.Fatalf("FailUpdate = %+v, %v", f, ok)
	}
	a, err := s.ApplyAcks([]Ack{{ID: "x", RoomID: "r", Seq: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Changed) != 1 || fmt.Sprint(a.Changed[0].Reactions) != "map[🙌:[me]]" {
		t.Fatalf("ack of the failed update changed %+v; want the reaction back", a.Changed)
	}
	if failed, _ := s.FailedUpdates("r"); len(failed) != 0 {
		t.Errorf("still failed: %+v", failed)
	}
	if st, _, _, _ := s.UpdateStatus("r", "x"); st != model.StatusSent {
		t.Errorf("status %s; want sent", st)
	}
}
