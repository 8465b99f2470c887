package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/model"
)

// stormBefore is how many messages are sent (and acked) before the kill.
const stormBefore = 20

// stormAfter is how many are sent once every client is back, to check the live path.
const stormAfter = 10

// stormLimit bounds the wait for every client to come back.
const stormLimit = 60 * time.Second

// backoff is the wait before reconnect attempt n (0 first), as the real client does:
// 1 s doubling to 30 s, plus 0-30 % jitter.
func backoff(n int) time.Duration {
	d := time.Second << min(n, 5)
	d = min(d, 30*time.Second)
	return d + time.Duration(rand.Float64()*0.3*float64(d))
}

// stayConnected reconnects c whenever its connection ends and syncs general after
// each hello, reporting each drop and each time it is back and synced, until ctx
// ends.
func stayConnected(ctx context.Context, c *client, dropped func(*client), back func(*client, time.Time), reconnects *atomic.Int64) {
	for {
		c.mu.Lock()
		ended := c.ended
		c.mu.Unlock()
		select {
		case <-ended:
		case <-ctx.Done():
			return
		}
		dropped(c)
		for attempt := 0; ; attempt++ {
			t := time.NewTimer(backoff(attempt))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			if err := connectAndSync(ctx, c); err == nil {
				reconnects.Add(1)
				back(c, time.Now())
				break
			}
		}
	}
}

