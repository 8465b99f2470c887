package storage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

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

// BenchmarkSearch100k searches a store of 100,000 messages (words drawn from a
// 5,000-word vocabulary by a Zipf law, as chat text is) with a mix of queries: a
// common word, a mid word, a rare word, two words, a 3-letter prefix, and within one
// room. It reports the p50 and p99 of one query's latency.
func BenchmarkSearch100k(b *testing.B) {
	s := openTest(b)
	signIn(b, s)
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%c%c%d", 'a'+rune(rng.IntN(26)), 'a'+rune(rng.IntN(26)), i)
	}
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(vocab)-1))
	const total, rooms = 100_000, 20
	batch := make([]model.Message, 0, 500)
	for i := range total {
		room := fmt.Sprintf("room%02d", i%rooms)
		m := msg(room, int64(i/rooms+1), "bob")
		words := make([]string, 4+rng.IntN(8))
		for j := range words {
			words[j] = vocab[zipf.Uint64()]
		}
		m.Content = strings.Join(words, " ")
		batch = append(batch, m)
		if len(batch) == cap(batch) {
			mustIngest(b, s, batch)
			batch = batch[:0]
		}
	}
	queries := []struct{ q, room string }{
		{vocab[0], ""}, {vocab[50], ""}, {vocab[4000], ""}, {vocab[3] + " " + vocab[20], ""},
		{vocab[7][:3], ""}, {vocab[0], "room07"}, {vocab[300], "room03"},
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := queries[i%len(queries)]
		t0 := time.Now()
		if _, err := s.Search(q.q, q.room, SearchDefaultLimit); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkApplyUpdates10k folds 10,000 updates (edits and reactions, in batches of
// 500 as a sync page brings them) into a store holding their 10,000 targets, and
// reports the process's CPU per 10,000.
func BenchmarkApplyUpdates10k(b *testing.B) {
	const total, batch = 10_000, 500
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s := openTest(b)
		signIn(b, s)
		for seq := int64(1); seq <= total; seq += batch {
			mustIngest(b, s, msgs("r", seq, seq+batch-1, "bob"))
		}
		var us []model.Update
		for k := int64(0); k < total; k++ {
			target := msg("r", 1+k%total, "").ID
			if k%2 == 0 {
				us = append(us, edit("r", total+1+k, "bob", target, fmt.Sprintf("edited %d", k)))
			} else {
				us = append(us, reaction("r", total+1+k, fmt.Sprintf("u%d", k%7), target, "👍", true))
			}
		}
		b.StartTimer()
		c0 := processCPU()
		for chunk := range slices.Chunk(us, batch) {
			if f := mustApply(b, s, chunk...); len(f.Changed) == 0 {
				b.Fatal("nothing folded")
			}
		}
		cpu += processCPU() - c0
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}
