package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	fstorage "fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// The clientEngine's side of attacher: the real engine's uploads and its download cache.

func (e *clientEngine) SendReader(roomID, name string, r io.Reader) error {
	if _, err := e.c.SendReader(roomID, name, r, ""); err != nil {
		return errors.New(pnet.UserMessage(err))
	}
	return nil
}

func (e *clientEngine) SendFile(roomID, path string) error {
	if _, err := e.c.SendFile(roomID, path, ""); err != nil {
		return errors.New(pnet.UserMessage(err))
	}
	return nil
}

func (e *clientEngine) CancelUpload(id string) error {
	_, err := e.c.CancelUpload(id)
	return err
}

// Fetch downloads through the profile's download cache (beside the store's files),
// opened on first use.
func (e *clientEngine) Fetch(ctx context.Context, u string) (string, error) {
	e.mu.Lock()
	if e.downloads == nil {
		dir := filepath.Join(filepath.Dir(e.store.OutgoingDir()), "downloads")
		d, err := storage.OpenDownloads(dir, 0)
		if err != nil {
			e.mu.Unlock()
			return "", fmt.Errorf("open download cache: %w", err)
		}
		e.downloads = d
	}
	d := e.downloads
	e.mu.Unlock()
	return e.c.Download(ctx, u, d)
}

// uploadsOf is the screens' view of the engine's upload progress.
func uploadsOf(in map[string]pnet.UploadProgress) map[string]Progress {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]Progress, len(in))
	for id, p := range in {
		out[id] = Progress{Sent: p.Sent, Total: p.Total}
	}
	return out
}

// newAttachButton is the paper clip beside the composer: it opens the file dialog (the
// system's picker on mobile) and sends the chosen file as a stream: no path is assumed.
func (c *chatScreen) newAttachButton() *widget.Button {
	return &widget.Button{Icon: theme.MailAttachmentIcon(), Importance: widget.LowImportance, OnTapped: c.pickFile}
}

func (c *chatScreen) pickFile() {
	win := c.attach.window()
	if win == nil {
		return
	}
	dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			c.showError("Could not open the file: " + err.Error())
			return
		}
		if r == nil {
			return // canceled
		}
		c.sendStream(r.URI().Name(), r)
	}, win).Show()
}

// sendStream queues a file read from r (closed after) for this room.
func (c *chatScreen) sendStream(name string, r io.ReadCloser) {
	eng, room := c.attach.eng, c.room.ID
	if eng == nil {
		r.Close()
		return
	}
	c.hideError()
	c.run.bg(func() {
		err := eng.SendReader(room, name, r)
		r.Close()
		if err != nil {
			c.run.ui(func() { c.showError("Could not attach " + name + ": " + err.Error()) })
		}
	})
}

// attachURIs sends dropped or pasted files: local ones by path, others as streams.
func (c *chatScreen) attachURIs(uris []fyne.URI) {
	eng, room := c.attach.eng, c.room.ID
	if eng == nil || len(uris) == 0 {
		return
	}
	c.hideError()
	c.run.bg(func() {
		for _, u := range uris {
			var err error
			if u.Scheme() == "file" {
				err = eng.SendFile(room, u.Path())
			} else {
				var r fyne.URIReadCloser
				if r, err = fstorage.Reader(u); err == nil {
					err = eng.SendReader(room, u.Name(), r)
					r.Close()
				}
			}
			if err != nil {
				name := u.Name()
				c.run.ui(func() { c.showError("Could not attach " + name + ": " + err.Error()) })
			}
		}
	})
}

// pastedFiles reads a pasted text as files when it is nothing else: one absolute path
// or file:// URI a line (a file manager's copied files), each an existing regular file.
func pastedFiles(text string) []fyne.URI {
	lines := strings.FieldsFunc(strings.TrimSpace(text), func(r rune) bool { return r == '\n' || r == '\r' })
	if len(lines) == 0 || len(lines) > 20 {
		return nil
	}
	var out []fyne.URI
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") { // text/uri-list comments
			continue
		}
		p := line
		if strings.HasPrefix(line, "file://") {
			u, err := url.Parse(line)
			if err != nil {
				return nil
			}
			p = u.Path
		}
		if !filepath.IsAbs(p) {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return nil
		}
		out = append(out, fstorage.NewFileURI(p))
	}
	return out
}

