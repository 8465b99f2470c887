package net

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffSequence(t *testing.T) {
	base := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	r := rand.New(rand.NewPCG(1, 2))
	for i, b := range base {
		b *= time.Second
		d := Backoff(i, r.Float64())
		if d < b || d > b+b*3/10 {
			t.Errorf("attempt %d: %v, want %v plus 0–30 %%", i, d, b)
		}
	}
	if got := Backoff(0, 0); got != time.Second {
		t.Errorf("no jitter: %v", got)
	}
	if got := Backoff(5, 0.5); got != 30*time.Second+4500*time.Millisecond {
		t.Errorf("capped with 15 %%: %v", got)
	}
	if got := Backoff(1000, 1.5); got > 39*time.Second {
		t.Errorf("huge attempt and bad random: %v", got)
	}
}
