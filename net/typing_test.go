package net

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder notes what the typing code sends, with the fake time.
type recorder struct {
	clock *fakeClock
	mu    sync.Mutex
	got   []string
}

func (r *recorder) send(typ, room string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%s %s %s", r.clock.now.Format("05.000"), typ, room))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func TestTypingOutTimeline(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{clock: clk}
	out := newTypingOut(clk, rec.send)

	// A key every 500 ms for 4 s: typing at 0 and at 3 s, then stop 2 s after the last key.
	for i := range 9 {
		if i > 0 {
			clk.Advance(500 * time.Millisecond)
		}
		out.keystroke("r1")
	}
	clk.Advance(1999 * time.Millisecond)
	if got := rec.take(); !slices.Equal(got, []string{"00.000 typing r1", "03.000 typing r1"}) {
		t.Fatalf("while typing: %q", got)
	}
	clk.Advance(time.Millisecond)
	if got := rec.take(); !slices.Equal(got, []string{"06.000 stop_typing r1"}) {
		t.Fatalf("after the pause: %q", got)
	}
	clk.Advance(10 * time.Second)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("idle: %q", got)
	}

	// Typing again starts afresh; sending the message stops at once, and the idle timer
	// of the old burst sends nothing more.
	out.keystroke("r1")
	out.keystroke("r2")
	clk.Advance(time.Second)
	out.stop("r1")
	out.stop("r1")
	clk.Advance(5 * time.Second)
	want := []string{"16.000 typing r1", "16.000 typing r2", "17.000 stop_typing r1", "18.000 stop_typing r2"}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("second burst: %q, want %q", got, want)
	}
}

func TestTypingInExpiry(t *testing.T) {
	clk := newFakeClock()
	var mu sync.Mutex
	var changes []string
	in := newTypingIn(clk, func(room string, who []Typist) {
		mu.Lock()
		defer mu.Unlock()
		s := fmt.Sprintf("%s %s:", clk.now.Format("05"), room)
		for _, w := range who {
			s += " " + w.DisplayName
		}
		changes = append(changes, s)
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := changes
		changes = nil
		return out
	}

	in.start("r", "u1", "Ada")
	clk.Advance(2 * time.Second)
	in.start("r", "u2", "Bob")
	clk.Advance(3 * time.Second)
	in.start("r", "u1", "Ada") // refresh at 5 s: Ada now lasts until 11 s
	if got := take(); !slices.Equal(got, []string{"00 r: Ada", "02 r: Ada Bob"}) {
		t.Fatalf("starts: %q", got)
	}
	clk.Advance(3 * time.Second) // 8 s: Bob (2 s + 6 s) expires
	if got := take(); !slices.Equal(got, []string{"08 r: Ada"}) {
		t.Fatalf("Bob's expiry: %q", got)
	}
	clk.Advance(2 * time.Second) // 10 s: Ada still there
	if got := take(); len(got) != 0 {
		t.Fatalf("before Ada's expiry: %q", got)
	}
	clk.Advance(time.Second) // 11 s
	if got := take(); !slices.Equal(got, []string{"11 r:"}) {
		t.Fatalf("Ada's expiry: %q", got)
	}

	in.start("r", "u3", "Cy")
	in.stop("r", "u3")
	in.stop("r", "u3")
	clk.Advance(10 * time.Second)
	if got := take(); !slices.Equal(got, []string{"11 r: Cy", "11 r:"}) {
		t.Fatalf("stop_typing: %q", got)
	}

	in.start("a", "u1", "Ada")
	in.start("b", "u1", "Ada")
	take()
	in.clear()
	got := take()
	slices.Sort(got)
	if !slices.Equal(got, []string{"21 a:", "21 b:"}) {
		t.Fatalf("clear: %q", got)
	}
}
