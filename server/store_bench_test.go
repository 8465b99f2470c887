package server

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/internal/pgtest"
)

// BenchmarkAppendMessages measures the group commit's store call: one batch of 500
// messages spread over rooms, as the committer writes it under load. The figure that
// matters is msgs/s: the ceiling of acked sends. The checked cases look stored ids up
// before inserting, as every batch did before appendUnchecked. The postgres cases run
// on the test cluster (pgtest: no fsync), so they show the statements' cost, not a
// disk's.
func BenchmarkAppendMessages(b *testing.B) {
	for _, c := range []struct {
		postgres bool
		rooms    int
		checked  bool
	}{{false, 1, false}, {false, 50, false}, {false, 50, true}, {false, 500, false}, {false, 500, true},
		{true, 1, false}, {true, 50, false}, {true, 500, false}} {
		rooms := c.rooms
		name := fmt.Sprintf("rooms=%d", rooms)
		if c.checked {
			name += "/checked" // the baseline: stored ids looked up first
		}
		if c.postgres {
			name = "postgres/" + name
		}
		b.Run(name, func(b *testing.B) {
			uncheckedAppend = !c.checked
			defer func() { uncheckedAppend = true }()
			dsn := "file:" + filepath.Join(b.TempDir(), "bench.db")
			if c.postgres {
				dsn = pgtest.Shared(b).NewDatabase(b)
			}
			st, err := OpenStore(dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			for r := range rooms {
				if err := st.EnsureRoom(ctx, RoomRecord{ID: fmt.Sprintf("room%d", r), Name: "r", Epoch: "e"}); err != nil {
					b.Fatal(err)
				}
			}
			const batch = 500
			msgs := make([]NewMessage, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range msgs {
					msgs[k] = NewMessage{ID: model.NewMessageID(), RoomID: fmt.Sprintf("room%d", k%rooms), SenderID: "u",
						SenderName: "User", Content: "a benchmark message of a usual length", AtMs: int64(i)}
				}
				res, err := st.AppendMessages(ctx, msgs)
				if err != nil || len(res) != batch || !res[batch-1].New {
					b.Fatalf("append: %v", err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
