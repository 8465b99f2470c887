package ui

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// gateRun feeds the gate perFrame rows every frame (60 a second) for secs seconds of a
// fake clock, with a held update let through when due, as the bridge does; it returns
// every row let through, in order, and how many updates went through.
func gateRun(t *testing.T, perFrame int, secs int) ([]Row, int) {
	t.Helper()
	var g updateGate
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var out []Row
	applies, n := 0, 0
	let := func() {
		u := g.take(now)
		out = append(out, u.Rows...)
		applies++
	}
	frame := time.Second / 60
	for f := 0; f < 60*secs; f++ {
		now = now.Add(frame)
		if g.waiting() && !now.Before(g.due()) {
			let() // the bridge's timer
		}
		var u Update
		for i := 0; i < perFrame; i++ {
			n++
			u.Rows = append(u.Rows, Row{ID: fmt.Sprintf("m%06d", n), RoomID: "general", Seq: int64(n)})
		}
		u.Rooms = []RoomItem{{ID: "general", Preview: fmt.Sprint(n)}}
		if g.add(u, now) {
			let()
		}
	}
	now = now.Add(floodEvery)
	if g.waiting() {
		let()
	}
	for i, r := range out {
		if r.Seq != int64(i+1) {
			t.Fatalf("row %d is seq %d: rows lost, doubled or reordered", i, r.Seq)
		}
	}
	if len(out) != n {
		t.Fatalf("%d of %d rows let through", len(out), n)
	}
	return out, applies
}

// Issue 11, item 10: a flood of 300 messages a second was drawn 60 times a second, and
// Fyne keeps every drawn text's texture for a minute. During a flood the screens are
// updated once a second, with every row; a trickle goes through batch by batch.
func TestUpdateGateMergesAFlood(t *testing.T) {
	_, applies := gateRun(t, 5, 30) // 300 a second for 30 s: 9,000 rows
	if max := 30*int(time.Second/floodEvery) + floodRows/5 + 2; applies > max {
		t.Errorf("a 30 s flood went through in %d updates, want at most %d", applies, max)
	}
	_, applies = gateRun(t, 0, 2) // typing and presence only: nothing held
	if applies != 120 {
		t.Errorf("updates without rows: %d let through of 120", applies)
	}
}

func TestUpdateGateLetsATrickleThrough(t *testing.T) {
	var g updateGate
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 100; i++ {
		now = now.Add(100 * time.Millisecond) // 10 messages a second
		if !g.add(Update{Rows: []Row{{ID: fmt.Sprint(i)}}}, now) {
			t.Fatalf("message %d of a trickle held back", i)
		}
		g.take(now)
	}
}

func TestMergeUpdatesKeepsTheLatest(t *testing.T) {
	on, off := &ConnState{Phase: PhaseOnline}, &ConnState{Phase: PhaseOffline}
	a := Update{Rows: []Row{{ID: "1"}}, Conn: off, Typing: map[string][]Typist{"r": {{Name: "A"}}},
		Presence: map[string]bool{"u1": true}}
	b := Update{Rows: []Row{{ID: "1", Status: "sent"}}, Conn: on, Typing: map[string][]Typist{"r": nil},
		Presence: map[string]bool{"u2": false}, Reset: []string{"r"}}
	m := mergeUpdates(a, b)
	if len(m.Rows) != 2 || m.Rows[1].Status != "sent" || m.Conn != on || len(m.Typing["r"]) != 0 ||
		!m.Presence["u1"] || m.Presence["u2"] || len(m.Presence) != 2 || len(m.Reset) != 1 {
		t.Errorf("merged %+v", m)
	}
}

// The bridge lets a flood through in a few updates, every row in order, and gives the
// memory back once it is over.
func TestBridgeMergesAFloodAndTrimsAfter(t *testing.T) {
	var mu sync.Mutex
	var got []Row
	applies := 0
	trimmed := make(chan struct{}, 1)
	b := &bridge{eng: &clientEngine{}, tick: func() {},
		apply: func(u Update) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, u.Rows...)
			applies++
		},
		trim: func() { trimmed <- struct{}{} },
		ui:   func(f func()) { f() }} // in order, as fyne.Do does (the test driver's does not under -tags mobile)
	events := make(chan pnet.Batch)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx, events)
	}()
	defer func() { cancel(); <-done }()
	const batches, per = 300, 10
	start := time.Now()
	for i := 0; i < batches; i++ {
		var bt pnet.Batch
		for j := 1; j <= per; j++ {
			seq := int64(i*per + j)
			bt.Messages = append(bt.Messages, storage.Message{Message: model.Message{ID: fmt.Sprint(seq),
				RoomID: "general", Seq: seq, SenderID: "u-bob", Content: "x", Timestamp: model.NewTime(t0)}})
		}
		events <- bt
	}
	sent := time.Since(start)
	select {
	case <-trimmed:
	case <-time.After(trimAfter + 10*time.Second):
		t.Fatal("no trim after the flood")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != batches*per {
		t.Fatalf("%d of %d rows applied", len(got), batches*per)
	}
	for i, r := range got {
		if r.Seq != int64(i+1) {
			t.Fatalf("row %d is seq %d", i, r.Seq)
		}
	}
	// Batch by batch until 50 rows arrived within a second, then once a second.
	if max := floodRows/per + 2 + int(sent/floodEvery); applies > max {
		t.Errorf("%d batches sent in %v went through in %d updates, want at most %d", batches, sent, applies, max)
	}
}
