package net

import (
	"bytes"
	"context"
	"crypto/rand"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/storage"
)

// writeFile writes n random bytes to a file in a temp folder and answers its path and bytes.
func writeFile(t *testing.T, name string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestSendFileUploadsThenSends: the file uploads with progress, the message leaves
// with the server's attachment, the receiver downloads it into its cache.
func TestSendFileUploadsThenSends(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	b := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()
	path, data := writeFile(t, "notes.bin", 3<<20)
	m, err := a.SendFile(room, path, "the notes")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != model.StatusSending || m.UploadPath != path || m.Attachment == nil || m.Attachment.Name != "notes.bin" || m.Attachment.Size != 3<<20 {
		t.Fatalf("queued %+v", m)
	}
	flush(t, a)
	var got storage.Message
	b.waitUntil("the message", func() bool { got = b.msgs[m.ID]; return got.ID != "" })
	if att := got.Attachment; att == nil || !strings.HasPrefix(att.URL, "/api/uploads/") || att.Size != int64(len(data)) ||
		att.Name != "notes.bin" || att.MIME != "application/octet-stream" || got.Content != "the notes" {
		t.Fatalf("received %+v %+v", got, got.Attachment)
	}
	a.waitUntil("the sender's copy sent, its progress at the whole file", func() bool {
		prog := a.uploads[m.ID]
		s := a.msgs[m.ID]
		return len(prog) > 0 && prog[len(prog)-1] == (UploadProgress{Sent: 3 << 20, Total: 3 << 20}) &&
			s.UploadPath == "" && s.Attachment != nil && s.Attachment.URL == got.Attachment.URL
	})
	cache, err := storage.OpenDownloads(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := b.Download(ctx, got.Attachment.URL, cache)
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := os.ReadFile(p); !bytes.Equal(back, data) {
		t.Fatal("downloaded file differs")
	}
	if p2, err := b.Download(ctx, got.Attachment.URL, cache); err != nil || p2 != p {
		t.Fatalf("second download %q %v, want the cached %q", p2, err, p)
	}
	if _, err := b.Download(ctx, got.Attachment.URL+"/thumb", cache); err == nil {
		t.Fatal("the thumbnail of a file that is no image downloaded")
	}
	if _, err := b.Download(ctx, "https://elsewhere.example/x", cache); err == nil {
		t.Fatal("a download from another host accepted")
	}
}

// TestSendImageThumbnail: an image's attachment has its size and a thumbnail, which
// downloads into the cache beside the image.
func TestSendImageThumbnail(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	img := image.NewRGBA(image.Rect(0, 0, 900, 600))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pic.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := a.SendFile(a.generalRoom(), path, "")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	var att *model.Attachment
	a.waitUntil("the message sent", func() bool {
		att = a.msgs[m.ID].Attachment
		return a.msgs[m.ID].Status == model.StatusSent
	})
	if att.MIME != "image/png" || att.Width != 900 || att.Height != 600 || att.ThumbURL == "" {
		t.Fatalf("attachment %+v", att)
	}
	cache, _ := storage.OpenDownloads(t.TempDir(), 0)
	p, err := a.Download(context.Background(), att.ThumbURL, cache)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || cfg.Width != 320 || cfg.Height != 213 {
		t.Fatalf("thumbnail %v %dx%d", err, cfg.Width, cfg.Height)
	}
}

// TestSendReader: a stream is copied into the profile, sent under its name, and the
// copy removed once uploaded.
func TestSendReader(t *testing.T) {
	srv := startServer(t, server.Config{})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	m, err := a.SendReader(a.generalRoom(), `..\docs/../minutes.txt`, strings.NewReader("the minutes"), "fyi")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.UploadPath, a.Store().OutgoingDir()) || m.Attachment.Name != "minutes.txt" {
		t.Fatalf("queued %+v (path %s)", m.Attachment, m.UploadPath)
	}
	flush(t, a)
	a.waitUntil("the message sent", func() bool { return a.msgs[m.ID].Status == model.StatusSent })
	if att := a.msgs[m.ID].Attachment; att.Name != "minutes.txt" || att.Size != 11 {
		t.Fatalf("attachment %+v", att)
	}
	if _, err := os.Stat(m.UploadPath); !os.IsNotExist(err) {
		t.Fatalf("the copy is still there: %v", err)
	}
}

// TestSendFileRefusedFailsAndRetry: a file over the server's limit fails the message
// with the server's reason; once the file fits, Retry sends it.
func TestSendFileRefusedFailsAndRetry(t *testing.T) {
	srv := startServer(t, server.Config{UploadMax: 64 << 10})
	a := startClient(t, srv.URL, "", nil)
	register(t, a, "alice")
	room := a.generalRoom()
	path, _ := writeFile(t, "big.bin", 256<<10)
	m, err := a.SendFile(room, path, "")
	if err != nil {
		t.Fatal(err)
	}
	a.waitUntil("the message to fail", func() bool { return a.msgs[m.ID].Status == model.StatusFailed })
	if e := a.msgs[m.ID].Error; !strings.Contains(e, "upload limit") {
		t.Fatalf("error text %q, want the server's reason", e)
	}
	if err := os.Truncate(path, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Retry(m.ID); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	a.waitUntil("the message to be sent", func() bool {
		s := a.msgs[m.ID]
		return s.Status == model.StatusSent && s.Attachment != nil && s.Attachment.Size == 1000 && s.Attachment.URL != ""
	})
}

// TestSendFileAcrossServerKillAndAppRestart: a file attached while the server is
// down (SIGKILLed) and the app then restarted uploads by itself once the server is
// back, and the message is stored once.
func TestSendFileAcrossServerKillAndAppRestart(t *testing.T) {
	srv := startServerProc(t)
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	a := startClient(t, srv.url(), "", fast)
	register(t, a, "alice")
	room := a.generalRoom()
	srv.kill()
	a.waitUntil("alice offline", func() bool { return a.State().State == StateOffline })
	path, data := writeFile(t, "photo.bin", 8<<20)
	m, err := a.SendFile(room, path, "while down")
	if err != nil {
		t.Fatal(err)
	}
	a.shutdown() // the app quits with the upload not done
	srv.start()
	a2 := startClient(t, srv.url(), a.dir, fast)
	flush(t, a2)
	a2.waitUntil("the message to be sent", func() bool { return a2.msgs[m.ID].Status == model.StatusSent })
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	page, err := a2.API().Messages(ctx, a2.mustToken(t), room, 0, model.HistoryMaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var att *model.Attachment
	for _, pm := range page {
		if pm.ID == m.ID {
			n++
			att = pm.Attachment
		}
	}
	if n != 1 || att == nil || att.Size != int64(len(data)) {
		t.Fatalf("server holds the message %d times, attachment %+v", n, att)
	}
	var buf bytes.Buffer
	if _, err := a2.API().Download(ctx, a2.mustToken(t), att.URL, &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("download: %v, %d bytes", err, buf.Len())
	}
}

// TestCancelUploadAndNetworkCut: over a slow link, an upload in flight is canceled
// (the message fails "upload canceled"); retried, it is cut by the network midway and
// starts again by itself; the message is sent once.
func TestCancelUploadAndNetworkCut(t *testing.T) {
	srv := startServer(t, server.Config{})
	proxy, url := startProxy(t, srv.Addr())
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	a := startClient(t, url, "", fast)
	register(t, a, "alice")
	room := a.generalRoom()
	addToxic(t, proxy, `{"name":"slow","type":"bandwidth","stream":"upstream","attributes":{"rate":512}}`)
	path, data := writeFile(t, "clip.bin", 4<<20)
	m, err := a.SendFile(room, path, "")
	if err != nil {
		t.Fatal(err)
	}
	midway := func() bool {
		p := a.uploads[m.ID]
		return len(p) > 0 && p[len(p)-1].Sent > 0 && p[len(p)-1].Sent < p[len(p)-1].Total
	}
	a.waitUntil("the upload under way", midway)
	if ok, err := a.CancelUpload(m.ID); err != nil || !ok {
		t.Fatalf("CancelUpload = %v, %v", ok, err)
	}
	a.waitUntil("the message failed", func() bool {
		return a.msgs[m.ID].Status == model.StatusFailed && a.msgs[m.ID].Error == "upload canceled"
	})
	if ok, _ := a.CancelUpload(m.ID); ok {
		t.Fatal("a failed message canceled again")
	}

	a.mu.Lock()
	delete(a.uploads, m.ID)
	a.mu.Unlock()
	if _, err := a.Retry(m.ID); err != nil {
		t.Fatal(err)
	}
	a.waitUntil("the retried upload under way", midway)
	addToxic(t, proxy, `{"name":"cut","type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}`)
	a.waitUntil("the upload to start again after the cut", func() bool {
		p := a.uploads[m.ID]
		for i, x := range p {
			if x.Sent > 0 && x.Sent < x.Total && i+1 < len(p) && p[len(p)-1].Sent == 0 {
				return true
			}
		}
		return false
	})
	removeToxic(t, proxy, "cut")
	removeToxic(t, proxy, "slow")
	a.Nudge()
	flush(t, a)
	a.waitUntil("the message sent", func() bool { return a.msgs[m.ID].Status == model.StatusSent })
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	page, err := a.API().Messages(ctx, a.mustToken(t), room, 0, model.HistoryMaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, pm := range page {
		if pm.ID == m.ID {
			n++
			if pm.Attachment == nil || pm.Attachment.Size != int64(len(data)) {
				t.Fatalf("stored attachment %+v", pm.Attachment)
			}
		}
	}
	if n != 1 {
		t.Fatalf("server holds the message %d times", n)
	}
}
