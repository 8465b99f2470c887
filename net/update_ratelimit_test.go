package net

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
)

// TestRateLimitedUpdatesKeepOrder: messages, edits and reactions typed quickly into a
// server that takes one a second are resent after its rate_limited refusals in the
// order they were typed: the room's stream (seqs) holds them in that order, each once,
// none failed. Server and engine share a fake clock, as TestRateLimitedSendsKeepOrder.
func TestRateLimitedUpdatesKeepOrder(t *testing.T) {
	clk, srv, a, stopClock := rateLimitedAlice(t)
	room := a.generalRoom()
	first, err := a.Send(room, "message 0")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{first.ID}
	for i := 1; i < 10; i++ {
		<-clk.NewTimer(250 * time.Millisecond).C()
		var id string
		switch i % 4 {
		case 1:
			ch, err := a.React(room, first.ID, []string{"👍", "🎉"}[i%2], i < 8)
			if err != nil {
				t.Fatal(err)
			}
			id = ch.UpdateID
		case 3:
			ch, err := a.Edit(room, first.ID, fmt.Sprintf("message 0, edit %d", i))
			if err != nil {
				t.Fatal(err)
			}
			id = ch.UpdateID
		default:
			m, err := a.Send(room, fmt.Sprintf("message %d", i))
			if err != nil {
				t.Fatal(err)
			}
			id = m.ID
		}
		ids = append(ids, id)
	}
	flush(t, a)
	stopClock()
	if n := serverMetric(t, srv, "parley_rate_limited_total"); n == 0 {
		t.Fatalf("the server refused nothing: the test did not reach the rate limit")
	}
	if got := a.updateFailures(); len(got) != 0 {
		t.Fatalf("failed: %+v", got)
	}
	// The room's stream, as a sync replays it.
	c := srv.Dial(t, a.mustToken(t))
	c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: room, AfterSeq: 0})
	var got []string
	var seqs []int64
	for {
		f := c.Next(t)
		if f.Type == model.TypeSynced && f.RoomID == room {
			break
		}
		if (f.Type == model.TypeMessage || f.Type == model.TypeUpdate) && f.RoomID == room {
			got, seqs = append(got, f.ID), append(seqs, f.Seq)
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("the room's stream:\n%v (seqs %v)\nwant, as typed:\n%v", got, seqs, ids)
	}
	want := fmt.Sprint(seqs)
	if want != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Errorf("seqs %s; want 1..10, each once", want)
	}
}
