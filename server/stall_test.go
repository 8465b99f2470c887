package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestStalledReaderGetsWholeFrames: a member that stops reading while a room is busy
// fills its socket and its writer blocks. When it reads again it gets every message,
// whole and in order, and the member that kept reading got them all meanwhile.
func TestStalledReaderGetsWholeFrames(t *testing.T) {
	cfg := testConfig()
	cfg.WriteTimeout = 60 * time.Second // the stall is the test's, not a stuck write
	cfg.MsgRate, cfg.MsgBurst = 1e6, 1e6
	cfg.SendQueueBytes = 64 << 20 // the stall outlasts the socket buffers; no bound ends it
	in := servertest.Start(t, cfg)
	sender := connect(t, in, "sender")
	reader := connect(t, in, "reader")
	stalledAuth := in.Register(t, "stalled", password)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+stalledAuth.AccessToken)
	conn, _, err := websocket.Dial(ctx, in.WSURL, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)

	_, partial0 := server.FrameAttempts()
	// About 12 MiB of fan-out: more than loopback's socket buffers hold.
	const n = 3000 // a multiple of 100: the last send is acked in the loop
	content := strings.Repeat("abcdefghij", model.MaxContentRunes/10)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = sender.send(t, server.GeneralRoomID, content)
		if i%100 == 99 {
			sender.ackOf(t, ids[i]) // stay within the rate limit's burst
		}
	}

	// The reader that kept up got everything.
	var last int64
	for got := 0; got < n; {
		f := reader.c.WaitType(t, model.TypeMessage)
		if f.Seq <= last {
			t.Fatalf("reader: seq %d after %d", f.Seq, last)
		}
		last = f.Seq
		got++
	}

	if _, partial := server.FrameAttempts(); partial == partial0 {
		t.Log("no partial write happened: the socket buffers took everything (the test still checks delivery)")
	}

	// The stalled member reads now: its hello, then every message whole and in order.
	seen := 0
	last = 0
	for seen < n {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("stalled reader after %d messages: %v", seen, err)
		}
		var f model.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("stalled reader: a broken frame after %d messages: %v", seen, err)
		}
		if f.Type != model.TypeMessage {
			continue
		}
		if f.Content != content {
			t.Fatalf("stalled reader: message %d has %d bytes of content, want %d", seen, len(f.Content), len(content))
		}
		if f.Seq <= last {
			t.Fatalf("stalled reader: seq %d after %d", f.Seq, last)
		}
		last = f.Seq
		seen++
	}
	if whole, partial := server.FrameAttempts(); whole == 0 {
		t.Fatalf("no frame went by the non-blocking attempt (whole %d, partial %d)", whole, partial)
	}
}

// TestStalledMembersClosedTryAgainLater: thirty members of a busy room stop reading.
// Each is closed with 1013 once its queue passes SendQueueBytes (the default, 1 MiB),
// long before a write times out, so the server holds at most that much queued for
// each; the member that reads gets every message.
func TestStalledMembersClosedTryAgainLater(t *testing.T) {
	const (
		stalled = 30
		limit   = 1 << 20 // the default
		round   = 50      // sends between acks
	)
	var logs syncBuffer
	cfg := testConfig()
	cfg.WriteTimeout = 60 * time.Second // only the bound may close them
	cfg.MsgRate, cfg.MsgBurst = 1e6, 1e6
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	in := servertest.Start(t, cfg)
	server.PeakPending()
	sender := connect(t, in, "sender")
	reader := connect(t, in, "reader")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range stalled {
		a := in.Register(t, fmt.Sprintf("stalled%d", i), password)
		h := http.Header{}
		h.Set("Authorization", "Bearer "+a.AccessToken)
		conn, _, err := websocket.Dial(ctx, in.WSURL, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow() // never read
	}
	waitMetric(t, in, fmt.Sprintf("parley_connections_open %d", stalled+2))

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peakHeap uint64
	content := strings.Repeat("abcdefghij", model.MaxContentRunes/10)
	sent := 0
	var lastSeq int64
	want := fmt.Sprintf("parley_slow_consumers_total %d", stalled)
	for !hasMetric(t, in, want) {
		if ctx.Err() != nil {
			t.Fatalf("after %d messages: %s", sent, grepMetric(t, in, "parley_slow_consumers_total"))
		}
		var last string
		for range round {
			last = sender.send(t, server.GeneralRoomID, content)
		}
		if f := sender.ackOf(t, last); f.Type != model.TypeAck {
			t.Fatalf("sender: %+v", f)
		}
		sent += round
		// The member that reads gets every message, in order. Waiting for the
		// round keeps the fan-out from falling behind on a loaded machine, where
		// its passes would grow past the bound for everyone.
		for range round {
			f := reader.c.WaitType(t, model.TypeMessage)
			if f.Seq <= lastSeq {
				t.Fatalf("reader: seq %d after %d", f.Seq, lastSeq)
			}
			lastSeq = f.Seq
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
	}
	waitMetric(t, in, "parley_connections_open 2")

	peak := server.PeakPending()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	closed := strings.Count(logs.String(), "code=1013")
	t.Logf("%d messages; %d stalled closed 1013; at most %d bytes queued for one session; heap in use %.1f MiB before, %.1f MiB at most while stalled, %.1f MiB after",
		sent, closed, peak, mib(before.HeapInuse), mib(peakHeap), mib(after.HeapInuse))
	if closed != stalled {
		t.Fatalf("%d connections closed with 1013, want %d", closed, stalled)
	}
	// Each stalled session holds at most about the bound (the frames themselves are
	// shared by all). Without it each held up to 4,096 frames, and a copy of what
	// its stuck write had taken, until the write timed out: 190 MiB here.
	if grown := int64(peakHeap) - int64(before.HeapInuse); grown > stalled*limit {
		t.Fatalf("the heap grew by %.1f MiB with %d stalled members", float64(grown)/(1<<20), stalled)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// grepMetric answers the lines of /metrics that start with name.
func grepMetric(t testing.TB, in *servertest.Instance, name string) string {
	var out []string
	for _, l := range strings.Split(metricsText(t, in), "\n") {
		if strings.HasPrefix(l, name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
