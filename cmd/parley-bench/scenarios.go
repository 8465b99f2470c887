package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/model"
)

// drainTimeout bounds the wait for the last deliveries after sending stops.
const drainTimeout = 15 * time.Second

// users registers n users and answers a client for each, not yet connected.
func (e *env) users(ctx context.Context, n int) ([]*client, error) {
	auths, err := e.api.register(ctx, e.prefix, n, e.opts.parallel)
	if err != nil {
		return nil, fmt.Errorf("register %d users: %w", n, err)
	}
	out := make([]*client, n)
	for i, a := range auths {
		out[i] = newClient(a, e.wsURL)
	}
	return out, nil
}

// connect dials every client (in parallel) and waits for each hello.
func (e *env) connect(ctx context.Context, cs []*client) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for range min(e.opts.parallel, len(cs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cs) {
					return
				}
				err := cs[i].dial(ctx)
				if err == nil {
					wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					err = cs[i].waitFor(wctx, func() bool { return cs[i].hellos > 0 })
					cancel()
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("client %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// closeAll closes every client's connection.
func closeAll(cs []*client) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer wg.Done(); c.close(); <-sem }()
	}
	wg.Wait()
}

// setRecord turns latency recording on or off for every client.
func setRecord(cs []*client, on bool) {
	for _, c := range cs {
		c.mu.Lock()
		c.record = on
		c.mu.Unlock()
	}
}

// pace sends into roomID every interval starting at start+offset until end.
func pace(ctx context.Context, c *client, roomID string, interval, offset time.Duration, start, end time.Time, sent *atomic.Int64, errs *errorList) {
	next := start.Add(offset)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !time.Now().Before(end) {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.send(wctx, roomID)
		cancel()
		if err != nil {
			errs.add(err)
			return
		}
		sent.Add(1)
		next = next.Add(interval)
		t.Reset(time.Until(next))
	}
}

// errorList keeps the first errors of many goroutines.
type errorList struct {
	mu    sync.Mutex
	n     int
	first string
}

func (l *errorList) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.first == "" {
		l.first = err.Error()
	}
}

// roomSet maps each room to the clients that receive its messages.
type roomSet map[string][]*client

// ackedSeqs answers, per room, every seq acked to any client.
func ackedSeqs(all []*client) map[string]map[int64]bool {
	out := map[string]map[int64]bool{}
	for _, c := range all {
		c.mu.Lock()
		for room, seqs := range c.ackedSeq {
			if out[room] == nil {
				out[room] = map[int64]bool{}
			}
			for _, s := range seqs {
				out[room][s] = true
			}
		}
		c.mu.Unlock()
	}
	return out
}

// drain waits until no send waits for its ack and every receiver holds every acked
// seq of its rooms, or drainTimeout passes.
func drain(ctx context.Context, rooms roomSet, all []*client) {
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	for _, c := range all {
		if c.waitFor(ctx, func() bool { return len(c.pending) == 0 }) != nil {
			return
		}
	}
	acked := ackedSeqs(all)
	for room, rs := range rooms {
		want := acked[room]
		for _, c := range rs {
			err := c.waitFor(ctx, func() bool {
				rl := c.rooms[room]
				if rl == nil {
					return len(want) == 0
				}
				for s := range want {
					if !rl.has(s) {
						return false
					}
				}
				return true
			})
			if err != nil {
				return
			}
		}
	}
}

// tally fills r's counts and latencies from the clients.
func tally(r *Report, rooms roomSet, all []*client, sent int64, errs *errorList) {
	acked := ackedSeqs(all)
	r.Sent = int(sent)
	for _, seqs := range acked {
		r.Acked += len(seqs)
	}
	for room, rs := range rooms {
		want := acked[room]
		for _, c := range rs {
			c.mu.Lock()
			rl := c.rooms[room]
			r.Expected += len(want)
			for s := range want {
				if rl == nil {
					r.Lost++
					continue
				}
				if rl.has(s) {
					r.Deliveries++
				} else {
					r.Lost++
				}
			}
			if rl != nil {
				r.Doubled += rl.doubled
			}
			c.mu.Unlock()
		}
	}
	var lat, ack []time.Duration
	for _, c := range all {
		c.mu.Lock()
		lat = append(lat, c.latencies...)
		ack = append(ack, c.acks...)
		r.ClientErrors += len(c.errors)
		if r.FirstError == "" && len(c.errors) > 0 {
			r.FirstError = c.errors[0]
		}
		c.mu.Unlock()
	}
	if errs != nil {
		r.ClientErrors += errs.n
		if r.FirstError == "" {
			r.FirstError = errs.first
		}
	}
	r.Latency = latencyOf(lat)
	r.AckLatency = latencyOf(ack)
}

