package storage

import (
	"fmt"
	"testing"

	"github.com/parleychat/parley/model"
)

// BenchmarkSaveIncoming10k stores 10,000 new messages in batches of 500 (a sync's page).
func BenchmarkSaveIncoming10k(b *testing.B) {
	const total, batch = 10_000, 500
	s := openTest(b)
	signIn(b, s)
	var seq int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		room := fmt.Sprintf("r%d", i)
		for seq = 1; seq <= total; seq += batch {
			b.StopTimer()
			page := msgs(room, seq, seq+batch-1, "bob")
			b.StartTimer()
			fresh, err := s.SaveIncoming(page)
			if err != nil || len(fresh) != batch {
				b.Fatalf("SaveIncoming = %d fresh, %v", len(fresh), err)
			}
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLatest100k opens a room of 100,000 messages to its newest 50.
func BenchmarkLatest100k(b *testing.B) {
	s := largeStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Latest("big", 50)
		if err != nil || len(got) != 50 {
			b.Fatalf("Latest = %d, %v", len(got), err)
		}
	}
}

// BenchmarkBefore100k pages 50 older messages from the middle of a 100,000-message room.
func BenchmarkBefore100k(b *testing.B) {
	s := largeStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Before("big", 50_000-int64(i%1000)*40, 50)
		if err != nil || len(got) != 50 {
			b.Fatalf("Before = %d, %v", len(got), err)
		}
	}
}

// BenchmarkRooms100k lists rooms (with previews) when one of them holds 100,000 messages.
func BenchmarkRooms100k(b *testing.B) {
	s := largeStore(b)
	for r := range 20 {
		mustIngest(b, s, msgs(fmt.Sprintf("room%02d", r), 1, 20, "bob"))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rooms, err := s.Rooms()
		if err != nil || len(rooms) != 21 {
			b.Fatalf("Rooms = %d, %v", len(rooms), err)
		}
	}
}

func largeStore(b *testing.B) *Store {
	b.Helper()
	s := openTest(b)
	signIn(b, s)
	fill(b, s, "big", 100_000)
	return s
}

// BenchmarkSaveIncomingOneByOne1k is the baseline for BenchmarkSaveIncoming10k: 1,000
// messages, one transaction each.
func BenchmarkSaveIncomingOneByOne1k(b *testing.B) {
	const total = 1_000
	s := openTest(b)
	signIn(b, s)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		room := fmt.Sprintf("r%d", i)
		for seq := int64(1); seq <= total; seq++ {
			if _, err := s.SaveIncoming([]model.Message{msg(room, seq, "bob")}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLatest1k is the baseline for BenchmarkLatest100k: a room of 1,000 messages.
func BenchmarkLatest1k(b *testing.B) {
	s := openTest(b)
	signIn(b, s)
	fill(b, s, "big", 1_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Latest("big", 50)
		if err != nil || len(got) != 50 {
			b.Fatalf("Latest = %d, %v", len(got), err)
		}
	}
}
