package ui

import "time"

// While messages flood in, the chat and rooms list are redrawn at most once per
// floodEvery: Fyne keeps the texture of every text it has drawn for a minute after it
// was last on screen (about 40 KB a message line), so drawing each of 300 messages a
// second held ~300 MB of textures in a 10,000-message flood. Nobody reads 50 messages a
// second; one redraw a second is what the eye can use, and it bounds what is drawn.
const (
	floodRows  = 50          // rows arriving within a second that make a flood
	floodEvery = time.Second // how often the screens are redrawn during one
)

// updateGate merges the engine's updates while messages flood in, and lets them through
// one by one otherwise. It is used by one goroutine (the bridge).
type updateGate struct {
	pending     Update
	has         bool
	last        time.Time // when an update was last let through
	windowStart time.Time // the current one-second window of arrivals
	cur, prev   int       // rows that arrived in the current and the previous window
}

// add merges u into what waits and reports whether it should be let through now; when
// not, due says when.
func (g *updateGate) add(u Update, now time.Time) bool {
	if d := now.Sub(g.windowStart); d >= time.Second {
		g.prev = 0
		if d < 2*time.Second {
			g.prev = g.cur
		}
		g.cur, g.windowStart = 0, now
	}
	g.cur += len(u.Rows)
	g.pending = mergeUpdates(g.pending, u)
	g.has = true
	return !g.flooding() || !now.Before(g.due())
}

func (g *updateGate) flooding() bool { return g.cur >= floodRows || g.prev >= floodRows }

// due is when what waits may go through.
func (g *updateGate) due() time.Time { return g.last.Add(floodEvery) }

// waiting reports whether an update is held back.
func (g *updateGate) waiting() bool { return g.has }

// take returns what waits, at now, and empties the gate.
func (g *updateGate) take(now time.Time) Update {
	u := g.pending
	g.pending, g.has, g.last = Update{}, false, now
	return u
}

// mergeUpdates returns a followed by b, as one update: b's rows and rooms come after a's
// (the screens apply them in order, so the later version of a row wins), and b's typing,
// presence and connection state replace a's.
func mergeUpdates(a, b Update) Update {
	a.Rows = append(a.Rows, b.Rows...)
	a.Rooms = append(a.Rooms, b.Rooms...)
	a.Reset = append(a.Reset, b.Reset...)
	a.Notify = append(a.Notify, b.Notify...)
	a.Changed = append(a.Changed, b.Changed...)
	a.Failed = append(a.Failed, b.Failed...)
	a.Left = append(a.Left, b.Left...)
	if b.Conn != nil {
		a.Conn = b.Conn
	}
	if len(b.Uploads) > 0 {
		if a.Uploads == nil {
			a.Uploads = map[string]Progress{}
		}
		for k, v := range b.Uploads {
			a.Uploads[k] = v // the later progress of a file wins
		}
	}
	if len(b.Typing) > 0 {
		if a.Typing == nil {
			a.Typing = map[string][]Typist{}
		}
		for k, v := range b.Typing {
			a.Typing[k] = v
		}
	}
	if len(b.Presence) > 0 {
		if a.Presence == nil {
			a.Presence = map[string]bool{}
		}
		for k, v := range b.Presence {
			a.Presence[k] = v
		}
	}
	return a
}
