package ui

import (
	"context"
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
}

// run forwards batches until the engine's channel closes or ctx ends. While messages
// flood in, updates are merged and let through once per floodEvery (see updateGate).
func (b *bridge) run(ctx context.Context, events <-chan pnet.Batch) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var gate updateGate
	var held *time.Timer
	var heldC <-chan time.Time
	defer func() {
		if held != nil {
			held.Stop()
		}
	}()
	flush := func(reason string, out bool) {
		if held != nil {
			held.Stop()
			held, heldC = nil, nil
		}
		u := gate.take(time.Now())
		fyne.Do(func() {
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
		case <-tick.C:
			fyne.Do(b.tick)
		}
	}
}
