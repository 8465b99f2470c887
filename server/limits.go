package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyedLimiter is a token bucket (golang.org/x/time/rate) per key: burst events at
// once, refilled at limit a second. A bucket that has refilled is the same as a new
// one, so sweep drops it: the map holds only the keys that spent something lately,
// whatever the number of keys ever seen. It takes explicit times, so a fake clock
// drives it.
type keyedLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// newKeyedLimiter allows n events per per of each key, all n at once at most.
func newKeyedLimiter(n int, per time.Duration) *keyedLimiter {
	return &keyedLimiter{limit: rate.Limit(float64(n) / per.Seconds()), burst: n, buckets: make(map[string]*rate.Limiter)}
}

// newRateLimiter allows perSecond events a second of each key, burst at once.
func newRateLimiter(perSecond float64, burst int) *keyedLimiter {
	return &keyedLimiter{limit: rate.Limit(perSecond), burst: burst, buckets: make(map[string]*rate.Limiter)}
}

// sweepEvery bounds how often sweep walks the map, whatever the refill time: a walk
// costs one pass over the keys that spent something in the last refill time.
const sweepEvery = time.Minute

// bucketLocked answers key's bucket, making it when create is set (nil otherwise when
// there is none); the caller holds mu.
func (l *keyedLimiter) bucketLocked(key string, create bool) *rate.Limiter {
	b := l.buckets[key]
	if b == nil && create {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	return b
}

// sweepLocked drops the buckets that are full again, at most once per sweepEvery or
// refill time, whichever is shorter; the caller holds mu.
func (l *keyedLimiter) sweepLocked(now time.Time) {
	every := sweepEvery
	if l.limit > 0 {
		every = min(every, time.Duration(float64(l.burst)/float64(l.limit)*float64(time.Second)))
	}
	every = max(every, time.Second)
	if now.Sub(l.lastSweep) < every {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

// allow takes a token of every key, all or none: it answers false, taking nothing,
// when one of them has none left.
func (l *keyedLimiter) allow(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	if len(keys) == 1 { // the send path: one user
		return l.bucketLocked(keys[0], true).AllowN(now, 1)
	}
	for _, k := range keys {
		if l.tokensLocked(k, now) < 1 {
			return false
		}
	}
	for _, k := range keys {
		l.bucketLocked(k, true).AllowN(now, 1)
	}
	return true
}

// tokensLocked answers the tokens key has at now (a key without a bucket has a full
// one); the caller holds mu.
func (l *keyedLimiter) tokensLocked(key string, now time.Time) float64 {
	if b := l.bucketLocked(key, false); b != nil {
		return b.TokensAt(now)
	}
	return float64(l.burst)
}

// spend takes a token of every key that has one, and answers whether all had one.
func (l *keyedLimiter) spend(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	ok := true
	for _, k := range keys {
		if !l.bucketLocked(k, true).AllowN(now, 1) {
			ok = false
		}
	}
	return ok
}

// hold empties key's bucket for a whole refill time (burst/limit) from now, unless it
// is held already: what a spent budget means for a flooder.
func (l *keyedLimiter) hold(now time.Time, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, true)
	if l.burst > 0 && b.TokensAt(now) >= 0 {
		b.ReserveN(now, l.burst) // tokens go below zero: a debt repaid at the rate
	}
}

// exhausted reports whether one of keys has no token left, taking none.
func (l *keyedLimiter) exhausted(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if l.tokensLocked(k, now) < 1 {
			return true
		}
	}
	return false
}

// len answers how many keys have a bucket (for tests).
func (l *keyedLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// sendLimiter is the per-user message rate limit, shared by the user's connections,
// with a budget of refusals per minute (also shared: a flooder that reconnects finds
// its budget where it left it).
type sendLimiter struct {
	sends   *keyedLimiter
	refused *keyedLimiter
}

// newSendLimiter allows perSecond messages a second per user, burst at once; the
// closeAfter-th refusal within a minute closes (see refuse).
func newSendLimiter(perSecond float64, burst, closeAfter int) *sendLimiter {
	return &sendLimiter{sends: newRateLimiter(perSecond, burst), refused: newKeyedLimiter(closeAfter-1, time.Minute)}
}

// allow takes a message token of userID.
func (l *sendLimiter) allow(userID string, now time.Time) bool {
	return l.sends.allow(now, userID)
}

// refuse records a refused message of userID and answers whether it closes the
// connection: the user's budget of closeAfter-1 refusals (refilled over a minute) is
// spent. The budget is then held empty for a minute, so a flooder that reconnects is
// closed again at its first refusal until the minute has passed.
func (l *sendLimiter) refuse(userID string, now time.Time) bool {
	if l.refused.allow(now, userID) {
		return false
	}
	l.refused.hold(now, userID)
	return true
}

// failureLimiter counts failed attempts per key, limit a window.
type failureLimiter struct {
	fails *keyedLimiter
	now   func() time.Time
}

func newFailureLimiter(limit int, window time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{fails: newKeyedLimiter(limit, window), now: now}
}

// blocked reports whether any of keys has used up its failures.
func (l *failureLimiter) blocked(keys ...string) bool {
	return l.fails.exhausted(l.now(), keys...)
}

// fail records a failure for every key.
func (l *failureLimiter) fail(keys ...string) {
	l.fails.spend(l.now(), keys...)
}
