package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// healthTimeout bounds each of /healthz's checks.
const healthTimeout = 2 * time.Second

// healthCheck is one dependency that /healthz reports, under its name. A failing
// check answers 503 with status failStatus: "unavailable" for what the node cannot
// serve without (its database), "degraded" for what it serves its own sessions
// without (NATS).
type healthCheck struct {
	name       string
	check      func(ctx context.Context) error
	failStatus string
	// failValue is what the check's name reports on failure; empty: the error's text.
	failValue string
}

// healthChecker is what a part of the server that can fail on its own answers to
// /healthz: nil while it works (the NATS Broker: connected).
type healthChecker interface {
	Healthy() error
}

// healthChecks are /healthz's checks: the database, and the broker when it can fail
// on its own.
func (s *Server) healthChecks() []healthCheck {
	checks := []healthCheck{{name: "db", check: s.store.Ping, failStatus: "unavailable", failValue: "unreachable"}}
	if hc, ok := s.broker.(healthChecker); ok {
		checks = append(checks, healthCheck{name: "nats", failStatus: "degraded",
			check: func(context.Context) error { return hc.Healthy() }})
	}
	return checks
}

// handleHealth runs every check at once and answers 200 {"status":"ok","db":"ok",...}
// when all pass, else 503 with the failing checks named, so that a load balancer
// sends new clients elsewhere while the node's database or NATS is away (the node
// still serves the sessions it has). A drain answers 503 "draining".
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	results := make([]error, len(s.health))
	var wg sync.WaitGroup
	for i, c := range s.health {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.check(ctx)
		}()
	}
	wg.Wait()
	out := map[string]string{"status": "ok"}
	status := http.StatusOK
	for i, c := range s.health {
		out[c.name] = "ok"
		if err := results[i]; err != nil {
			s.log.Warn("health check", "check", c.name, "err", err)
			out[c.name] = c.failValue
			if c.failValue == "" {
				out[c.name] = err.Error()
			}
			// The worse status wins: unavailable over degraded.
			if out["status"] != "unavailable" {
				out["status"] = c.failStatus
			}
			status = http.StatusServiceUnavailable
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
			list[closed].close(ws.StatusGoingAway, "server going away", true)
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
