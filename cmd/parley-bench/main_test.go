package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

func TestMain(m *testing.M) {
	if target := os.Getenv(proxyEnv); target != "" {
		runTestProxy(target)
	}
	goleak.VerifyTestMain(m,
		// gorm's prepared-statement janitor of the in-process server's store.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"),
	)
}

// TestFanoutSmall runs the fanout scenario with 5 members for a second against an
// in-process server: nothing lost, nothing doubled, and the JSON report parses.
func TestFanoutSmall(t *testing.T) {
	in := servertest.Start(t, server.Config{MsgRate: 1e6, MsgBurst: 1e6, PresenceGrace: -1})
	out := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-url", in.URL, "-pid", strconv.Itoa(os.Getpid()), "-members", "5", "-senders", "2",
		"-rate", "20", "-duration", "1s", "-json", out, "fanout"}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var reports []Report
	if err := json.Unmarshal(b, &reports); err != nil {
		t.Fatalf("report does not parse: %v\n%s", err, b)
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	r := reports[0]
	if r.Scenario != "fanout" || r.Sent == 0 || r.Acked != r.Sent {
		t.Fatalf("sent %d, acked %d: %+v", r.Sent, r.Acked, r)
	}
	if r.Lost != 0 || r.Doubled != 0 || r.Deliveries != 5*r.Sent {
		t.Fatalf("lost %d, doubled %d, deliveries %d of %d sent to 5 members", r.Lost, r.Doubled, r.Deliveries, r.Sent)
	}
	if r.Latency.Count != r.Deliveries || r.AckLatency.Count != r.Acked {
		t.Fatalf("latencies %d and acks %d, want %d and %d", r.Latency.Count, r.AckLatency.Count, r.Deliveries, r.Acked)
	}
	if !bytes.Contains(stdout.Bytes(), []byte("fanout")) {
		t.Fatalf("no table:\n%s", stdout.String())
	}
}

// TestParseRefuses checks the flags that keep a run bounded and on loopback.
func TestParseRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"fanout"},
		{"-url", "http://10.0.0.1:8787", "fanout"},
		{"-url", "http://127.0.0.1:1", "-duration", "2m", "fanout"},
		{"-url", "http://127.0.0.1:1", "storm"},
		{"-url", "http://127.0.0.1:1", "nosuch"},
	} {
		if _, _, err := parse(args); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}

func TestLatencyOf(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	l := latencyOf(s)
	if l.Count != 100 || l.P50 != 50 || l.P99 != 99 || l.Max != 100 {
		t.Fatalf("%+v", l)
	}
}

// TestGoMetricsFromMetricsListener: the server's Go figures come from its metrics
// listener; the API port no longer serves them.
func TestGoMetricsFromMetricsListener(t *testing.T) {
	in := servertest.Start(t, server.Config{PresenceGrace: -1})
	if heap, _, goroutines, ok := goMetrics(in.MetricsURL); !ok || heap <= 0 || goroutines <= 0 {
		t.Fatalf("metrics listener: heap %v, goroutines %v, ok %v", heap, goroutines, ok)
	}
	if _, _, _, ok := goMetrics(in.URL); ok {
		t.Fatalf("the API port answered /metrics")
	}
	if _, ok := gcCount(""); ok {
		t.Fatalf("no metrics URL, yet a GC count")
	}
	o, _, err := parse([]string{"-url", in.URL, "-metrics-url", in.MetricsURL, "idle"})
	if err != nil || o.metricsURL != in.MetricsURL {
		t.Fatalf("parse: %v, metrics %q", err, o.metricsURL)
	}
}
