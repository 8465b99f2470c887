package storage

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
)

func TestEnqueue(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	s.now = func() time.Time { return baseTime.Add(1500 * time.Microsecond) }
	m, err := s.Enqueue(model.Message{RoomID: "r", Content: "hi", Seq: 99})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if !model.ValidMessageID(m.ID) || m.Seq != 0 || m.Status != model.StatusSending || !m.Own ||
		m.SenderID != "me" || m.SenderName != "Me" || !m.Timestamp.Equal(baseTime.Add(time.Millisecond)) || !m.Pending() {
		t.Errorf("Enqueue = %+v; want a fresh id, no seq, sending, own, the account as sender, the local time", m)
	}
	if got := mustGet(t, s, m.RoomID, m.ID); got.Content != "hi" || got.Status != model.StatusSending || got.LocalOrder != m.LocalOrder {
		t.Errorf("Get = %+v; want what Enqueue returned", got)
	}
	if _, ok, _ := s.Room("r"); !ok {
		t.Errorf("Enqueue into an unknown room did not add the room")
	}
	given := model.NewMessageID()
	m2, err := s.Enqueue(model.Message{ID: given, RoomID: "r", Content: "again"})
	if err != nil || m2.ID != given {
		t.Fatalf("Enqueue with an id = %v, %v; want the id kept", m2.ID, err)
	}
	if _, err := s.Enqueue(model.Message{ID: given, RoomID: "r", Content: "dup"}); !errors.Is(err, ErrExists) {
		t.Errorf("Enqueue of a held id = %v; want ErrExists", err)
	}
	if _, err := s.Enqueue(model.Message{Content: "nowhere"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Enqueue without a room = %v; want ErrInvalid", err)
	}
	if n, _ := s.OutboxLen(); n != 2 {
		t.Errorf("OutboxLen = %d; want 2", n)
	}
	if m2.LocalOrder <= m.LocalOrder {
		t.Errorf("LocalOrder %d then %d; want increasing", m.LocalOrder, m2.LocalOrder)
	}
}

func TestEnqueueIsAtomic(t *testing.T) {
	s := openTest(t)
	// Make the outbox insert fail: the message must not be stored either.
	if err := s.db.Exec(`CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk says no'); END`).Error; err != nil {
		t.Fatal(err)
	}
	id := model.NewMessageID()
	if _, err := s.Enqueue(model.Message{ID: id, RoomID: "r", Content: "lost?"}); err == nil {
		t.Fatal("Enqueue succeeded though the outbox insert failed")
	}
	if _, ok, _ := s.Get("r", id); ok {
		t.Errorf("the message is stored though its outbox row is not")
	}
	if n, _ := s.CountMessages("r"); n != 0 {
		t.Errorf("CountMessages = %d; want 0", n)
	}
}

func TestOutboxOrderSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, s)
	var want []string
	for i := range 6 {
		m := mustEnqueue(t, s, fmt.Sprintf("room%d", i%2), fmt.Sprintf("m%d", i))
		want = append(want, m.ID)
	}
	// One fails and is retried: it goes to the end.
	if _, moved, err := s.MarkFailed(want[1], "oops"); !moved || err != nil {
		t.Fatalf("MarkFailed = %v, %v", moved, err)
	}
	if _, err := s.Retry(want[1]); err != nil {
		t.Fatal(err)
	}
	want = append(append(want[:1:1], want[2:]...), want[1])
	before, err := outboxMessages(s)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(before)) != fmt.Sprint(want) {
		t.Fatalf("Outbox = %v; want %v", ids(before), want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, err := outboxMessages(s)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(after)) != fmt.Sprint(want) {
		t.Errorf("Outbox after reopen = %v; want %v", ids(after), want)
	}
	for i := range after {
		if after[i].Content != before[i].Content || after[i].Status != model.StatusSending || after[i].RoomID != before[i].RoomID {
			t.Errorf("outbox[%d] after reopen = %+v; want %+v", i, after[i], before[i])
		}
	}
	if n, _ := s.OutboxLen(); n != 6 {
		t.Errorf("OutboxLen after reopen = %d; want 6", n)
	}
}

