package net

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/parleychat/parley/storage"
)

// TestBackoffThroughTheLoop runs the Client against a port where nothing listens, with
// a fake clock and a seeded random source: the waits are exactly 1, 2, 4, 8, 16, 30, 30 s
// plus the jitter the seed gives, and Nudge skips a wait.
func TestBackoffThroughTheLoop(t *testing.T) {
	dir := t.TempDir()
	store, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SaveAccount(storage.Account{ServerURL: "http://127.0.0.1:1", UserID: "u1", Username: "ada", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	clk := newFakeClock()
	src := rand.New(rand.NewPCG(7, 11))
	ref := rand.New(rand.NewPCG(7, 11))
	c := startClient(t, "", dir, func(cfg *Config) {
		cfg.Clock = clk
		cfg.Rand = src.Float64
		cfg.FrameInterval = -1
	})
	offline := func(n int) StateEvent {
		var st StateEvent
		c.waitUntil("offline state", func() bool {
			k := 0
			for _, s := range c.states {
				if s.State == StateOffline {
					k++
					if k == n {
						st = s
						return true
					}
				}
			}
			return false
		})
		return st
	}
	for i, base := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		base *= time.Second
		st := offline(i + 1)
		got := st.NextTry.Sub(clk.Now())
		want := Backoff(i, ref.Float64())
		if got != want || got < base || got > base+base*3/10 {
			t.Fatalf("wait %d: %v, want %v (base %v + 0–30 %%)", i, got, want, base)
		}
		if st.Err == nil {
			t.Fatalf("wait %d: no error", i)
		}
		clk.waitTimer(t, st.NextTry)
		clk.Advance(got)
	}
	// The 8th wait is armed; Nudge skips it without moving the clock.
	st := offline(8)
	clk.waitTimer(t, st.NextTry)
	before := clk.Now()
	c.Nudge()
	st = offline(9)
	if !clk.Now().Equal(before) {
		t.Fatalf("clock moved")
	}
	if got, want := st.NextTry.Sub(before), Backoff(8, func() float64 { ref.Float64(); return ref.Float64() }()); got != want {
		t.Fatalf("after nudge: %v, want %v", got, want)
	}
}