// pasted answers a paste into the composer: files are attached (true); any other text
// is left to the entry (false).
func (c *chatScreen) pasted(text string) bool {
	if c.attach.eng == nil {
		return false
	}
	uris := pastedFiles(text)
	if len(uris) == 0 {
		return false
	}
	c.attachURIs(uris)
	return true
}

// window is the window the chat is in, for dialogs.
func (e *attachEnv) window() fyne.Window {
	if e.win == nil {
		return nil
	}
	return e.win()
}

func (e *attachEnv) cancelUpload(id string) {
	if e.eng == nil {
		return
	}
	eng := e.eng
	e.run.bg(func() { _ = eng.CancelUpload(id) })
}

// fetchThen downloads a's file off the UI goroutine and hands its path to then, on it.
func (e *attachEnv) fetchThen(a Attachment, then func(path string)) {
	if a.URL == "" && a.Local != "" {
		then(a.Local)
		return
	}
	if e.eng == nil || a.URL == "" {
		return
	}
	eng := e.eng
	e.run.bg(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*apiTimeout)
		defer cancel()
		p, err := eng.Fetch(ctx, a.URL)
		e.run.ui(func() {
			if err != nil {
				if w := e.window(); w != nil {
					dialog.ShowError(fmt.Errorf("download %s: %w", a.Name, err), w)
				}
				return
			}
			then(p)
		})
	})
}

// openFile opens the file with the system's application for it.
func (e *attachEnv) openFile(a Attachment) {
	if e.opened != nil {
		e.opened(a)
		return
	}
	e.fetchThen(a, func(p string) {
		u, err := url.Parse(fstorage.NewFileURI(p).String())
		if err == nil {
			err = fyne.CurrentApp().OpenURL(u)
		}
		if err != nil {
			if w := e.window(); w != nil {
				dialog.ShowError(fmt.Errorf("open %s: %w", a.Name, err), w)
			}
		}
	})
}

// saveFile asks where to save the file, then copies it there from the cache.
func (e *attachEnv) saveFile(a Attachment) {
	w := e.window()
	if w == nil {
		return
	}
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			return
		}
		e.fetchThen(a, func(p string) {
			e.run.bg(func() {
				err := copyInto(wc, p)
				if err != nil {
					e.run.ui(func() { dialog.ShowError(fmt.Errorf("save %s: %w", a.Name, err), w) })
				}
			})
		})
	}, w)
	d.SetFileName(a.Name)
	d.Show()
}

// copyInto copies the file at path into wc and closes it.
func copyInto(wc io.WriteCloser, path string) error {
	f, err := os.Open(path)
	if err != nil {
		wc.Close()
		return err
	}
	defer f.Close()
	_, err = io.Copy(wc, f)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// window is the shell's window (nil in widget tests without one).
func (s *shell) window() fyne.Window { return s.win }

// dropped attaches files dropped onto the window to the open chat.
func (s *shell) dropped(_ fyne.Position, uris []fyne.URI) {
	if s.chat != nil {
		s.chat.attachURIs(uris)
	}
}

// setProgress shows how far the uploads have come in the rows on screen.
func (c *chatScreen) setProgress(ps map[string]Progress) {
	for id, p := range ps {
		c.attach.progress[id] = p
		if w := c.list.rowWidgetFor(id); w != nil {
			w.att.setProgress(p)
		}
	}
	if len(c.attach.progress) > maxImages {
		clear(c.attach.progress) // finished uploads; the ones under way report again within 250 ms
	}
}

// notifyRow is r as a notification says it: a file-only message by what it carries.
func notifyRow(r Row) Row {
	if r.Text == "" && r.Att.present() {
		r.Text = "📎 " + r.Att.Name
		if r.Att.Image {
			r.Text = "📷 Photo"
		}
	}
	return r
}
