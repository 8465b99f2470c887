package server

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// healthTimeout bounds each of /healthz's checks.
const healthTimeout = 2 * time.Second

// healthCheck is one dependency that /healthz reports, under its name.
type healthCheck struct {
	name  string
	check func(ctx context.Context) error
}

// handleHealth runs every check at once and answers 200 {"status":"ok","db":"ok",...}
// when all pass, else 503 with "status":"unavailable" and "unreachable" for each
// check that failed, so a load balancer takes the node out while its database is away.
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
			out[c.name] = "unreachable"
			out["status"] = "unavailable"
			status = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, out)
}
