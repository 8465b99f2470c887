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
	if l.refuse("u", now) || l.refuse("u", now) || !l.refuse("u", now) {
		t.Fatalf("RefusedLimit 3: the third refusal must close, not the first two")
	}
	if !l.refuse("u", now.Add(time.Second)) {
		t.Fatalf("a refusal a second later: the budget is still spent")
	}
	if l.refuse("u", now.Add(time.Minute)) {
		t.Fatalf("a refusal a minute later closed")
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
