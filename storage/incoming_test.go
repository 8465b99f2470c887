package storage

import (
	"fmt"
	"testing"

	"github.com/parleychat/parley/model"
)

func TestSaveIncomingDeduplicates(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	batch := msgs("r", 1, 5, "bob")
	fresh := mustIngest(t, s, batch)
	if fmt.Sprint(seqs(fresh)) != "[1 2 3 4 5]" {
		t.Fatalf("first SaveIncoming = %v; want all five fresh", seqs(fresh))
	}
	for _, m := range fresh {
		if m.Own || m.Status != "" || m.LocalOrder == 0 {
			t.Errorf("fresh %+v; want not own, no status, a LocalOrder", m)
		}
	}
	if again := mustIngest(t, s, batch); len(again) != 0 {
		t.Errorf("second SaveIncoming = %v; want nothing fresh", seqs(again))
	}
	// A batch that mixes held, new and repeated-within-the-batch messages.
	mixed := append(msgs("r", 4, 7, "bob"), msg("r", 6, "bob"), msg("r", 7, "bob"))
	if got := mustIngest(t, s, mixed); fmt.Sprint(seqs(got)) != "[6 7]" {
		t.Errorf("mixed batch fresh = %v; want [6 7]", seqs(got))
	}
	if n, _ := s.CountMessages("r"); n != 7 {
		t.Errorf("CountMessages = %d; want 7 (each stored once)", n)
	}
	if r, _, _ := s.Room("r"); r.LastSeq != 7 {
		t.Errorf("LastSeq = %d; want 7", r.LastSeq)
	}
	// Malformed messages are skipped, the rest stored.
	bad := []model.Message{{ID: "", RoomID: "r", Seq: 8}, {ID: "x", RoomID: "", Seq: 8}, {ID: "y", RoomID: "r", Seq: 0}, msg("r", 8, "bob")}
	if got := mustIngest(t, s, bad); fmt.Sprint(seqs(got)) != "[8]" {
		t.Errorf("batch with malformed messages fresh = %v; want [8]", seqs(got))
	}
	if got, err := s.SaveIncoming(nil); got != nil || err != nil {
		t.Errorf("SaveIncoming(nil) = %v, %v", got, err)
	}
	// Everything survives as sent, attachment included.
	withFile := msg("r", 9, "bob")
	withFile.Attachment = &model.Attachment{URL: "/u/9", Name: "a.pdf", Size: 99, MIME: "application/pdf"}
	mustIngest(t, s, []model.Message{withFile})
	got := mustGet(t, s, withFile.RoomID, withFile.ID)
	if got.Message.Attachment == nil || *got.Message.Attachment != *withFile.Attachment || got.Content != withFile.Content ||
		got.SenderName != "Nbob" || !got.Timestamp.Equal(withFile.Timestamp.Time) {
		t.Errorf("Get = %+v; want %+v", got.Message, withFile)
	}
}

func TestIngestOwnPendingCountsAsAck(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	p := mustEnqueue(t, s, "r", "hello\x01")
	echo := model.Message{ID: p.ID, RoomID: "r", Seq: 3, SenderID: "me", SenderName: "Me", Content: "hello",
		Timestamp: model.NewTime(baseTime)}
	in, err := s.Ingest(append(msgs("r", 1, 2, "bob"), echo))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs(in.Fresh)) != "[1 2]" {
		t.Errorf("Fresh = %v; want [1 2] (not the echo of our own message)", seqs(in.Fresh))
	}
	if len(in.Acked) != 1 || in.Acked[0].ID != p.ID || in.Acked[0].Seq != 3 || in.Acked[0].Status != model.StatusSent ||
		in.Acked[0].LocalOrder != p.LocalOrder || in.Acked[0].Content != "hello" {
		t.Fatalf("Acked = %+v; want our message with seq 3, sent, the server's content", in.Acked)
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("OutboxLen = %d; want 0 (the echo acked it)", n)
	}
	if got := mustGet(t, s, p.RoomID, p.ID); got.Seq != 3 || got.Status != model.StatusSent || !got.Timestamp.Equal(baseTime) {
		t.Errorf("Get = %+v; want seq 3, sent, server time", got)
	}
	// The echo again, and the late ack: nothing changes.
	if in, _ := s.Ingest([]model.Message{echo}); len(in.Fresh)+len(in.Acked) != 0 {
		t.Errorf("second echo = %+v; want nothing", in)
	}
	if changed, _ := s.ApplyAcks([]Ack{{ID: p.ID, RoomID: "r", Seq: 3}}); len(changed.Messages) != 0 {
		t.Errorf("late ack changed %v; want nothing", ids(changed.Messages))
	}
	if n, _ := s.CountMessages("r"); n != 3 {
		t.Errorf("CountMessages = %d; want 3", n)
	}
}

func TestIngestOwnFromAnotherDevice(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	if _, err := s.ApplyReceipt("r", "bob", 2, 1); err != nil {
		t.Fatal(err)
	}
	fresh := mustIngest(t, s, msgs("r", 1, 3, "me"))
	want := []model.Status{model.StatusRead, model.StatusDelivered, model.StatusSent}
	for i, m := range fresh {
		if !m.Own || m.Status != want[i] {
			t.Errorf("own message seq %d = own %v status %q; want own, %q", m.Seq, m.Own, m.Status, want[i])
		}
	}
}

func TestIngestBeforeSignInIsNotOwn(t *testing.T) {
	s := openTest(t)
	fresh := mustIngest(t, s, []model.Message{msg("r", 1, "me")})
	if fresh[0].Own || fresh[0].Status != "" {
		t.Errorf("message with no account = %+v; want not own", fresh[0])
	}
}