// connectAndSync dials, waits for hello and syncs general until synced says no more.
// A failed attempt drops its connection, so that a client never reads two.
func connectAndSync(ctx context.Context, c *client) (err error) {
	defer func() {
		if err != nil {
			c.mu.Lock()
			conn := c.conn
			c.mu.Unlock()
			if conn != nil {
				_ = conn.CloseNow()
			}
		}
	}()
	c.mu.Lock()
	hellos := c.hellos
	c.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c.dial(dctx); err != nil {
		return err
	}
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if err := c.waitFor(dctx, func() bool { return c.hellos > hellos || isClosed(ended) }); err != nil || isClosed(ended) {
		return errNotConnected
	}
	for {
		c.mu.Lock()
		delete(c.synced, "general")
		top := int64(0)
		if rl := c.rooms["general"]; rl != nil {
			top = rl.top
		}
		c.mu.Unlock()
		if err := c.writeFrame(dctx, model.SyncFrame{Type: model.TypeSync, RoomID: "general", AfterSeq: top}); err != nil {
			return err
		}
		var more bool
		err := c.waitFor(dctx, func() bool {
			f, ok := c.synced["general"]
			more = f.More
			return ok || isClosed(ended)
		})
		if err != nil || isClosed(ended) {
			return errNotConnected
		}
		if !more {
			return nil
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// runStorm: C connected clients; the server is killed (SIGKILL) and started again,
// or, with -url, the process -kill-pid names (one node of several behind a load
// balancer) is killed and not restarted. It answers the time from the restart (the
// kill, with -kill-pid) until every client is back, has synced and holds every
// message acked before the kill; then it checks the live path.
func runStorm(ctx context.Context, e *env) (Report, error) {
	o := e.opts
	r := newReport(map[string]string{"conns": itoa(o.conns)})
	setup := time.Now()
	cs, err := e.users(ctx, o.conns)
	if err != nil {
		return r, err
	}
	if err := e.connect(ctx, cs); err != nil {
		closeAll(cs)
		return r, err
	}
	defer closeAll(cs)
	r.SetupSeconds = time.Since(setup).Seconds()
	e.logf("storm: %d connected in %.1fs", len(cs), r.SetupSeconds)
	settle(ctx, time.Second)

	sender := cs[0]
	var sent atomic.Int64
	for range stormBefore {
		if err := sender.send(ctx, "general"); err != nil {
			return r, err
		}
		sent.Add(1)
	}
	if err := sender.waitFor(ctx, func() bool { return len(sender.pending) == 0 }); err != nil {
		return r, err
	}
	rooms := roomSet{"general": cs}
	// Everyone holds the messages before the kill, so the sync after it has little to
	// replay: the storm is the reconnects.
	drain(ctx, rooms, cs)

	var mu sync.Mutex
	backAt := map[*client]time.Time{}
	down := map[*client]bool{} // dropped and not back yet
	var lastDrop time.Time
	dropped := func(c *client) {
		mu.Lock()
		defer mu.Unlock()
		down[c], lastDrop = true, time.Now()
	}
	back := func(c *client, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		backAt[c] = at
		delete(down, c)
	}
	// A restarted server dropped everyone: all are back when each has reconnected.
	// A killed node dropped only its own clients, and which those are shows as they
	// drop: all are back when some dropped, each of them has reconnected and no
	// other has dropped for a second (the kill's drops come within milliseconds).
	allBack := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if e.proc != nil {
			return len(backAt) == len(cs)
		}
		return len(backAt) > 0 && len(down) == 0 && time.Since(lastDrop) >= time.Second
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var reconnects atomic.Int64
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() { defer wg.Done(); stayConnected(sctx, c, dropped, back, &reconnects) }()
	}
	defer func() { stop(); wg.Wait() }()

	killed := time.Now()
	restart, err := e.killServer(ctx)
	if err != nil {
		stop()
		return r, err
	}
	w := openWindow(e.serverPID())
	if e.proc != nil {
		e.logf("storm: killed, restarted in %.2fs", time.Since(restart).Seconds())
	} else {
		e.logf("storm: killed pid %d; its clients come back through %s", e.opts.killPID, e.base)
	}
	limit := time.NewTimer(stormLimit)
	defer limit.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
wait:
	for !allBack() {
		select {
		case <-poll.C:
		case <-limit.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	mu.Lock()
	var last time.Time
	for _, t := range backAt {
		if t.After(last) {
			last = t
		}
	}
	r.Reconnected = len(backAt)
	r.Dropped = len(backAt) + len(down)
	if e.proc == nil && len(down) == 0 && len(backAt) > 0 {
		// The clients the kill did not drop are still connected: the tally below
		// checks that they, too, hold every message.
		r.Reconnected = len(cs)
	}
	mu.Unlock()
	if !last.IsZero() {
		r.RecoverySecs = last.Sub(restart).Seconds()
	}
	e.logf("storm: %d dropped, %d of %d back %.1fs after the restart (%.1fs after the kill; with -kill-pid the two are one), %d reconnects",
		r.Dropped, r.Reconnected, len(cs), r.RecoverySecs, last.Sub(killed).Seconds(), reconnects.Load())
	w.close(&r)

	setRecord(cs, true)
	for range stormAfter {
		if err := sender.send(ctx, "general"); err != nil {
			break
		}
		sent.Add(1)
	}
	drain(ctx, rooms, cs)
	stop()
	e.logf("storm: %d reconnects in all", reconnects.Load())
	tally(&r, rooms, cs, sent.Load(), nil)
	if r.Dropped == 0 {
		return r, errors.Join(ctx.Err(), fmt.Errorf("the kill dropped no client within %s", stormLimit))
	}
	if r.Reconnected < len(cs) {
		return r, errors.Join(ctx.Err(), fmt.Errorf("only %d of %d clients came back within %s", r.Reconnected, len(cs), stormLimit))
	}
	return r, ctx.Err()
}

// killServer SIGKILLs the server and answers when the clients may come back: a
// server the bench started is restarted; the process -kill-pid names is not (the
// load balancer in front of -url sends the clients to the nodes left).
func (e *env) killServer(ctx context.Context) (time.Time, error) {
	if e.proc != nil {
		e.proc.kill()
		restart := time.Now()
		if err := e.proc.start(ctx); err != nil {
			return restart, fmt.Errorf("restart: %w", err)
		}
		return restart, nil
	}
	killed := time.Now()
	if err := killPID(ctx, e.opts.killPID); err != nil {
		return killed, err
	}
	return killed, nil
}

// killPID sends SIGKILL to pid and waits (at most 10 s) until it has died.
func killPID(ctx context.Context, pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("-kill-pid %d: %w", pid, err)
	}
	if err := p.Kill(); err != nil {
		return fmt.Errorf("-kill-pid %d: %w", pid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !processGone(pid) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("-kill-pid %d still alive after SIGKILL: %w", pid, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
