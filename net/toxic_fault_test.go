package net

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// serverMetric reads one unlabelled series of the server's /metrics (on its metrics
// listener).
func serverMetric(t *testing.T, srv *servertest.Instance, name string) float64 {
	t.Helper()
	resp, err := http.Get(srv.MetricsURL + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s %q: %v", name, v, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// openConns reads the server's parley_connections_open gauge.
func openConns(t *testing.T, srv *servertest.Instance) int {
	t.Helper()
	return int(serverMetric(t, srv, "parley_connections_open"))
}

// waitConns waits until the server counts want open connections.
func waitConns(t *testing.T, srv *servertest.Instance, want int) {
	t.Helper()
	waitConnsFor(t, srv, want, waitLong)
}

// waitConnsFor waits up to d until the server counts want open connections.
func waitConnsFor(t *testing.T, srv *servertest.Instance, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := openConns(t, srv)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server counts %d open connections, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond) // polling a gauge: nothing announces its change
	}
}

// TestToxicPath runs alice through Toxiproxy while bob talks directly: every byte sliced
// into its own TCP segment and a 32 KB/s bandwidth limit, then a reset, then a half-open
// path (nothing comes back). Alice notices each break, reconnects and catches up;
// nothing is lost or doubled; and the server frees every dead session, its
// open-connections gauge back at 2.
func TestToxicPath(t *testing.T) {
	// The bandwidth toxic logs every interruption at trace level on the global logger.
	level := zerolog.GlobalLevel()
	zerolog.SetGlobalLevel(zerolog.Disabled)
	t.Cleanup(func() { zerolog.SetGlobalLevel(level) })
	srv := startServer(t, server.Config{PingInterval: 200 * time.Millisecond, PingTimeout: time.Second})
	p, url := startProxy(t, srv.Addr())
	a := startClient(t, url, "", func(c *Config) {
		c.Heartbeat = 200 * time.Millisecond
		c.PongTimeout = 600 * time.Millisecond
		c.Rand = func() float64 { return 0 }
	})
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	waitConns(t, srv, 2)

	// Sliced and throttled, both ways.
	for _, dir := range []string{"upstream", "downstream"} {
		addToxic(t, p, `{"name":"slice-`+dir+`","type":"slicer","stream":"`+dir+`","attributes":{"average_size":1,"size_variation":0,"delay":0}}`)
		addToxic(t, p, `{"name":"bw-`+dir+`","type":"bandwidth","stream":"`+dir+`","attributes":{"rate":32}}`)
	}
	sendN(t, a, room, 15)
	sendN(t, b, room, 15)
	flush(t, a)
	flush(t, b)
	a.waitUntil("alice gets bob's", func() bool { return len(a.order) == 15 })
	b.waitUntil("bob gets alice's", func() bool { return len(b.order) == 15 })

	// Reset: alice reconnects; the server drops the reset session.
	addToxic(t, p, `{"name":"reset","type":"reset_peer","stream":"downstream","attributes":{"timeout":0}}`)
	a.waitUntil("alice offline", func() bool { return a.State().State == StateOffline })
	removeToxic(t, p, "reset")
	sendN(t, b, room, 5)
	a.Nudge()
	a.waitSynced()
	a.waitUntil("alice catches up", func() bool { return len(a.order) == 20 })
	waitConns(t, srv, 2)

	// Half-open: nothing from the server reaches alice, nothing is closed.
	a.mu.Lock()
	seen := len(a.states)
	a.mu.Unlock()
	addToxic(t, p, `{"name":"blackhole","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`)
	// Alice's heartbeat or the server's ping timeout, whichever is first, ends it.
	a.waitUntil("alice offline", func() bool {
		for _, s := range a.states[seen:] {
			if s.State == StateOffline {
				return true
			}
		}
		return false
	})
	sendN(t, a, room, 5) // queued while offline
	sendN(t, b, room, 5)
	removeToxic(t, p, "blackhole")
	for _, dir := range []string{"upstream", "downstream"} {
		removeToxic(t, p, "slice-"+dir)
		removeToxic(t, p, "bw-"+dir)
	}
	a.Nudge()
	a.waitSynced()
	flush(t, a)
	a.waitUntil("alice catches up", func() bool { return len(a.order) == 25 })
	b.waitUntil("bob gets alice's", func() bool { return len(b.order) == 20 })
	waitConns(t, srv, 2)

	ids := serverHistory(t, b, room)
	if len(ids) != 45 {
		t.Fatalf("server history holds %d messages, want 45", len(ids))
	}
	checkExactlyOnce(t, a, room, ids)
	checkExactlyOnce(t, b, room, ids)
	a.mu.Lock()
	n := a.countStatus(model.StatusSending)
	a.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d of alice's messages still sending", n)
	}
}
