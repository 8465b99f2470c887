package main

import (
	"context"
	"runtime"
	"strings"
	"time"
)

// runIdle: C connections doing nothing but heartbeats. It answers the server's memory
// per connection: its RSS with every connection open and settled, less its RSS with
// the same users registered and none connected, over C.
func runIdle(ctx context.Context, e *env) (Report, error) {
	o := e.opts
	r := newReport(map[string]string{"conns": itoa(o.conns), "duration": dtoa(o.duration), "settle": dtoa(o.settle)})
	setup := time.Now()
	cs, err := e.users(ctx, o.conns)
	if err != nil {
		return r, err
	}
	settle(ctx, time.Second)
	heap0, stack0, gr0, _ := goMetrics(e.metrics)
	before := readProc(e.serverPID())
	e.logf("idle: %d users registered in %.1fs; server RSS %.1f MiB", len(cs), time.Since(setup).Seconds(), float64(before.rss)/(1<<20))

	w := openWindow(e.serverPID())
	if err := e.connect(ctx, cs); err != nil {
		closeAll(cs)
		return r, err
	}
	defer closeAll(cs)
	r.SetupSeconds = time.Since(setup).Seconds()
	e.logf("idle: %d connected in %.1fs", len(cs), time.Since(w.start).Seconds())
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range cs {
		go c.heartbeat(hctx, 30*time.Second)
	}
	settle(ctx, o.settle)
	runtime.GC() // the bench's own garbage, not the server's: keeps the machine quiet
	settle(ctx, o.duration)
	w.close(&r)
	after := readProc(e.serverPID())
	if before.read && o.steady > 0 {
		// What the connect burst left behind (its garbage, the pages the heap grew
		// to) goes at the server's next collection (the runtime makes one at least
		// every two minutes, parley-server's -mem-trim every 30 s when it has memory
		// to give back): the RSS after it is what the idle connections cost for as
		// long as they stay.
		if rss, waited, ok := steadyRSS(ctx, e, o.steady); ok {
			r.BytesPerConnIdle = float64(rss-before.rss) / float64(len(cs))
			r.SteadyWaitSecs = waited.Seconds()
		} else {
			e.logf("idle: no collection in the server within %s: no steady figure", o.steady)
		}
	}
	if e.proc != nil && strings.Contains(o.serverCmd, "-memprofile") {
		// The server writes a heap profile after a collection: RSS then shows what
		// the connections hold rather than what the collector has not yet freed.
		signalHeapProfile(e.proc.cmd.Process)
		settle(ctx, 3*time.Second)
		if gc := readProc(e.serverPID()); gc.read && before.read {
			r.BytesPerConnGC = float64(gc.rss-before.rss) / float64(len(cs))
		}
	}
	r.Connections = len(cs)
	if before.read && after.read {
		r.BytesPerConn = float64(after.rss-before.rss) / float64(len(cs))
	}
	if heap1, stack1, gr1, ok := goMetrics(e.metrics); ok {
		r.HeapPerConn = (heap1 - heap0) / float64(len(cs))
		r.StackPerConn = (stack1 - stack0) / float64(len(cs))
		r.GoroutinesPerConn = (gr1 - gr0) / float64(len(cs))
	}
	tally(&r, roomSet{}, cs, 0, nil)
	var pings int64
	for _, c := range cs {
		pings += c.pings.Load()
	}
	r.Sent = int(pings)
	r.Note = "sent counts heartbeat pings"
	return r, ctx.Err()
}

// steadyRSS waits up to limit for the server to finish a garbage collection it
// starts itself, then samples its RSS every second for steadySamples seconds while
// the heartbeats go on, and answers the largest sample and how long the collection
// took to come. After a collection the RSS climbs again as garbage piles up until
// the next one: the largest sample is the top of that saw.
func steadyRSS(ctx context.Context, e *env, limit time.Duration) (int64, time.Duration, bool) {
	n0, ok := gcCount(e.metrics)
	if !ok {
		return 0, 0, false
	}
	start := time.Now()
	for {
		if n, ok := gcCount(e.metrics); ok && n > n0 {
			break
		}
		if time.Since(start) > limit || ctx.Err() != nil {
			return 0, 0, false
		}
		settle(ctx, time.Second)
	}
	waited := time.Since(start)
	var top int64
	for range steadySamples {
		settle(ctx, time.Second)
		if p := readProc(e.serverPID()); p.read && p.rss > top {
			top = p.rss
		}
	}
	return top, waited, top > 0
}

// steadySamples is how many seconds steadyRSS samples.
const steadySamples = 30
