package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// storedRoom makes a real store holding n messages in room "big" (every fifth one own,
// texts of varied length, some long enough to wrap) and an engine over it that is
// never connected: the chat reads the store only.
func storedRoom(b *testing.B, n int) *clientEngine {
	b.Helper()
	st, err := storage.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.SaveAccount(storage.Account{ServerURL: "http://127.0.0.1:1", UserID: "me", Username: "me",
		DisplayName: "Me", RefreshToken: "r"}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.UpsertRooms([]model.Room{{ID: "big", Name: "big", Public: true, Epoch: "e1"}}); err != nil {
		b.Fatal(err)
	}
	words := "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
	base := time.Now().Add(-time.Duration(n) * 20 * time.Second)
	const chunk = 5000
	for from := 1; from <= n; from += chunk {
		page := make([]model.Message, 0, chunk)
		for seq := from; seq < from+chunk && seq <= n; seq++ {
			sender := "bob"
			if seq%5 == 0 {
				sender = "me"
			}
			text := fmt.Sprintf("message %d ", seq) + words[:seq*7%len(words)]
			if seq%11 == 0 {
				text += words + words
			}
			page = append(page, model.Message{ID: fmt.Sprintf("big-%07d", seq), RoomID: "big", Seq: int64(seq),
				SenderID: sender, SenderName: sender, Content: text,
				Timestamp: model.NewTime(base.Add(time.Duration(seq) * 20 * time.Second))})
		}
		if _, err := st.SaveIncoming(page); err != nil {
			b.Fatal(err)
		}
	}
	c, err := pnet.New(pnet.Config{ServerURL: "http://127.0.0.1:1", Store: st})
	if err != nil {
		b.Fatal(err)
	}
	return newClientEngine(c)
}

// BenchmarkOpenRoom opens a room at its newest message: store read, row measuring, the
// visible rows bound, in a 400×700 window.
func BenchmarkOpenRoom(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			eng := storedRoom(b, n)
			test.NewTempApp(b)
			w := test.NewTempWindow(b, nil)
			w.Resize(fyne.NewSize(400, 700))
			want := fmt.Sprintf("big-%07d", n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clear(wrapCache.m) // measure every open from scratch
				c := newChatScreen(eng, inlineRunner(), RoomItem{ID: "big", Name: "big"}, nil)
				w.SetContent(c.content)
				if ids := c.list.visibleIDs(); len(ids) == 0 || ids[len(ids)-1] != want {
					b.Fatalf("not at the newest: %v", ids)
				}
			}
		})
	}
}

// BenchmarkScrollStep scrolls up 40 px a step, paging older rows in from the store as
// the top comes near, like a wheel held down.
func BenchmarkScrollStep(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			eng := storedRoom(b, n)
			test.NewTempApp(b)
			c := newChatScreen(eng, inlineRunner(), RoomItem{ID: "big", Name: "big"}, nil)
			w := test.NewTempWindow(b, c.content)
			w.Resize(fyne.NewSize(400, 700))
			l := c.list
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if l.scroll.Offset.Y <= 0 && !l.hasOlder {
					b.StopTimer()
					l.scrollToBottom()
					b.StartTimer()
				}
				scrollBy(l, -40)
			}
			b.StopTimer()
			if len(l.rows) > maxWindow {
				b.Fatalf("window grew to %d rows", len(l.rows))
			}
		})
	}
}
