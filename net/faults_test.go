package net

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
)

// startProxy runs an in-process Toxiproxy on 127.0.0.1:0 in front of upstream (host:port)
// and returns it with its http:// URL.
func startProxy(t *testing.T, upstream string) (*toxiproxy.Proxy, string) {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "parley", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return p, "http://" + p.Listen
}

func addToxic(t *testing.T, p *toxiproxy.Proxy, js string) {
	t.Helper()
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("add toxic %s: %v", js, err)
	}
}

func removeToxic(t *testing.T, p *toxiproxy.Proxy, name string) {
	t.Helper()
	if err := p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		t.Fatalf("remove toxic %s: %v", name, err)
	}
}

// checkExactlyOnce checks that the client's store holds exactly ids in the room, with
// seqs 1..n in that order, and that no message was reported as new twice.
func checkExactlyOnce(t *testing.T, tc *tclient, room string, ids []string) {
	t.Helper()
	got, err := tc.Store().After(room, 0, len(ids)+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("store holds %d messages, want %d", len(got), len(ids))
	}
	for i, m := range got {
		if m.Seq != int64(i+1) || m.ID != ids[i] {
			t.Fatalf("message %d: seq %d id %s, want seq %d id %s", i, m.Seq, m.ID, i+1, ids[i])
		}
	}
	if n, err := tc.Store().CountMessages(room); err != nil || n != int64(len(ids)) {
		t.Fatalf("count: %d %v", n, err)
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for id, n := range tc.seen {
		if n != 1 {
			t.Fatalf("message %s reported new %d times", id, n)
		}
	}
}

// sendN queues n numbered messages and returns their ids.
func sendN(t *testing.T, tc *tclient, room string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		m, err := tc.Send(room, fmt.Sprintf("message %d", i))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		ids[i] = m.ID
	}
	return ids
}

func flush(t *testing.T, tc *tclient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := tc.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// TestResetMidStream resets both clients' connections while 500 messages flow: they
// reconnect, sync, and nothing is lost or doubled.
func TestResetMidStream(t *testing.T) {
	srv := startServer(t, server.Config{})
	p, url := startProxy(t, srv.Addr())
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	a := startClient(t, url, "", fast)
	b := startClient(t, url, "", fast)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()

	n := 500
	if testing.Short() {
		n = 200
	}
	ids := sendN(t, a, room, n)
	b.waitUntil("some messages", func() bool { return len(b.order) >= n/5 })
	addToxic(t, p, `{"name":"reset","type":"reset_peer","stream":"downstream","attributes":{"timeout":0}}`)
	a.waitUntil("alice offline", func() bool { return a.State().State == StateOffline })
	b.waitUntil("bob offline", func() bool { return b.State().State == StateOffline })
	removeToxic(t, p, "reset")
	a.Nudge()
	b.Nudge()

	flush(t, a)
	a.waitUntil("all sent", func() bool { return a.countStatus(model.StatusSending) == 0 && len(a.msgs) == n })
	b.waitUntil("all received", func() bool { return len(b.order) == n })
	checkExactlyOnce(t, b, room, ids)
	checkExactlyOnce(t, a, room, ids)
	b.mu.Lock()
	got := len(b.order)
	b.mu.Unlock()
	if got != n {
		t.Fatalf("bob was told of %d messages", got)
	}
}

// TestLatency runs a conversation through 200 ms of latency each way.
func TestLatency(t *testing.T) {
	srv := startServer(t, server.Config{})
	p, url := startProxy(t, srv.Addr())
	addToxic(t, p, `{"name":"down","type":"latency","stream":"downstream","attributes":{"latency":200}}`)
	addToxic(t, p, `{"name":"up","type":"latency","stream":"upstream","attributes":{"latency":200}}`)
	a := startClient(t, url, "", nil)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	ids := sendN(t, a, room, 20)
	b.waitUntil("bob gets 20", func() bool { return len(b.order) == 20 })
	if err := b.MarkRead(room, 20); err != nil {
		t.Fatal(err)
	}
	a.waitUntil("all read", func() bool { return a.countStatus(model.StatusRead) == 20 })
	checkExactlyOnce(t, b, room, ids)
}

// TestHalfOpen stops all data from the server without closing anything: the heartbeat
// notices, and the client reconnects once the path is clear.
func TestHalfOpen(t *testing.T) {
	srv := startServer(t, server.Config{})
	p, url := startProxy(t, srv.Addr())
	a := startClient(t, url, "", func(c *Config) {
		c.Heartbeat = 100 * time.Millisecond
		c.PongTimeout = 300 * time.Millisecond
		c.Rand = func() float64 { return 0 }
	})
	register(t, a, "alice")
	addToxic(t, p, `{"name":"blackhole","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`)
	a.waitUntil("heartbeat drop", func() bool {
		for _, s := range a.states {
			if s.State == StateOffline && errors.Is(s.Err, errHeartbeat) {
				return true
			}
		}
		return false
	})
	removeToxic(t, p, "blackhole")
	a.Nudge()
	a.waitSynced()
	room := a.generalRoom()
	sendN(t, a, room, 3)
	flush(t, a)
}