// window measures the server over a stretch of time.
type window struct {
	pid   int
	start time.Time
	proc  procStat
	peak  int64
	stop  chan struct{}
	done  chan struct{}
}

// openWindow starts measuring: CPU now, and RSS sampled every 100 ms for its peak.
func openWindow(pid int) *window {
	w := &window{pid: pid, start: time.Now(), proc: readProc(pid), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				if st := readProc(pid); st.read && st.rss > w.peak {
					w.peak = st.rss
				}
			}
		}
	}()
	return w
}

// close ends the window and writes the server's figures into r.
func (w *window) close(r *Report) {
	close(w.stop)
	<-w.done
	end := readProc(w.pid)
	r.Seconds = time.Since(w.start).Seconds()
	if !end.read || !w.proc.read {
		return
	}
	r.Server.PID = w.pid
	r.Server.CPUSeconds = (end.cpu - w.proc.cpu).Seconds()
	r.Server.CPUCores = r.Server.CPUSeconds / r.Seconds
	r.Server.RSSMiB = float64(end.rss) / (1 << 20)
	r.Server.PeakRSSMiB = float64(max(w.peak, end.rss)) / (1 << 20)
}

func newReport(params map[string]string) Report {
	return Report{Params: params, Started: time.Now().UTC(), Load: loadAverage()}
}

func itoa(n int) string           { return strconv.Itoa(n) }
func ftoa(f float64) string       { return strconv.FormatFloat(f, 'g', -1, 64) }
func dtoa(d time.Duration) string { return d.String() }

// runFanout: one room (general) with M members, P of them sending R messages a
// second in all.
func runFanout(ctx context.Context, e *env) (Report, error) {
	o := e.opts
	r := newReport(map[string]string{"members": itoa(o.members), "senders": itoa(o.senders), "rate": ftoa(o.rate), "duration": dtoa(o.duration)})
	setup := time.Now()
	cs, err := e.users(ctx, o.members)
	if err != nil {
		return r, err
	}
	if err := e.connect(ctx, cs); err != nil {
		closeAll(cs)
		return r, err
	}
	defer closeAll(cs)
	r.SetupSeconds = time.Since(setup).Seconds()
	e.logf("fanout: %d members connected in %.1fs", len(cs), r.SetupSeconds)
	// Let the presence frames of the connections settle before measuring.
	settle(ctx, time.Second)

	setRecord(cs, true)
	w := openWindow(e.serverPID())
	var sent atomic.Int64
	errs := &errorList{}
	interval := time.Duration(float64(time.Second) * float64(o.senders) / o.rate)
	start := time.Now().Add(50 * time.Millisecond)
	end := start.Add(o.duration)
	var wg sync.WaitGroup
	for i := range o.senders {
		wg.Add(1)
		offset := interval * time.Duration(i) / time.Duration(o.senders)
		go func() { defer wg.Done(); pace(ctx, cs[i], "general", interval, offset, start, end, &sent, errs) }()
	}
	wg.Wait()
	rooms := roomSet{"general": cs}
	drain(ctx, rooms, cs)
	w.close(&r)
	tally(&r, rooms, cs, sent.Load(), errs)
	r.DeliveriesPS = float64(r.Deliveries) / o.duration.Seconds()
	r.AcksPS = float64(r.Acked) / o.duration.Seconds()
	return r, ctx.Err()
}

