package ui

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// attachFake is the fake engine with files: Fetch answers the files it was given by
// url, and it records what was sent and canceled.
type attachFake struct {
	*fakeEngine
	mu       sync.Mutex
	files    map[string]string // url → local file
	fetched  []string
	sentFile []string
	canceled []string
}

func newAttachFake() *attachFake {
	return &attachFake{fakeEngine: newFakeEngine(), files: map[string]string{}}
}

func (f *attachFake) SendReader(roomID, name string, r io.Reader) error {
	data, err := io.ReadAll(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sentFile = append(f.sentFile, name+":"+string(data))
	return err
}

func (f *attachFake) SendFile(roomID, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sentFile = append(f.sentFile, path)
	return nil
}

func (f *attachFake) CancelUpload(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, id)
	return nil
}

func (f *attachFake) Fetch(_ context.Context, url string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetched = append(f.fetched, url)
	if p, ok := f.files[url]; ok {
		return p, nil
	}
	return "", errors.New("no such upload")
}

// writePNG writes a w × h picture of one colour and returns its path.
func writePNG(t testing.TB, dir string, w, h int, c color.Color) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	p := filepath.Join(dir, "pic.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeNoisePNG writes a w × h picture of random pixels and returns its path.
func writeNoisePNG(t testing.TB, dir string, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rnd.UintN(256))
	}
	p := filepath.Join(dir, "pic.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// queuedRunner holds background work until the test runs it: it shows a widget before
// and after what it waits for arrives. The UI side runs in place.
type queuedRunner struct {
	hold  bool // queue background work; false: run it in place
	queue []func()
}

func (q *queuedRunner) runner() runner {
	return runner{bg: func(f func()) {
		if !q.hold {
			f()
			return
		}
		q.queue = append(q.queue, f)
	}, ui: func(f func()) { f() }}
}

func (q *queuedRunner) drain() {
	for len(q.queue) > 0 {
		f := q.queue[0]
		q.queue = q.queue[1:]
		f()
	}
}

var (
	pictureRow = Row{ID: "m-pic", RoomID: "general", Seq: 1, SenderID: "u-alice", SenderName: "Alice", Time: t0,
		Att: Attachment{URL: "/api/uploads/up1", ThumbURL: "/api/uploads/up1/thumb", Name: "cat.png", MIME: "image/png",
			Size: 123456, Width: 1600, Height: 900, Image: true}}
	fileRow = Row{ID: "m-file", RoomID: "general", Seq: 2, SenderID: "u-alice", SenderName: "Alice", Time: t0,
		Att: Attachment{URL: "/api/uploads/up2", Name: "report.pdf", MIME: "application/pdf", Size: 12 * 1024}}
)

// chatWith opens general, holding rows, over eng in a 700 px wide window; before the
// window shows it, hold runs.
func chatWith(t *testing.T, eng *attachFake, run runner, hold func(), rows ...Row) (*chatScreen, fyne.Window) {
	t.Helper()
	eng.rows["general"] = rows
	c := newChatScreen(eng, run, RoomItem{ID: "general", Name: "general"}, nil)
	if hold != nil {
		hold()
	}
	w := test.NewTempWindow(t, c.content)
	c.attach.win = func() fyne.Window { return w }
	w.Resize(fyne.NewSize(700, 600))
	return c, w
}

// TestImageBubbleAspectAndNoJump: a picture shows at its aspect ratio, in a box as big
// before its thumbnail arrives as after, and the row's height does not change.
func TestImageBubbleAspectAndNoJump(t *testing.T) {
	test.NewTempApp(t)
	eng := newAttachFake()
	eng.files[pictureRow.Att.ThumbURL] = writePNG(t, t.TempDir(), 320, 180, color.NRGBA{0xE0, 0x10, 0xC0, 0xFF})
	var q queuedRunner
	c, _ := chatWith(t, eng, q.runner(), func() { q.hold = true }, pictureRow)
	w := c.list.rowWidgetFor(pictureRow.ID)
	if w == nil {
		t.Fatal("the picture's row is not shown")
	}
	p := w.att
	before, rowBefore := p.Size(), c.list.heights[0]
	if p.Hidden || !p.img.Hidden || p.placeholder.Size() != before {
		t.Fatalf("before the thumbnail: part hidden=%v img hidden=%v placeholder %v part %v",
			p.Hidden, p.img.Hidden, p.placeholder.Size(), before)
	}
	if ratio := before.Width / before.Height; ratio < 1.76 || ratio > 1.79 {
		t.Errorf("box %v: ratio %.3f, want 16:9", before, ratio)
	}
	if before.Width != imageMaxSide {
		t.Errorf("box width %v; want %v for a wide picture", before.Width, imageMaxSide)
	}
	q.drain() // the thumbnail downloads and decodes
	if p.img.Hidden || p.img.Image == nil {
		t.Fatal("the thumbnail did not show")
	}
	if p.Size() != before || p.img.Size() != before || c.list.heights[0] != rowBefore || w.Size().Height != rowBefore {
		t.Errorf("after the thumbnail: part %v img %v row %v; before: %v row %v", p.Size(), p.img.Size(),
			c.list.heights[0], before, rowBefore)
	}
	if len(eng.fetched) != 1 || eng.fetched[0] != pictureRow.Att.ThumbURL {
		t.Errorf("fetched %v; want the thumbnail once", eng.fetched)
	}

	// A tall picture is as tall as the longest side allows, its width to scale.
	tall := pictureRow
	tall.Att.Width, tall.Att.Height = 600, 1200
	if b := attachmentBox(tall.Att, 500); b.Height != imageMaxSide || b.Width != imageMaxSide/2 {
		t.Errorf("tall box %v; want %v × %v", b, imageMaxSide/2, imageMaxSide)
	}

	// Tapping opens the viewer with the full picture.
	var opened []Attachment
	c.attach.opened = func(a Attachment) { opened = append(opened, a) }
	test.Tap(p)
	if len(opened) != 1 || opened[0].URL != pictureRow.Att.URL {
		t.Errorf("tap opened %v", opened)
	}
}

// TestFileChip: another file shows as a chip with its name, its size and Save / Open.
func TestFileChip(t *testing.T) {
	test.NewTempApp(t)
	c, _ := chatWith(t, newAttachFake(), inlineRunner(), nil, fileRow)
	w := c.list.rowWidgetFor(fileRow.ID)
	if w == nil {
		t.Fatal("the file's row is not shown")
	}
	p := w.att
	if p.Hidden || p.name.Text != "report.pdf" || p.detail.Text != "12.0 KB" || p.detail.Hidden {
		t.Errorf("chip: hidden=%v name %q detail %q (hidden=%v)", p.Hidden, p.name.Text, p.detail.Text, p.detail.Hidden)
	}
	if p.save.Hidden || p.open.Hidden || !p.bar.Hidden || !p.cancel.Hidden {
		t.Errorf("chip buttons: save hidden=%v open hidden=%v bar hidden=%v cancel hidden=%v",
			p.save.Hidden, p.open.Hidden, p.bar.Hidden, p.cancel.Hidden)
	}
	if p.Size().Height != chipHeight() || w.textBox.Visible() {
		t.Errorf("chip %v (want height %v); text box visible=%v for a file-only message", p.Size(), chipHeight(), w.textBox.Visible())
	}
	// Save and Open sit side by side inside the chip, apart, right of the name.
	sv, op := p.save, p.open
	if sv.Position().X+sv.Size().Width > op.Position().X || op.Position().X+op.Size().Width > p.Size().Width ||
		p.name.Position().X+p.name.Size().Width > sv.Position().X || sv.Size().Width < theme.IconInlineSize()+2*theme.Padding() {
		t.Errorf("chip layout: name %v+%v, save %v+%v, open %v+%v, chip %v", p.name.Position(), p.name.Size(),
			sv.Position(), sv.Size(), op.Position(), op.Size(), p.Size())
	}
	var opened []Attachment
	c.attach.opened = func(a Attachment) { opened = append(opened, a) }
	test.Tap(p.open)
	if len(opened) != 1 || opened[0].Name != "report.pdf" {
		t.Errorf("Open opened %v", opened)
	}
	// With a caption, the text goes under the chip.
	withText := fileRow
	withText.Text = "the numbers"
	c.list.upsert([]Row{withText})
	w = c.list.rowWidgetFor(fileRow.ID)
	if !w.textBox.Visible() || w.textBox.Position().Y < w.att.Position().Y+w.att.Size().Height {
		t.Errorf("caption at %v, chip at %v %v", w.textBox.Position(), w.att.Position(), w.att.Size())
	}
}

// TestUploadProgressAndCancel: an own file on its way shows a progress bar that follows
// the engine's progress, and a cancel button that stops the upload; a failed upload
// shows the server's reason.
func TestUploadProgressAndCancel(t *testing.T) {
	test.NewTempApp(t)
	eng := newAttachFake()
	up := Row{ID: "m-up", RoomID: "general", LocalOrder: 1, SenderID: "u-me", SenderName: "Me", Time: t0, Own: true,
		Status: model.StatusSending, Att: Attachment{Name: "big.zip", Size: 1000, Local: "/nonexistent/big.zip"}}
	c, _ := chatWith(t, eng, inlineRunner(), nil, up)
	p := c.list.rowWidgetFor(up.ID).att
	if p.bar.Hidden || p.cancel.Hidden || !p.save.Hidden {
		t.Fatalf("uploading chip: bar hidden=%v cancel hidden=%v save hidden=%v", p.bar.Hidden, p.cancel.Hidden, p.save.Hidden)
	}
	c.setProgress(map[string]Progress{up.ID: {Sent: 250, Total: 1000}})
	if p.bar.Value != 250 || p.bar.Max != 1000 {
		t.Errorf("bar %v of %v; want 250 of 1000", p.bar.Value, p.bar.Max)
	}
	test.Tap(p.cancel)
	if len(eng.canceled) != 1 || eng.canceled[0] != up.ID {
		t.Errorf("canceled %v; want %s", eng.canceled, up.ID)
	}
	failed := up
	failed.Status, failed.Err = model.StatusFailed, "file too large (max 25 MiB)"
	c.list.upsert([]Row{failed})
	w := c.list.rowWidgetFor(up.ID)
	if !w.att.bar.Hidden || !w.att.cancel.Hidden || w.att.detail.Text != failed.Err || w.retry.Hidden {
		t.Errorf("failed: bar hidden=%v cancel hidden=%v detail %q retry hidden=%v", w.att.bar.Hidden,
			w.att.cancel.Hidden, w.att.detail.Text, w.retry.Hidden)
	}
}

// TestPastedFiles: a pasted path or copied file URI list attaches; other text is text.
func TestPastedFiles(t *testing.T) {
	test.NewTempApp(t)
	dir := t.TempDir()
	pic := writePNG(t, dir, 4, 4, color.Black)
	eng := newAttachFake()
	c, w := chatWith(t, eng, inlineRunner(), nil)
	if got := pastedFiles("# copied\r\nfile://" + pic + "\r\n"); len(got) != 1 || got[0].Path() != pic {
		t.Errorf("uri list: %v", got)
	}
	for _, text := range []string{"hello", pic + " is my file", "/no/such/file.png", dir, "relative.png"} {
		if got := pastedFiles(text); got != nil {
			t.Errorf("pastedFiles(%q) = %v; want text", text, got)
		}
	}
	w.Canvas().Focus(c.composer)
	cb := test.NewClipboard()
	cb.SetContent(pic)
	c.composer.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	if len(eng.sentFile) != 1 || eng.sentFile[0] != pic || c.composer.Text != "" {
		t.Errorf("paste of a path: sent %v, composer %q", eng.sentFile, c.composer.Text)
	}
	cb.SetContent("just words")
	c.composer.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	if len(eng.sentFile) != 1 || c.composer.Text != "just words" {
		t.Errorf("paste of text: sent %v, composer %q", eng.sentFile, c.composer.Text)
	}
	// A dropped file that is not local is read as a stream.
	c.attachURIs([]fyne.URI{storage.NewFileURI(pic)})
	if len(eng.sentFile) != 2 || eng.sentFile[1] != pic {
		t.Errorf("drop: sent %v", eng.sentFile)
	}
}

// TestSendPictureShowsProgressThenImage: with the real engine and server, a dropped
// picture shows as uploading with its progress, then as the picture from the server.
func TestSendPictureShowsProgressThenImage(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	// Through a proxy that lets 128 KB/s upstream: the upload takes a second or two, long
	// enough for the bubble to show it under way.
	tsrv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(tsrv, "parley", "127.0.0.1:0", strings.TrimPrefix(srv.URL, "http://"))
	if err := proxy.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(proxy.Stop)
	alice := startClient(t, "http://"+proxy.Listen, "alice")
	if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(
		`{"name":"slow","type":"bandwidth","stream":"upstream","attributes":{"rate":128}}`)); err != nil {
		t.Fatal(err)
	}
	test.NewTempApp(t)
	eng := newClientEngine(alice)
	win := test.NewTempWindow(t, nil)
	s := newShell(win, eng, inlineRunner(), false)
	win.SetContent(s.content)
	win.Resize(fyne.NewSize(900, 600))
	s.loadRooms(server.GeneralRoomID)
	if s.chat == nil {
		t.Fatal("general is not open")
	}
	pic := writeNoisePNG(t, t.TempDir(), 400, 200) // ~300 KB: noise does not compress
	s.dropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(pic)})
	list := s.chat.list
	var id string
	var uploadingH float32
	pump(t, alice, eng, s, "the uploading bubble", func() bool {
		for i, r := range list.rows {
			if r.Own && r.Att.Name == "pic.png" {
				id, uploadingH = r.ID, list.heights[i]
				w := list.rowWidgetFor(id)
				return w != nil && r.Att.Image && r.Att.Width == 400 && !w.att.bar.Hidden
			}
		}
		return false
	})
	pump(t, alice, eng, s, "upload progress", func() bool { _, ok := s.chat.attach.progress[id]; return ok })
	pump(t, alice, eng, s, "the picture from the server", func() bool {
		w := list.rowWidgetFor(id)
		return w != nil && w.view.Att.ThumbURL != "" && w.view.Status != model.StatusSending &&
			!w.att.img.Hidden && w.att.img.Image != nil && w.att.bar.Hidden
	})
	w := list.rowWidgetFor(id)
	if w.Size().Height != uploadingH {
		t.Errorf("row height %v after the upload; %v while uploading", w.Size().Height, uploadingH)
	}
	if b := w.att.img.Image.Bounds(); b.Dx() != 2*b.Dy() {
		t.Errorf("thumbnail %v; want 2:1", b)
	}
	pump(t, alice, eng, s, "the rooms list's photo preview", func() bool {
		r, _ := s.rooms.room(server.GeneralRoomID)
		return r.Preview == "You: 📷 Photo"
	})
}

