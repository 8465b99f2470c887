package net

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// tokenBucket is a rate limiter (golang.org/x/time/rate) on the engine's Clock: rate
// tokens a second, at most burst held. Wait blocks until a token is free: a burst
// waits, it is never dropped.
//
// It also adapts to a server that is stricter than the configured rate: slowDown (a
// `rate_limited` refusal) halves the rate, down to minRate, allows no burst and makes
// the next send wait a full interval; speedUp (an ack) gives a step of the configured
// rate back, and the burst with the last step. That is additive increase,
// multiplicative decrease: the pace settles just under the server's rate, so that
// refusals stay rare (the server closes a connection after 200 a minute).
type tokenBucket struct {
	clock    Clock
	lim      *rate.Limiter
	maxRate  float64 // the configured rate
	minRate  float64
	maxBurst int

	mu   sync.Mutex
	rate float64 // the rate in force; under mu
}

// speedUpSteps is how many acks take a slowed bucket from minRate back to the
// configured rate at most.
const speedUpSteps = 20

func newTokenBucket(c Clock, perSecond float64, burst int, minRate float64) *tokenBucket {
	return &tokenBucket{clock: c, lim: rate.NewLimiter(rate.Limit(perSecond), burst),
		maxRate: perSecond, minRate: min(minRate, perSecond), maxBurst: burst, rate: perSecond}
}

// take takes a token and answers how long to wait, from now, before using it.
func (b *tokenBucket) take() (*rate.Reservation, time.Duration) {
	now := b.clock.Now()
	r := b.lim.ReserveN(now, 1)
	return r, r.DelayFrom(now)
}

// reserve takes a token and returns how long to wait before using it.
func (b *tokenBucket) reserve() time.Duration {
	_, d := b.take()
	return d
}

// Wait takes a token, waiting for one if needed; a wait that ctx ends gives the token
// back.
func (b *tokenBucket) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r, d := b.take()
	if d <= 0 {
		return nil
	}
	t := b.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		r.CancelAt(b.clock.Now())
		return ctx.Err()
	}
}

// slowDown answers a refusal for sending too fast: half the rate (at least minRate),
// no burst, and the next token a full interval away.
func (b *tokenBucket) slowDown() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	b.rate = max(b.minRate, b.rate/2)
	b.lim.SetLimitAt(now, rate.Limit(b.rate))
	b.lim.SetBurstAt(now, 1)
	if b.lim.TokensAt(now) > 0 {
		// Spend what is held (the new burst allows at most one token), so that the
		// next send waits about a full interval at the new rate.
		b.lim.ReserveN(now, 1)
	}
}

// speedUp answers an accepted message: a step of the rate back; the burst comes back
// once the configured rate is reached.
func (b *tokenBucket) speedUp() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate >= b.maxRate {
		return
	}
	now := b.clock.Now()
	b.rate = min(b.maxRate, b.rate+b.maxRate/speedUpSteps)
	b.lim.SetLimitAt(now, rate.Limit(b.rate))
	if b.rate >= b.maxRate {
		b.lim.SetBurstAt(now, b.maxBurst)
	}
}

// slowed reports whether the bucket runs below the configured rate.
func (b *tokenBucket) slowed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate < b.maxRate
}
