package servertest

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// NATS is a NATS server running in the test process, on 127.0.0.1.
type NATS struct {
	URL  string // nats://127.0.0.1:port
	port int

	mu sync.Mutex
	ns *natsserver.Server
}

// StartNATS runs a NATS server on a free port until the test ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("servertest: free port for NATS: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	n := &NATS{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), port: port}
	n.start(t)
	t.Cleanup(func() { n.Stop() })
	return n
}

func (n *NATS) start(t testing.TB) {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("servertest: NATS server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		t.Fatalf("servertest: NATS server on port %d not ready", n.port)
	}
	n.mu.Lock()
	n.ns = ns
	n.mu.Unlock()
}

// Stop shuts the NATS server down (its clients see the connection drop); stopping
// twice is harmless.
func (n *NATS) Stop() {
	n.mu.Lock()
	ns := n.ns
	n.ns = nil
	n.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// Restart stops the NATS server and starts a new one on the same port: its clients
// reconnect, having lost whatever was in flight.
func (n *NATS) Restart(t testing.TB) {
	t.Helper()
	n.Stop()
	n.Start(t)
}

// Start starts the NATS server again after Stop, on the same port.
func (n *NATS) Start(t testing.TB) {
	t.Helper()
	n.start(t)
}

// Clients answers how many clients are connected now.
func (n *NATS) Clients() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ns == nil {
		return 0
	}
	return n.ns.NumClients()
}
