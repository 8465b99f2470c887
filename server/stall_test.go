package server_test

import (
	"context"
	"encoding/json"
	"net/http"
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
