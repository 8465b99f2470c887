package server

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkLeadingMarks measures what the end of every room's sync replay adds: the
// user's own mark and the furthest marks of the other members, in a room of 10,000
// members with marks spread out (general, with everyone in it). It is paid once per
// room and connection, for rooms of up to syncMarksMembers members.
func BenchmarkLeadingMarks(b *testing.B) {
	for _, members := range []int{10, 10000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			st, err := OpenSQLite("file:" + filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			if err := st.EnsureRoom(ctx, RoomRecord{ID: "general", Name: "general", Public: true, Epoch: "e"}); err != nil {
				b.Fatal(err)
			}
			marks := make([]Mark, 0, members)
			for i := range members {
				id := fmt.Sprintf("user%05d", i)
				if err := st.CreateUser(ctx, UserRecord{ID: id, Username: id, DisplayName: id, PasswordHash: []byte("x")}, "general"); err != nil {
					b.Fatal(err)
				}
				marks = append(marks, Mark{RoomID: "general", UserID: id, DeliveredSeq: int64(i%997 + 1), ReadSeq: int64(i % 991)})
			}
			if _, err := st.SetMarks(ctx, marks); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got, err := st.(*gormStore).LeadingMarks(ctx, "general", fmt.Sprintf("user%05d", i%members), true)
				if err != nil || len(got) == 0 {
					b.Fatalf("leading marks: %v %v", got, err)
				}
			}
		})
	}
}