func TestApplyAcks(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	mustIngest(t, s, msgs("r", 1, 4, "bob"))
	a := mustEnqueue(t, s, "r", "a")
	b := mustEnqueue(t, s, "r", "b")
	c := mustEnqueue(t, s, "r", "c")
	// A receipt already covering seq 6 (it raced ahead of the ack).
	if _, err := s.ApplyReceipt("r", "bob", 6, 0); err != nil {
		t.Fatal(err)
	}
	ts := baseTime.Add(time.Hour)
	acked, err := s.ApplyAcks([]Ack{
		{ID: a.ID, RoomID: "r", Seq: 5, Timestamp: ts},
		{ID: b.ID, RoomID: "r", Seq: 7, Timestamp: ts.Add(time.Second)},
		{ID: "unknown", RoomID: "r", Seq: 8},
		{ID: c.ID, RoomID: "r", Seq: 0}, // malformed: ignored
	})
	if err != nil {
		t.Fatalf("ApplyAcks: %v", err)
	}
	if changed := acked.Messages; fmt.Sprint(ids(changed)) != fmt.Sprint([]string{a.ID, b.ID}) {
		t.Fatalf("ApplyAcks changed %v; want a and b", ids(changed))
	}
	ga, gb := mustGet(t, s, a.RoomID, a.ID), mustGet(t, s, b.RoomID, b.ID)
	if ga.Seq != 5 || !ga.Timestamp.Equal(ts) || ga.Status != model.StatusDelivered {
		t.Errorf("a = %+v; want seq 5, the server's time, delivered (the receipt covers it)", ga)
	}
	if gb.Seq != 7 || gb.Status != model.StatusSent {
		t.Errorf("b = %+v; want seq 7, sent", gb)
	}
	out, _ := outboxMessages(s)
	if fmt.Sprint(ids(out)) != fmt.Sprint([]string{c.ID}) {
		t.Errorf("Outbox = %v; want only c", ids(out))
	}
	if r, _, _ := s.Room("r"); r.LastSeq != 7 {
		t.Errorf("LastSeq = %d; want 7", r.LastSeq)
	}
	// The same ack again changes nothing.
	again, err := s.ApplyAcks([]Ack{{ID: a.ID, RoomID: "r", Seq: 5, Timestamp: ts}})
	if err != nil || len(again.Messages)+len(again.Changed) != 0 {
		t.Errorf("repeated ack = %v, %v; want nothing changed", ids(again.Messages), err)
	}
	if none, err := s.ApplyAcks(nil); none.Messages != nil || none.Changed != nil || err != nil {
		t.Errorf("ApplyAcks(nil) = %v, %v", none, err)
	}
	// An ack for a failed message (the error and the ack crossed) still counts.
	if _, moved, _ := s.MarkFailed(c.ID, "timeout"); !moved {
		t.Fatal("MarkFailed did not move")
	}
	acked, err = s.ApplyAcks([]Ack{{ID: c.ID, RoomID: "r", Seq: 8, Timestamp: ts}})
	if changed := acked.Messages; err != nil || len(changed) != 1 || changed[0].Status != model.StatusSent || changed[0].Error != "" {
		t.Errorf("ack of a failed message = %+v, %v; want sent, error cleared", changed, err)
	}
}

func TestMarkFailedAndRetry(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	m := mustEnqueue(t, s, "r", "x")
	failed, moved, err := s.MarkFailed(m.ID, "rate_limited")
	if !moved || err != nil || failed.Status != model.StatusFailed || failed.Error != "rate_limited" {
		t.Fatalf("MarkFailed = %+v, %v, %v", failed, moved, err)
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("OutboxLen after MarkFailed = %d; want 0", n)
	}
	if _, moved, err := s.MarkFailed(m.ID, "again"); moved || err != nil {
		t.Errorf("MarkFailed of a failed message = %v, %v; want false", moved, err)
	}
	if got := mustGet(t, s, m.RoomID, m.ID); got.Error != "rate_limited" {
		t.Errorf("error text = %q; want the first", got.Error)
	}
	if _, moved, err := s.MarkFailed("unknown", "x"); moved || err != nil {
		t.Errorf("MarkFailed of an unknown id = %v, %v; want false, nil", moved, err)
	}

	retried, err := s.Retry(m.ID)
	if err != nil || retried.Status != model.StatusSending || retried.Error != "" || retried.ID != m.ID || retried.LocalOrder <= m.LocalOrder {
		t.Fatalf("Retry = %+v, %v; want sending, same id, a later LocalOrder", retried, err)
	}
	if n, _ := s.OutboxLen(); n != 1 {
		t.Errorf("OutboxLen after Retry = %d; want 1", n)
	}
	if again, err := s.Retry(m.ID); err != nil || again.Status != model.StatusSending {
		t.Errorf("Retry of a sending message = %+v, %v; want it as is", again, err)
	}
	if n, _ := s.OutboxLen(); n != 1 {
		t.Errorf("OutboxLen after a second Retry = %d; want still 1", n)
	}
	if _, err := s.Retry("unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Retry of an unknown id = %v; want ErrNotFound", err)
	}

	if _, err := s.ApplyAcks([]Ack{{ID: m.ID, RoomID: "r", Seq: 1, Timestamp: baseTime}}); err != nil {
		t.Fatal(err)
	}
	if _, moved, _ := s.MarkFailed(m.ID, "late error"); moved {
		t.Errorf("MarkFailed moved a sent message")
	}
	if _, err := s.Retry(m.ID); !errors.Is(err, ErrStatus) {
		t.Errorf("Retry of a sent message = %v; want ErrStatus", err)
	}
	// Others' messages have no status to fail.
	mustIngest(t, s, []model.Message{msg("r", 2, "bob")})
	if _, moved, _ := s.MarkFailed(msg("r", 2, "bob").ID, "x"); moved {
		t.Errorf("MarkFailed moved another user's message")
	}
}
