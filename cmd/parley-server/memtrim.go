package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const (
	// trimThreshold is how much free heap the process keeps from the operating
	// system, at any load, before trimMemory hands it back.
	trimThreshold = 32 << 20
	// quietAllocs: a period in which the server allocated less than this is quiet.
	quietAllocs = 64 << 20
	// quietTrim: in a quiet period, trimMemory collects and hands memory back when
	// this much or more could go (free heap plus what the period allocated).
	quietTrim = 4 << 20
)

// Runtime metrics the trimmer reads: the free heap not yet returned to the system,
// and the bytes allocated since the process started.
const (
	heapFree   = "/memory/classes/heap/free:bytes"
	heapAllocs = "/gc/heap/allocs:bytes"
)

// trimMemory hands the heap's free pages back to the operating system every so
// often. Go keeps a heap up to twice what is live before it collects, and returns
// freed pages slowly; that suits a busy server, but a server whose connections are
// mostly idle then holds far more than they need: after a burst (a reconnect storm,
// thousands of connects each announced to everyone online) the heap was a third of
// the RSS of 10,000 idle connections, and between collections the heartbeats'
// garbage fills the room the runtime leaves. So the trimmer gives memory back when
// 32 MiB or more is free (after a burst), and, when the period was quiet (less than
// 64 MiB allocated), collects and gives back whenever 4 MiB or more could go. A trim
// costs one garbage collection: a few milliseconds of CPU for a heap of a few hundred
// MiB, at most once a period.
func trimMemory(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	var tr trimmer
	tr.tick() // the allocations so far are the start-up's, not a period's
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if free, trimmed := tr.tick(); trimmed {
			log.Debug("returned free memory to the system", "free_mib", free>>20)
		}
	}
}

// trimmer remembers the allocations counter between periods.
type trimmer struct {
	allocs uint64 // at the last tick
	ticked bool
}

// tick ends a period: it trims when the free heap is at least trimThreshold, or when
// the period was quiet and quietTrim or more could be given back. It answers the
// free heap and whether it trimmed.
func (t *trimmer) tick() (free uint64, trimmed bool) {
	free, allocs, ok := heapStats()
	if !ok {
		return 0, false
	}
	period := allocs - t.allocs
	first := !t.ticked
	t.allocs, t.ticked = allocs, true
	quiet := !first && period < quietAllocs
	if free >= trimThreshold || (quiet && free+period >= quietTrim) {
		debug.FreeOSMemory()
		return free, true
	}
	return free, false
}

// heapFreeBytes answers the runtime's free heap not yet returned to the system.
func heapFreeBytes() (uint64, bool) {
	free, _, ok := heapStats()
	return free, ok
}

// heapStats reads the free heap and the allocations counter.
func heapStats() (free, allocs uint64, ok bool) {
	s := []metrics.Sample{{Name: heapFree}, {Name: heapAllocs}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0, 0, false
	}
	return s[0].Value.Uint64(), s[1].Value.Uint64(), true
}
