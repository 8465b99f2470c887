package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// trimThreshold is how much free heap the process keeps from the operating system
// before trimMemory hands it back.
const trimThreshold = 32 << 20

// heapFree is the runtime's "free and not yet returned" heap.
const heapFree = "/memory/classes/heap/free:bytes"

// trimMemory hands the heap's free pages back to the operating system every so
// often when they add up to trimThreshold. A burst (a reconnect storm: thousands of
// connects, each announced to everyone online) leaves the heap far bigger than what
// the connections then hold, and the runtime gives the difference back only slowly:
// on a server holding 10,000 idle connections that was a third of its RSS. A trim
// costs one garbage collection (a few milliseconds of CPU for a heap of a few hundred
// MiB), and happens only when there is something to give back.
func trimMemory(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if free, trimmed := trimOnce(trimThreshold); trimmed {
			log.Debug("returned free memory to the system", "free_mib", free>>20)
		}
	}
}

// trimOnce returns the free heap to the system when it is at least threshold bytes,
// and answers how much was free and whether it trimmed.
func trimOnce(threshold uint64) (uint64, bool) {
	free, ok := heapFreeBytes()
	if !ok || free < threshold {
		return free, false
	}
	debug.FreeOSMemory()
	return free, true
}

// heapFreeBytes answers the runtime's free heap not yet returned to the system.
func heapFreeBytes() (uint64, bool) {
	s := []metrics.Sample{{Name: heapFree}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return s[0].Value.Uint64(), true
}
