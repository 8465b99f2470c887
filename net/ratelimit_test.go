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