// TestPictureLoadedInPlaceShows: when the thumbnail is at hand at once (the runner does
// the work in place, as a warm cache nearly does), the first bind shows it.
func TestPictureLoadedInPlaceShows(t *testing.T) {
	test.NewTempApp(t)
	eng := newAttachFake()
	eng.files[pictureRow.Att.ThumbURL] = writePNG(t, t.TempDir(), 320, 180, color.White)
	c, _ := chatWith(t, eng, inlineRunner(), nil, pictureRow)
	if p := c.list.rowWidgetFor(pictureRow.ID).att; p.img.Image == nil || p.img.Hidden {
		t.Errorf("picture not shown: image %v hidden=%v", p.img.Image != nil, p.img.Hidden)
	}
}

// TestNotifyRowNamesTheFile: a notification of a file-only message says what came.
func TestNotifyRowNamesTheFile(t *testing.T) {
	if got := notifyRow(pictureRow).Text; got != "📷 Photo" {
		t.Errorf("picture: %q", got)
	}
	if got := notifyRow(fileRow).Text; got != "📎 report.pdf" {
		t.Errorf("file: %q", got)
	}
	withText := fileRow
	withText.Text = "numbers"
	if got := notifyRow(withText).Text; got != "numbers" {
		t.Errorf("with text: %q", got)
	}
}
