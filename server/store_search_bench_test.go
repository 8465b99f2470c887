package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/parleychat/parley/server/internal/pgtest"
)

// BenchmarkSearch1M measures GET /api/search's store call at 1,000,000 stored messages
// (PARLEY_BENCH_SEARCH_N changes the count) in 100 rooms: p50 and p99 of one query
// over the queries below. The rows are inserted in bulk in the setup, through the
// same triggers (SQLite) and index (PostgreSQL) the server keeps, not timed. The
// texts are 6–14 words drawn from a 20,000-word vocabulary with a Zipf law, like
// prose: the first words are in most messages, the last in a few.
//
//	go test -run '^$' -bench BenchmarkSearch1M -benchtime 200x -timeout 60m ./server/
func BenchmarkSearch1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_SEARCH_N")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			if backend == "postgres" && os.Getenv("PARLEY_BENCH_SEARCH_PG") == "" {
				b.Skip("set PARLEY_BENCH_SEARCH_PG=1 to run it on PostgreSQL too")
			}
			dsn := "file:" + filepath.Join(b.TempDir(), "search.db")
			if backend == "postgres" {
				dsn = pgtest.Shared(b).NewDatabase(b)
			}
			st, err := OpenStore(dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			start := time.Now()
			words := fillSearchBench(b, st.(*gormStore), n)
			b.Logf("%d messages stored in %v", n, time.Since(start).Round(time.Second))
			for _, q := range []struct{ name, user, room, query string }{
				{"common word, all rooms", "member", "", words[3]},
				{"two common words, all rooms", "member", "", words[5] + " " + words[9]},
				{"mid word, all rooms", "member", "", words[500]},
				{"rare word, all rooms", "member", "", words[15000]},
				{"common word, one room", "member", "room7", words[3]},
				{"rare word, one room", "member", "room7", words[15000]},
				{"common word, member of 1 room of 100", "loner", "", words[3]},
				{"no match", "member", "", "zzzznotaword"},
			} {
				b.Run(q.name, func(b *testing.B) {
					ctx := context.Background()
					lat := make([]time.Duration, 0, b.N)
					found := 0
					for i := 0; i < b.N; i++ {
						t0 := time.Now()
						res, err := st.SearchMessages(ctx, q.user, q.room, q.query, 50)
						lat = append(lat, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						found = len(res)
					}
					var slow []int
					for i, d := range lat {
						if d > 100*time.Millisecond {
							slow = append(slow, i)
						}
					}
					if len(slow) > 0 {
						b.Logf("%d queries over 100 ms, at %v", len(slow), slow[:min(len(slow), 20)])
					}
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
					b.ReportMetric(float64(found), "results")
				})
			}
		})
	}
}

// fillSearchBench stores n messages over 100 rooms ("member" belongs to all, "loner"
// to room0 only) with multi-row INSERTs in transactions of 10,000, and answers the
// vocabulary, most frequent first.
func fillSearchBench(b testing.TB, s *gormStore, n int) []string {
	ctx := context.Background()
	const rooms = 100
	for r := range rooms {
		members := []string{"member"}
		if r == 0 {
			members = append(members, "loner")
		}
		if err := s.CreateRoom(ctx, RoomRecord{ID: fmt.Sprint("room", r), Name: "r", Public: true, Epoch: "e", MemberIDs: members}); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 20000)
	for i := range words {
		var w strings.Builder
		for range 4 + rng.IntN(6) {
			w.WriteByte(byte('a' + rng.IntN(26)))
		}
		words[i] = w.String() + strconv.Itoa(i) // unique
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, uint64(len(words)-1))
	seqs := make([]int64, rooms)
	const tx, stmt = 10_000, 500
	for done := 0; done < n; done += tx {
		err := s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
			for part := done; part < min(done+tx, n); part += stmt {
				var sql strings.Builder
				sql.WriteString("INSERT INTO messages (room_id, id, seq, sender_id, sender_name, content, attachment, at_ms, reply_to, edited_at_ms, deleted) VALUES ")
				var args []any
				for i := part; i < min(part+stmt, n); i++ {
					r := i % rooms
					seqs[r]++
					var c strings.Builder
					for k := range 6 + rng.IntN(9) {
						if k > 0 {
							c.WriteByte(' ')
						}
						c.WriteString(words[zipf.Uint64()])
					}
					if i > part {
						sql.WriteString(",")
					}
					sql.WriteString("(?, ?, ?, ?, ?, ?, '', ?, '', 0, ?)")
					args = append(args, fmt.Sprint("room", r), fmt.Sprintf("%032x", i), seqs[r], "u", "User", c.String(), int64(i), false)
				}
				if err := db.Exec(sql.String(), args...).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for r := range rooms {
		if err := s.db.Exec("UPDATE rooms SET last_seq = ? WHERE id = ?", seqs[r], fmt.Sprint("room", r)).Error; err != nil {
			b.Fatal(err)
		}
	}
	if isPostgres(s.db) {
		// What autovacuum does to a table after a load, before the first reader
		// pays for it (hint bits, the visibility map, the planner's statistics).
		if err := s.db.Exec("VACUUM ANALYZE messages").Error; err != nil {
			b.Fatal(err)
		}
	}
	return words
}
