package server_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// BenchmarkSendAck measures the send→ack path on a real server and real sockets:
// b.N messages spread over concurrent senders in one room, each sender keeping a
// window of messages in flight. Each sender's client also receives every message of
// the room, as a member does.
//
// The batch=1 cases turn group commit off: the baseline it is measured against.
func BenchmarkSendAck(b *testing.B) {
	for _, c := range []struct{ senders, batch int }{{1, 0}, {8, 0}, {8, 1}, {32, 0}, {32, 1}} {
		senders := c.senders
		name := fmt.Sprintf("senders=%d", senders)
		if c.batch == 1 {
			name += "/batch=1"
		}
		b.Run(name, func(b *testing.B) {
			cfg := testConfig()
			cfg.CommitBatch = c.batch
			cfg.MsgRate, cfg.MsgBurst = 1e9, 1e9
			cfg.SendQueue = 1 << 16
			in := servertest.Start(b, cfg)
			users := make([]*user, senders)
			for i := range users {
				users[i] = connect(b, in, fmt.Sprintf("bench%02d", i))
			}
			const window = 64
			b.ResetTimer()
			var wg sync.WaitGroup
			for i, u := range users {
				n := b.N / senders
				if i < b.N%senders {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					sendWindowed(b, u, n, window)
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// sendWindowed sends n messages keeping at most window unacknowledged.
func sendWindowed(b *testing.B, u *user, n, window int) {
	sent, acked := 0, 0
	for acked < n {
		for sent < n && sent-acked < window {
			u.c.Send(b, model.SendFrame{Type: model.TypeMessage, ID: model.NewMessageID(), RoomID: "general", Content: "benchmark message"})
			sent++
		}
		raw, err := u.c.NextRaw(servertest.DefaultWait)
		if err != nil {
			b.Error(err)
			return
		}
		if len(raw) > 12 && string(raw[:12]) == `{"type":"ack` {
			acked++
		}
	}
}