// settle waits d unless ctx ends.
func settle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runRooms: K direct rooms with both members connected, each room sending r messages
// a second (its two members take turns).
func runRooms(ctx context.Context, e *env) (Report, error) {
	o := e.opts
	r := newReport(map[string]string{"rooms": itoa(o.rooms), "roomRate": ftoa(o.roomRate), "duration": dtoa(o.duration)})
	setup := time.Now()
	cs, err := e.users(ctx, 2*o.rooms)
	if err != nil {
		return r, err
	}
	roomIDs, err := e.directRooms(ctx, cs)
	if err != nil {
		return r, err
	}
	if err := e.connect(ctx, cs); err != nil {
		closeAll(cs)
		return r, err
	}
	defer closeAll(cs)
	r.SetupSeconds = time.Since(setup).Seconds()
	e.logf("rooms: %d rooms, %d clients connected in %.1fs", len(roomIDs), len(cs), r.SetupSeconds)
	settle(ctx, time.Second)

	setRecord(cs, true)
	w := openWindow(e.serverPID())
	var sent atomic.Int64
	errs := &errorList{}
	// Each member sends every 2/r seconds, the second half a period after the first.
	interval := time.Duration(float64(time.Second) * 2 / o.roomRate)
	start := time.Now().Add(50 * time.Millisecond)
	end := start.Add(o.duration)
	rooms := roomSet{}
	var wg sync.WaitGroup
	for k, id := range roomIDs {
		a, b := cs[2*k], cs[2*k+1]
		rooms[id] = []*client{a, b}
		// Spread the rooms over the period so the load is even.
		base := interval * time.Duration(k) / time.Duration(len(roomIDs))
		for j, c := range []*client{a, b} {
			wg.Add(1)
			off := base + time.Duration(j)*interval/2
			off %= interval
			go func() { defer wg.Done(); pace(ctx, c, id, interval, off, start, end, &sent, errs) }()
		}
	}
	wg.Wait()
	drain(ctx, rooms, cs)
	w.close(&r)
	tally(&r, rooms, cs, sent.Load(), errs)
	r.DeliveriesPS = float64(r.Deliveries) / o.duration.Seconds()
	r.AcksPS = float64(r.Acked) / o.duration.Seconds()
	return r, ctx.Err()
}

// directRooms opens the direct room of users 2k and 2k+1 for every k.
func (e *env) directRooms(ctx context.Context, cs []*client) ([]string, error) {
	ids := make([]string, len(cs)/2)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := &errorList{}
	for range e.opts.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(ids) {
					return
				}
				var room model.Room
				err := e.api.do(ctx, "POST", "/api/dm", cs[2*k].auth.AccessToken, model.DMRequest{UserID: cs[2*k+1].auth.UserID}, &room)
				if err != nil {
					errs.add(err)
					return
				}
				ids[k] = room.ID
			}
		}()
	}
	wg.Wait()
	if errs.n > 0 {
		return nil, fmt.Errorf("open direct rooms: %s", errs.first)
	}
	return ids, nil
}

// runAcks: P senders, each in a room of its own, each keeping -window messages in
// flight as fast as the server acks them: the rate of acked (committed) sends.
func runAcks(ctx context.Context, e *env) (Report, error) {
	o := e.opts
	r := newReport(map[string]string{"senders": itoa(o.senders), "window": itoa(o.window), "duration": dtoa(o.duration)})
	setup := time.Now()
	cs, err := e.users(ctx, o.senders)
	if err != nil {
		return r, err
	}
	roomIDs := make([]string, len(cs))
	for i, c := range cs {
		var room model.Room
		req := model.CreateRoomRequest{Name: "acks " + itoa(i), MemberIDs: []string{}}
		if err := e.api.do(ctx, "POST", "/api/rooms", c.auth.AccessToken, req, &room); err != nil {
			return r, err
		}
		roomIDs[i] = room.ID
	}
	if err := e.connect(ctx, cs); err != nil {
		closeAll(cs)
		return r, err
	}
	defer closeAll(cs)
	r.SetupSeconds = time.Since(setup).Seconds()
	settle(ctx, 500*time.Millisecond)

	setRecord(cs, true)
	w := openWindow(e.serverPID())
	var sent atomic.Int64
	errs := &errorList{}
	end := time.Now().Add(o.duration)
	rooms := roomSet{}
	var wg sync.WaitGroup
	for i, c := range cs {
		rooms[roomIDs[i]] = []*client{c}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) && ctx.Err() == nil {
				wctx, cancel := context.WithDeadline(ctx, end)
				err := c.waitFor(wctx, func() bool { return len(c.pending) < o.window })
				cancel()
				if err != nil {
					return
				}
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err = c.send(sctx, roomIDs[i])
				cancel()
				if err != nil {
					errs.add(err)
					return
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	drain(ctx, rooms, cs)
	w.close(&r)
	tally(&r, rooms, cs, sent.Load(), errs)
	r.DeliveriesPS = float64(r.Deliveries) / r.Seconds
	r.AcksPS = float64(r.Acked) / r.Seconds
	return r, ctx.Err()
}
