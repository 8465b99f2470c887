package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/server/servertest"
)

func metricsText(t testing.TB, in *servertest.Instance) string {
	t.Helper()
	resp, err := http.Get(in.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hasMetric(t testing.TB, in *servertest.Instance, line string) bool {
	t.Helper()
	for _, l := range strings.Split(metricsText(t, in), "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// waitMetric waits until /metrics shows line.
func waitMetric(t testing.TB, in *servertest.Instance, line string) {
	t.Helper()
	deadline := time.Now().Add(servertest.DefaultWait)
	for !hasMetric(t, in, line) {
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %q", line)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func TestMetricsAndHealth(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	alice.ackOf(t, alice.send(t, "general", "hi"))
	for _, want := range []string{
		"parley_connections_open 1",
		`parley_frames_in_total{type="message"} 1`,
		`parley_frames_out_total{type="ack"} 1`,
		`parley_frames_out_total{type="hello"} 1`,
		"parley_send_ack_seconds_count 1",
		"parley_commit_batch_size_count 1",
		"parley_rate_limited_total 0",
	} {
		waitMetric(t, in, want)
	}
	resp, err := http.Get(in.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
}

// TestMetricsNotPublic: /metrics is served on the metrics listener only; the public
// one answers it 404, as it does for profiles.
func TestMetricsNotPublic(t *testing.T) {
	in := servertest.Start(t, testConfig())
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		resp, err := http.Get(in.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(b), "go_goroutines") {
			t.Errorf("public %s: %d %.80q, want 404", path, resp.StatusCode, b)
		}
	}
	if !strings.Contains(metricsText(t, in), "go_goroutines") {
		t.Errorf("metrics listener: no go_goroutines")
	}
}
