package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestRegistrationFlood floods POST /api/register from one address (16 at a time)
// behind a trusted proxy while another client registers: the flood gets its 10 a
// minute and then 429s, which cost no bcrypt, and the other client registers and logs
// in as usual. The clock stands still, so no token refills during the flood. With
// -tags soak it is 2,000 attempts at the real bcrypt cost (the default suite: 400 at
// the lowest). Counts and times are logged (not asserted) for docs/reliability.md.
func TestRegistrationFlood(t *testing.T) {
	attempts, cost := 400, bcrypt.MinCost
	if soak {
		attempts, cost = 2000, bcrypt.DefaultCost
	}
	clk := &fakeNow{t: time.Now()}
	cfg := testConfig()
	cfg.Now = clk.Now
	cfg.BcryptCost = cost
	cfg.RegisterLimit = 10
	cfg.TrustedProxies, _ = server.ParseProxies("127.0.0.1")
	in := servertest.Start(t, cfg)

	var created, limited, other atomic.Int64
	next := atomic.Int64{}
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(attempts) {
					return
				}
				switch st, _ := registerFrom(t, in, fmt.Sprintf("flood%d", i), "203.0.113.66"); st {
				case http.StatusCreated:
					created.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	// A client at another address, during the flood.
	t0 := time.Now()
	if st, e := registerFrom(t, in, "carol", "198.51.100.7"); st != http.StatusCreated {
		t.Fatalf("carol's registration during the flood: %d %+v", st, e)
	}
	carolTook := time.Since(t0)
	wg.Wait()
	flood := time.Since(start)
	in.Login(t, "carol", password)
	if created.Load() != 10 || limited.Load() != int64(attempts)-10 || other.Load() != 0 {
		t.Fatalf("flood of %d: %d created, %d limited, %d other; want 10, %d, 0", attempts, created.Load(), limited.Load(), other.Load(), attempts-10)
	}
	t.Logf("flood of %d registrations from one address (bcrypt cost %d): %d created, %d refused 429, in %v; carol (another address) registered in %v",
		attempts, cfg.BcryptCost, created.Load(), limited.Load(), flood.Round(time.Millisecond), carolTook.Round(time.Millisecond))
}
