package ui

import (
	"context"
	"runtime/debug"
	"time"

	"fyne.io/fyne/v2"

	pnet "github.com/parleychat/parley/net"
)

// bridge is where engine events meet the UI: it reads the engine's batches off the UI
// goroutine, turns each into one Update and applies it inside one fyne.Do, so the screens
// refresh at most once per batch (the engine sends at most one batch per frame), and at
// most once a second while messages flood in. It also ticks the banner's countdown once
// a second.
type bridge struct {
	eng       *clientEngine
	apply     func(Update) // runs on the UI goroutine
	tick      func()       // runs on the UI goroutine once a second
	signedOut func(reason string)
	trim      func()       // gives free memory back to the system after a flood; nil: debug.FreeOSMemory
	ui        func(func()) // runs on the UI goroutine; nil: fyne.Do
}

// trimAfter is how long after a flood's last update the bridge gives the memory the
// flood's garbage took back to the system (the Go runtime would keep most of it).
const trimAfter = 3 * time.Second

// run forwards batches until the engine's channel closes or ctx ends. While messages
// flood in, updates are merged and let through once per floodEvery (see updateGate).
func (b *bridge) run(ctx context.Context, events <-chan pnet.Batch) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	do := b.ui
	if do == nil {
		do = fyne.Do
	}
	var gate updateGate
	var held, trim *time.Timer
	var heldC, trimC <-chan time.Time
	defer func() {
		if held != nil {
			held.Stop()
		}
		if trim != nil {
			trim.Stop()
		}
	}()
	flush := func(reason string, out bool) {
		if held != nil {
			held.Stop()
			held, heldC = nil, nil
		}
		if gate.flooding() {
			if trim == nil {
				trim = time.NewTimer(trimAfter)
			} else {
				trim.Reset(trimAfter)
			}
			trimC = trim.C
		}
		u := gate.take(time.Now())
		do(func() {
			b.apply(u)
			if out && b.signedOut != nil {
				b.signedOut(reason)
			}
		})
	}
	for {
		select {
		case <-ctx.Done():
			return
		case batch, ok := <-events:
			if !ok {
				return
			}
			u := b.eng.updateOf(batch)
			out := batch.State != nil && batch.State.State == pnet.StateSignedOut
			reason := ""
			if out && batch.State.Err != nil {
				reason = pnet.UserMessage(batch.State.Err)
			}
			now := time.Now()
			if gate.add(u, now) || out {
				flush(reason, out)
			} else if held == nil {
				held = time.NewTimer(gate.due().Sub(now))
				heldC = held.C
			}
		case <-heldC:
			held, heldC = nil, nil
			if gate.waiting() {
				flush("", false)
			}
		case <-trimC:
			trim, trimC = nil, nil
			if b.trim != nil {
				b.trim()
			} else {
				debug.FreeOSMemory()
			}
		case <-tick.C:
			do(b.tick)
		}
	}
}
