package server

import (
	"fmt"
	"testing"
	"time"
)

// TestSendLimiterEdges: the closeAfter-th refusal closes, also when that is the first;
// the budget refills over the minute.
func TestSendLimiterEdges(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	if l := newSendLimiter(10, 20, 1); !l.refuse("u", now) {
		t.Fatalf("RefusedLimit 1: the first refusal did not close")
	}
	l := newSendLimiter(10, 20, 3)
	for i, want := range []bool{false, false, true} {
		if got := l.refuse("u", now); got != want {
			t.Fatalf("RefusedLimit 3: refusal %d closes %v, want %v", i+1, got, want)
		}
	}
	// Spent, the budget is held empty for a minute: every refusal in it closes, even
	// after the 20 s in which the bucket would have refilled a token.
	for _, d := range []time.Duration{time.Second, 30 * time.Second, 50 * time.Second} {
		if !l.refuse("u", now.Add(d)) {
			t.Fatalf("a refusal %v later did not close", d)
		}
	}
	if l.refuse("u", now.Add(2*time.Minute)) {
		t.Fatalf("a refusal two minutes later closed")
	}
	for i := range 20 {
		if !l.allow("v", now) {
			t.Fatalf("burst message %d refused", i)
		}
	}
	if l.allow("v", now) || !l.allow("v", now.Add(100*time.Millisecond)) {
		t.Fatalf("the 21st message at once, or one 100 ms later at 10 a second")
	}
}

// BenchmarkSendLimiterAllow is the per-message cost of the send limit, over 10,000
// users.
func BenchmarkSendLimiterAllow(b *testing.B) {
	l := newSendLimiter(1e6, 1e6, 200)
	users := make([]string, 10000)
	for i := range users {
		users[i] = fmt.Sprint("user", i)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		l.allow(users[i%len(users)], now.Add(time.Duration(i)))
	}
}
