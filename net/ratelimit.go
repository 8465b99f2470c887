package net

import (
	"context"
	"sync"
	"time"
)

// tokenBucket is a rate limiter: rate tokens a second, at most burst held. Wait blocks
// until a token is free: a burst waits, it is never dropped.
type tokenBucket struct {
	clock Clock
	rate  float64
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newTokenBucket(c Clock, rate float64, burst int) *tokenBucket {
	return &tokenBucket{clock: c, rate: rate, burst: float64(burst), tokens: float64(burst), last: c.Now()}
}

// reserve takes a token and returns how long to wait before using it.
func (b *tokenBucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+el.Seconds()*b.rate)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// Wait takes a token, waiting for one if needed.
func (b *tokenBucket) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := b.reserve()
	if d <= 0 {
		return nil
	}
	t := b.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.tokens = min(b.burst, b.tokens+1) // give the unused token back
		b.mu.Unlock()
		return ctx.Err()
	}
}
