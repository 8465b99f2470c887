package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// pictureRoom makes a real store holding n picture messages in room "pics" (4:3, 3:4
// and 16:9 photos, each with its 320 px JPEG thumbnail already in the download cache,
// as after a first view) and an engine over it that is never connected.
func pictureRoom(b *testing.B, n int) *clientEngine {
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
	if _, err := st.UpsertRooms([]model.Room{{ID: "pics", Name: "pics", Public: true, Epoch: "e1"}}); err != nil {
		b.Fatal(err)
	}
	cache, err := storage.OpenDownloads(filepath.Join(filepath.Dir(st.OutgoingDir()), "downloads"), 0)
	if err != nil {
		b.Fatal(err)
	}
	shapes := [][2]int{{4000, 3000}, {3000, 4000}, {1920, 1080}}
	thumbs := make([][]byte, len(shapes))
	rnd := rand.New(rand.NewPCG(3, 4))
	for i, s := range shapes {
		w, h := 320, 320*s[1]/s[0]
		if h > 320 {
			w, h = 320*s[0]/s[1], 320
		}
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for j := range img.Pix {
			img.Pix[j] = byte(rnd.UintN(256))
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
			b.Fatal(err)
		}
		thumbs[i] = buf.Bytes()
	}
	base := time.Now().Add(-time.Duration(n) * time.Minute)
	msgs := make([]model.Message, 0, n)
	for seq := 1; seq <= n; seq++ {
		id := fmt.Sprintf("up%05d", seq)
		s := shapes[seq%len(shapes)]
		if _, err := cache.Put(id+".thumb", bytes.NewReader(thumbs[seq%len(shapes)])); err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, model.Message{ID: fmt.Sprintf("pics-%05d", seq), RoomID: "pics", Seq: int64(seq),
			SenderID: "bob", SenderName: "bob", Timestamp: model.NewTime(base.Add(time.Duration(seq) * time.Minute)),
			Attachment: &model.Attachment{URL: "/api/uploads/" + id, ThumbURL: "/api/uploads/" + id + "/thumb",
				Name: id + ".jpg", MIME: "image/jpeg", Size: 3 << 20, Width: s[0], Height: s[1]}})
	}
	if _, err := st.SaveIncoming(msgs); err != nil {
		b.Fatal(err)
	}
	c, err := pnet.New(pnet.Config{ServerURL: "http://127.0.0.1:1", Store: st})
	if err != nil {
		b.Fatal(err)
	}
	return newClientEngine(c)
}

// BenchmarkOpenPictureRoom opens a room of 200 picture messages at its newest, in a
// 400×700 window, until every picture on screen shows its thumbnail: store read, rows
// measured from the pictures' sizes, thumbnails read from the download cache and
// decoded (each chat decodes afresh).
func BenchmarkOpenPictureRoom(b *testing.B) {
	eng := pictureRoom(b, 200)
	test.NewTempApp(b)
	w := test.NewTempWindow(b, nil)
	w.Resize(fyne.NewSize(400, 700))
	shown := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := newChatScreen(eng, inlineRunner(), RoomItem{ID: "pics", Name: "pics"}, nil)
		w.SetContent(c.content)
		ids := c.list.visibleIDs()
		if len(ids) == 0 || ids[len(ids)-1] != "pics-00200" {
			b.Fatalf("not at the newest: %v", ids)
		}
		shown = 0
		for _, id := range ids {
			if p := c.list.rowWidgetFor(id).att; p.img.Image != nil && !p.img.Hidden {
				shown++
			}
		}
		if shown != len(ids) {
			b.Fatalf("%d of %d pictures shown", shown, len(ids))
		}
	}
	b.ReportMetric(float64(shown), "pictures/screen")
}
