package net

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// tokenBucket is a rate limiter (golang.org/x/time/rate) on the engine's Clock: rate
// tokens a second, at most burst held. Wait blocks until a token is free: a burst
// waits, it is never dropped.
type tokenBucket struct {
	clock Clock
	lim   *rate.Limiter
}

func newTokenBucket(c Clock, perSecond float64, burst int) *tokenBucket {
	return &tokenBucket{clock: c, lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
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
