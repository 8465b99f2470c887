package net

import (
	"context"
	"sync"
	"time"
)

// tokenBucket is a rate limiter: rate tokens a second, at most burst held. Wait blocks
// until a token is free: a burst waits, it is never dropped.
//
// It also adapts to a server that is stricter than the configured rate: slowDown (a
// `rate_limited` refusal) halves the rate, down to minRate, allows no burst and makes
// the next send wait a full interval; speedUp (an ack) gives a step of the configured
// rate back, and the burst with the last step. That is additive increase,
// multiplicative decrease: the pace settles just under the server's rate, so that
// refusals stay rare (the server closes a connection after 200 a minute).
type tokenBucket struct {
	clock    Clock
	maxRate  float64 // the configured rate
	minRate  float64
	maxBurst float64

	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// speedUpSteps is how many acks take a slowed bucket from minRate back to the
// configured rate at most.
const speedUpSteps = 20

func newTokenBucket(c Clock, rate float64, burst int, minRate float64) *tokenBucket {
	minRate = min(minRate, rate)
	return &tokenBucket{clock: c, maxRate: rate, minRate: minRate, maxBurst: float64(burst),
		rate: rate, burst: float64(burst), tokens: float64(burst), last: c.Now()}
}

// refillLocked adds the tokens earned since last; the caller holds mu.
func (b *tokenBucket) refillLocked() {
	now := b.clock.Now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+el.Seconds()*b.rate)
	}
	b.last = now
}

// reserve takes a token and returns how long to wait before using it.
func (b *tokenBucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
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

// slowDown answers a refusal for sending too fast: half the rate (at least minRate),
// no burst, and the next token a full interval away.
func (b *tokenBucket) slowDown() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	b.rate = max(b.minRate, b.rate/2)
	b.burst = 1
	b.tokens = min(b.tokens, 0)
}

// speedUp answers an accepted message: a step of the rate back; the burst comes back
// once the configured rate is reached.
func (b *tokenBucket) speedUp() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate >= b.maxRate {
		return
	}
	b.refillLocked()
	b.rate = min(b.maxRate, b.rate+b.maxRate/speedUpSteps)
	if b.rate >= b.maxRate {
		b.burst = b.maxBurst
	}
}

// slowed reports whether the bucket runs below the configured rate.
func (b *tokenBucket) slowed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate < b.maxRate
}
