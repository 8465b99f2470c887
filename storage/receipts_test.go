package storage

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parleychat/parley/model"
)

func TestApplyReceipt(t *testing.T) {
	s := openTest(t)
	signIn(t, s)
	// seqs 1..6: odd ones are ours, even ones bob's.
	var batch []model.Message
	for seq := int64(1); seq <= 6; seq++ {
		sender := "bob"
		if seq%2 == 1 {
			sender = "me"
		}
		batch = append(batch, msg("r", seq, sender))
	}
	mustIngest(t, s, batch)
	pending := mustEnqueue(t, s, "r", "pending")

	changed, err := s.ApplyReceipt("r", "bob", 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs(changed)) != "[1 3]" || changed[0].Status != model.StatusRead || changed[1].Status != model.StatusDelivered {
		t.Fatalf("ApplyReceipt(3, 1) changed %+v; want 1 read, 3 delivered", changed)
	}
	status := func(seq int64) model.Status { return mustGet(t, s, "r", msg("r", seq, "").ID).Status }
	if status(1) != model.StatusRead || status(3) != model.StatusDelivered || status(5) != model.StatusSent {
		t.Errorf("statuses = %s %s %s; want read delivered sent", status(1), status(3), status(5))
	}
	if status(2) != "" || status(4) != "" {
		t.Errorf("bob's messages took a status: %q %q", status(2), status(4))
	}
	if got := mustGet(t, s, pending.RoomID, pending.ID); got.Status != model.StatusSending {
		t.Errorf("pending message moved to %s", got.Status)
	}

	// Read then an older delivered: stays read, nothing changes.
	changed, err = s.ApplyReceipt("r", "bob", 1, 0)
	if err != nil || len(changed) != 0 {
		t.Errorf("older receipt changed %v, %v; want nothing", seqs(changed), err)
	}
	if status(1) != model.StatusRead || status(3) != model.StatusDelivered {
		t.Errorf("after an older receipt: %s %s; want read delivered", status(1), status(3))
	}
	// A read mark counts as delivered too.
	changed, _ = s.ApplyReceipt("r", "alice", 0, 5)
	if fmt.Sprint(seqs(changed)) != "[3 5]" || changed[0].Status != model.StatusRead || changed[1].Status != model.StatusRead {
		t.Errorf("alice's read 5 changed %+v; want 3 and 5 read", changed)
	}
	var stored receiptRow
	s.db.Where("room_id = ? AND user_id = ?", "r", "alice").Take(&stored)
	if stored.DeliveredSeq != 5 || stored.ReadSeq != 5 {
		t.Errorf("stored receipt = %+v; want delivered 5, read 5", stored)
	}
	var bobs receiptRow
	s.db.Where("room_id = ? AND user_id = ?", "r", "bob").Take(&bobs)
	if bobs.DeliveredSeq != 3 || bobs.ReadSeq != 1 {
		t.Errorf("bob's receipt = %+v; want delivered 3, read 1 (forward only)", bobs)
	}
	// Our own receipt (another device of ours) moves nothing.
	mustIngest(t, s, []model.Message{msg("r", 7, "me")})
	if changed, err := s.ApplyReceipt("r", "me", 7, 7); err != nil || len(changed) != 0 {
		t.Errorf("own receipt changed %v, %v; want nothing", seqs(changed), err)
	}
	if status(7) != model.StatusSent {
		t.Errorf("own receipt moved seq 7 to %s", status(7))
	}
	if _, err := s.ApplyReceipt("", "bob", 1, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("receipt without room = %v; want ErrInvalid", err)
	}
}

func TestReceiptUsesThePartialIndex(t *testing.T) {
	s := openTest(t)
	var plan []struct {
		Detail string `gorm:"column:detail"`
	}
	err := s.db.Raw(`EXPLAIN QUERY PLAN SELECT * FROM messages
		WHERE room_id = 'r' AND status IN ('sent', 'delivered') AND seq > 0 AND seq <= 9 ORDER BY seq`).Scan(&plan).Error
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range plan {
		found = found || strings.Contains(p.Detail, "idx_messages_unconfirmed")
	}
	if !found {
		t.Errorf("query plan = %+v; want idx_messages_unconfirmed", plan)
	}
}
