package net

import (
	"context"
	"testing"
	"time"
)

// TestTokenBucket: a burst of 10 goes at once, the rest wait their turn (never dropped),
// 100 ms apart at 10 a second.
func TestTokenBucket(t *testing.T) {
	clk := newFakeClock()
	b := newTokenBucket(clk, 10, 10, 0.5)
	start := clk.Now()
	for i := range 10 {
		if d := b.reserve(); d != 0 {
			t.Fatalf("burst token %d waits %v", i, d)
		}
	}
	got := make(chan time.Time, 3)
	go func() {
		for range 3 {
			if err := b.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			got <- clk.Now()
		}
	}()
	for i := 1; i <= 3; i++ {
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		clk.waitTimer(t, at)
		clk.Advance(at.Sub(clk.Now()))
		if when := <-got; !when.Equal(at) {
			t.Fatalf("message %d left at %v, want %v", 10+i, when.Sub(start), at.Sub(start))
		}
	}

	// A cancelled wait gives its token back.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); err == nil {
		t.Fatalf("cancelled wait: no error")
	}
	clk.Advance(time.Second)
	for i := range 10 {
		if d := b.reserve(); d != 0 {
			t.Fatalf("refilled token %d waits %v", i, d)
		}
	}
}

// TestTokenBucketSlowsDownAndRecovers: each refusal halves the rate (down to the
// floor) and allows no burst, the next token a full interval away; acks give the rate
// back a twentieth at a time, and the burst with the last step.
func TestTokenBucketSlowsDownAndRecovers(t *testing.T) {
	clk := newFakeClock()
	b := newTokenBucket(clk, 10, 10, 0.5)
	b.slowDown()
	if d := b.reserve(); d != 200*time.Millisecond {
		t.Fatalf("after one refusal the next token waits %v, want 200ms (5 a second)", d)
	}
	for range 10 {
		b.slowDown()
	}
	clk.Advance(time.Minute) // a long idle time earns one token only: no burst
	if d := b.reserve(); d != 0 {
		t.Fatalf("first token after idling waits %v", d)
	}
	if d := b.reserve(); d != 2*time.Second {
		t.Fatalf("at the floor the next token waits %v, want 2s", d)
	}
	if !b.slowed() {
		t.Fatalf("not slowed")
	}
	for range speedUpSteps {
		b.speedUp()
	}
	if b.slowed() {
		t.Fatalf("still slowed after %d acks", speedUpSteps)
	}
	clk.Advance(time.Minute)
	for i := range 10 {
		if d := b.reserve(); d != 0 {
			t.Fatalf("burst token %d after recovering waits %v", i, d)
		}
	}
}
