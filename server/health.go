package server

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// healthChecker is what a part of the server that can fail on its own answers to
// /healthz: nil while it works (the NATS Broker: connected).
type healthChecker interface {
	Healthy() error
}

// handleHealth answers /healthz: {"status":"ok"} and, for each part that can fail on
// its own, its name and "ok" or what is wrong. Any part failing, or a drain, answers
// 503 so that a load balancer sends new clients elsewhere; the node still serves the
// sessions it has.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	out := map[string]string{"status": "ok"}
	status := http.StatusOK
	checks := map[string]any{"nats": s.broker}
	for name, part := range checks {
		hc, ok := part.(healthChecker)
		if !ok {
			continue
		}
		if err := hc.Healthy(); err != nil {
			out[name] = err.Error()
			out["status"] = "degraded"
			status = http.StatusServiceUnavailable
		} else {
			out[name] = "ok"
		}
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		out["status"] = "draining"
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

// drainTick is how often Drain closes the sessions whose turn has come.
const drainTick = 10 * time.Millisecond

// Drain closes every WebSocket with 1001 "server going away" (after what is queued
// for it), spread evenly over spread, so that a rolling restart moves the clients to
// the other nodes a few at a time instead of all at once; meanwhile new WebSockets
// are refused (503) and /healthz answers "draining". It returns when every session
// it found is closed, or ctx ends. Shutdown follows it.
func (s *Server) Drain(ctx context.Context, spread time.Duration) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	list := s.hub.sessionList()
	start := time.Now()
	t := time.NewTicker(drainTick)
	defer t.Stop()
	closed := 0
	for closed < len(list) {
		due := len(list)
		if elapsed := time.Since(start); spread > 0 && elapsed < spread {
			due = max(1, int(int64(len(list))*int64(elapsed)/int64(spread)))
		}
		for ; closed < due; closed++ {
			list[closed].close(websocket.StatusGoingAway, "server going away", true)
		}
		if closed == len(list) {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
