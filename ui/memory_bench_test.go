package ui

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
)

// BenchmarkFloodHeap opens a room of 100,000 stored messages in a 960×640 desktop shell,
// floods 10,000 more into it (stored, in batches of ten at 300 a second, through the
// bridge's updateGate) and reports the live heap after a garbage collection: what the
// bounded window holds, plus every cache the rows leave behind. Fyne's test driver
// draws no textures: docs/benchmarks.md has the real window's RSS.
func BenchmarkFloodHeap(b *testing.B) {
	const stored, flood, perFrame = 100_000, 10_000, 10
	eng := storedRoom(b, stored)
	for i := 0; i < b.N; i++ {
		test.NewTempApp(b)
		w := test.NewTempWindow(b, nil)
		s := newShell(w, eng, inlineRunner(), false)
		w.SetContent(s.content)
		w.Resize(fyne.NewSize(960, 640))
		s.loadRooms("big")
		base := time.Now()
		var gate updateGate // as the bridge: 300 messages a second, in batches of ten
		clock := base
		for from := 1; from <= flood; from += perFrame {
			ms := make([]model.Message, 0, perFrame)
			for n := from; n < from+perFrame; n++ {
				seq := stored + n
				ms = append(ms, model.Message{ID: fmt.Sprintf("flood-%07d", n), RoomID: "big", Seq: int64(seq),
					SenderID: "bob", SenderName: "bob", Content: floodText(n),
					Timestamp: model.NewTime(base.Add(time.Duration(n) * time.Millisecond))})
			}
			saved, err := eng.store.SaveIncoming(ms)
			if err != nil {
				b.Fatal(err)
			}
			clock = clock.Add(time.Second / 30)
			if gate.waiting() && !clock.Before(gate.due()) {
				s.apply(gate.take(clock))
			}
			if gate.add(Update{Rows: rowsOf(saved)}, clock) {
				s.apply(gate.take(clock))
			}
		}
		if gate.waiting() {
			s.apply(gate.take(clock))
		}
		if ids := s.chat.list.visibleIDs(); len(ids) == 0 || ids[len(ids)-1] != fmt.Sprintf("flood-%07d", flood) {
			b.Fatalf("the newest message is not at the bottom: %v", ids)
		}
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(float64(len(s.chat.list.rows)), "rows")
	}
}

// floodText is the n-th flood message: varied lengths, every eleventh one long enough to wrap.
func floodText(n int) string {
	words := "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
	text := fmt.Sprintf("flood %d ", n) + words[:n*7%len(words)]
	if n%11 == 0 {
		text += words + words
	}
	return text
}
