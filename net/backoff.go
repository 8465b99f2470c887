package net

import "time"

// Reconnect timing of the engine.
const (
	BackoffBase     = time.Second      // the first wait after a failure
	BackoffMax      = 30 * time.Second // the cap of the doubling
	BackoffJitter   = 0.30             // up to 30 % more, at random
	GoingAwayJitter = 2 * time.Second  // after close 1001: a random 0–2 s
)

// Backoff returns the wait before reconnect attempt number attempt (0 for the first
// retry after a failure): BackoffBase doubled attempt times, capped at BackoffMax, plus
// a random 0–30 % of it. r is a number in [0, 1), e.g. rand.Float64().
func Backoff(attempt int, r float64) time.Duration {
	d := BackoffBase
	for i := 0; i < attempt && d < BackoffMax; i++ {
		d *= 2
	}
	d = min(d, BackoffMax)
	return d + time.Duration(float64(d)*BackoffJitter*clamp01(r))
}

func clamp01(r float64) float64 {
	if r < 0 || r != r {
		return 0
	}
	if r >= 1 {
		return 0.999999
	}
	return r
}
