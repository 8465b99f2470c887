package net

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// UploadProgress is how far the upload of a queued message's file has come.
type UploadProgress struct {
	Sent, Total int64 // bytes
}

// progressEvery is how often progress is reported while a file uploads.
const progressEvery = 250 * time.Millisecond

// Upload retries after a failure that is not the file's fault (the network, the
// server restarting, a rate limit) wait this long at first, doubling to the most.
const (
	uploadRetryMin = time.Second
	uploadRetryMax = 30 * time.Second
)

// Upload posts the file's bytes from r (size bytes; the client's file name kept as
// name) to POST /api/uploads, streamed. progress, when not nil, is called with the
// bytes sent so far, at most every progressEvery and once at the end. A refusal is an
// *APIError (413 too_large, 400 invalid, 429 rate_limited).
func (a *API) Upload(ctx context.Context, token, name string, r io.Reader, size int64, progress func(sent int64)) (model.UploadResponse, error) {
	var head, tail bytes.Buffer
	mw := multipart.NewWriter(&head)
	if _, err := mw.CreateFormFile("file", name); err != nil {
		return model.UploadResponse{}, fmt.Errorf("upload %s: %w", name, err)
	}
	headLen := head.Len()
	if err := mw.Close(); err != nil {
		return model.UploadResponse{}, fmt.Errorf("upload %s: %w", name, err)
	}
	tail.Write(head.Bytes()[headLen:])
	head.Truncate(headLen)
	body := io.MultiReader(&head, &progressReader{r: io.LimitReader(r, size), report: progress}, &tail)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base.String()+"/api/uploads", body)
	if err != nil {
		return model.UploadResponse{}, fmt.Errorf("upload %s: %w", name, err)
	}
	req.ContentLength = int64(head.Len()) + size + int64(tail.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	var out model.UploadResponse
	err = a.stream(req, func(resp *http.Response) error { return decodeAnswer(resp, &out) })
	if progress != nil && err == nil {
		progress(size)
	}
	return out, err
}

// Download fetches an upload (url as an attachment names it: a path on this server)
// into w and answers how many bytes it wrote.
func (a *API) Download(ctx context.Context, token, url string, w io.Writer) (int64, error) {
	if !strings.HasPrefix(url, "/api/uploads/") {
		return 0, fmt.Errorf("download %q: not an upload of this server", url)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base.String()+url, nil)
	if err != nil {
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	var n int64
	err = a.stream(req, func(resp *http.Response) error {
		var err error
		if n, err = io.Copy(w, resp.Body); err != nil {
			return fmt.Errorf("%w: %w", ErrUnreachable, err)
		}
		return nil
	})
	return n, err
}

// stream sends a request whose body or answer may take long: without the API's
// overall timeout (the context bounds it). use reads a 2xx answer.
func (a *API) stream(req *http.Request, use func(*http.Response) error) error {
	hc := *a.http
	hc.Timeout = 0
	route := req.Method + " " + routeOf(req.URL.Path)
	resp, err := hc.Do(req)
	if err != nil {
		if ctx := req.Context(); ctx.Err() != nil {
			return fmt.Errorf("%s: %w", route, ctx.Err())
		}
		return fmt.Errorf("%s: %w: %w", route, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("%s: %w", route, decodeAPIError(resp.StatusCode, data))
	}
	if err := use(resp); err != nil {
		return fmt.Errorf("%s: %w", route, err)
	}
	return nil
}

// decodeAnswer reads a JSON answer into out.
func decodeAnswer(resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("read answer: %w: %w", ErrUnreachable, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// progressReader reports the bytes read through it, at most every progressEvery.
type progressReader struct {
	r      io.Reader
	report func(int64)
	n      int64
	last   time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.report != nil && time.Since(p.last) >= progressEvery {
		p.last = time.Now()
		p.report(p.n)
	}
	return n, err
}

// SendFile queues a message carrying the file at path (text may be empty) and returns
// it at once: the file uploads in the background (Batch.Uploads reports its progress,
// across reconnects and restarts until it is done), then the message leaves with the
// server's attachment. A refusal of the file (too large, over the quota, not a
// readable image) fails the message with the server's reason; Retry uploads it again.
func (c *Client) SendFile(roomID, path, text string) (storage.Message, error) {
	content, err := model.CleanContent(text)
	if err != nil && !(errors.Is(err, model.ErrBlank)) {
		return storage.Message{}, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return storage.Message{}, fmt.Errorf("attach %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return storage.Message{}, fmt.Errorf("attach %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return storage.Message{}, fmt.Errorf("attach %s: not a file", path)
	}
	if _, ok, err := c.store.Room(roomID); err != nil {
		return storage.Message{}, fmt.Errorf("read room %s: %w", roomID, err)
	} else if !ok {
		return storage.Message{}, fmt.Errorf("send to %s: %w", roomID, ErrUnknownRoom)
	}
	m, err := c.store.EnqueueUpload(model.Message{RoomID: roomID, Content: content,
		Attachment: &model.Attachment{Name: filepath.Base(abs), Size: st.Size()}}, abs)
	if err != nil {
		return storage.Message{}, fmt.Errorf("queue message: %w", err)
	}
	c.events.addMessages([]storage.Message{m})
	c.uploads.kick()
	return m, nil
}

// SendReader is SendFile for a file that comes as a stream (a mobile file picker's):
// it is copied into the profile (storage's OutgoingDir) first, and the copy is
// removed once the server holds the file.
func (c *Client) SendReader(roomID, name string, r io.Reader, text string) (storage.Message, error) {
	dir := c.store.OutgoingDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return storage.Message{}, fmt.Errorf("attach %s: %w", name, err)
	}
	base := filepath.Base(filepath.Clean("/" + strings.ReplaceAll(name, `\`, "/")))
	if base == "/" || base == "." {
		base = "file"
	}
	sub, err := os.MkdirTemp(dir, "f-")
	if err != nil {
		return storage.Message{}, fmt.Errorf("attach %s: %w", name, err)
	}
	p := filepath.Join(sub, base)
	f, err := os.Create(p)
	if err == nil {
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = os.RemoveAll(sub)
		return storage.Message{}, fmt.Errorf("attach %s: %w", name, err)
	}
	m, err := c.SendFile(roomID, p, text)
	if err != nil {
		_ = os.RemoveAll(sub)
	}
	return m, err
}

// Download answers the local file of an upload or its thumbnail (url or thumbUrl as
// an attachment names them), from the cache when it holds it, else fetched into it.
func (c *Client) Download(ctx context.Context, url string, cache *storage.Downloads) (string, error) {
	id, ok := strings.CutPrefix(url, "/api/uploads/")
	if thumb, isThumb := strings.CutSuffix(id, "/thumb"); isThumb {
		id = thumb + ".thumb"
	}
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", fmt.Errorf("download %q: not an upload of this server", url)
	}
	if p, ok := cache.Get(id); ok {
		return p, nil
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := c.authed(ctx, func(token string) error {
			_, err := c.api.Download(ctx, token, url, pw)
			return err
		})
		pw.CloseWithError(err)
		done <- err
	}()
	p, err := cache.Put(id, pr)
	_ = pr.CloseWithError(errors.New("cache gave up"))
	if derr := <-done; derr != nil {
		return "", derr
	}
	return p, err
}

// uploader uploads the files of queued messages, one at a time, oldest first.
type uploader struct {
	c    *Client
	wake chan struct{}

	mu     sync.Mutex
	active string             // the message whose file is uploading now
	stop   context.CancelFunc // ends that upload
}

// uploadCanceled is the Error text of a message whose upload the user canceled.
const uploadCanceled = "upload canceled"

// CancelUpload stops the upload of a queued message's file and fails the message
// ("upload canceled"); Retry starts it again from the beginning. A message that is
// not waiting for its upload is left alone (false).
func (c *Client) CancelUpload(id string) (bool, error) {
	m, ok, err := c.store.Own(id)
	if err != nil || !ok || m.UploadPath == "" || m.Status != model.StatusSending {
		return false, err
	}
	u := c.uploads
	u.fail(id, uploadCanceled)
	u.mu.Lock()
	if u.active == id && u.stop != nil {
		u.stop()
	}
	u.mu.Unlock()
	return true, nil
}

func newUploader(c *Client) *uploader {
	return &uploader{c: c, wake: make(chan struct{}, 1)}
}

func (u *uploader) kick() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// run uploads pending files until ctx ends: at start (what a restart left), when one
// is queued, and after a failure when the connection comes back or the retry is due.
func (u *uploader) run(ctx context.Context) {
	retry := uploadRetryMin
	for {
		again := false
		pending, err := u.c.store.PendingUploads()
		if err != nil {
			u.c.log.Warn("read pending uploads", "err", err)
			again = true
		}
		for _, m := range pending {
			if ctx.Err() != nil {
				return
			}
			if !u.upload(ctx, m) {
				again = true
				break // keep the order: the next try starts with this one again
			}
			retry = uploadRetryMin
		}
		var timer *time.Timer
		var due <-chan time.Time
		if again {
			timer = time.NewTimer(retry)
			due = timer.C
			retry = min(2*retry, uploadRetryMax)
		}
		u.c.mu.Lock()
		stateCh := u.c.stateChanged
		u.c.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-u.wake:
		case <-due:
		case <-stateCh: // back online, say: try again at once
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// upload uploads one message's file and hands the message to the sender. It answers
// false when it should be tried again later (the network, the server, a rate limit);
// a refusal of the file itself fails the message instead.
func (u *uploader) upload(ctx context.Context, m storage.Message) bool {
	c := u.c
	f, err := os.Open(m.UploadPath)
	var st os.FileInfo
	if err == nil {
		st, err = f.Stat()
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		u.fail(m.ID, fmt.Sprintf("file not readable: %v", err))
		return true
	}
	defer f.Close()
	name := m.UploadPath
	if m.Attachment != nil && m.Attachment.Name != "" {
		name = m.Attachment.Name
	}
	total := st.Size()
	uctx, stop := context.WithCancel(ctx)
	defer stop()
	u.mu.Lock()
	u.active, u.stop = m.ID, stop
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.active, u.stop = "", nil
		u.mu.Unlock()
	}()
	if cur, ok, err := c.store.Get(m.RoomID, m.ID); err == nil && (!ok || cur.Status != model.StatusSending) {
		return true // canceled (or gone) since the list was read
	}
	c.events.setUpload(m.ID, UploadProgress{Sent: 0, Total: total})
	var resp model.UploadResponse
	err = c.authed(uctx, func(token string) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		var err error
		resp, err = c.api.Upload(uctx, token, filepath.Base(name), f, total, func(sent int64) {
			c.events.setUpload(m.ID, UploadProgress{Sent: sent, Total: total})
		})
		return err
	})
	var ae *APIError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests &&
		ae.Status != http.StatusUnauthorized && ae.Status != http.StatusRequestTimeout:
		reason := ae.Message
		if reason == "" {
			reason = ae.Error()
		}
		u.fail(m.ID, reason)
		return true
	case uctx.Err() != nil && ctx.Err() == nil:
		return true // canceled: the message is failed already
	default:
		if ctx.Err() == nil {
			c.log.Info("upload failed; will try again", "message", m.ID, "err", err)
		}
		return false
	}
	sent, moved, err := c.store.Uploaded(m.ID, model.Attachment{URL: resp.URL, Name: resp.Name, Size: resp.Size,
		MIME: resp.MIME, Width: resp.Width, Height: resp.Height, ThumbURL: resp.ThumbURL})
	if err != nil {
		c.log.Warn("store upload", "message", m.ID, "err", err)
		return false
	}
	if moved {
		c.events.addMessages([]storage.Message{sent})
		c.queueOutbox(storage.Outgoing{Message: &sent})
		if rel, err := filepath.Rel(c.store.OutgoingDir(), m.UploadPath); err == nil && !strings.HasPrefix(rel, "..") {
			_ = os.RemoveAll(filepath.Dir(m.UploadPath)) // SendReader's copy: the server holds it now
		}
	}
	return true
}

// fail fails a message whose file the server refused (or that cannot be read).
func (u *uploader) fail(id, reason string) {
	c := u.c
	m, ok, err := c.store.MarkFailed(id, reason)
	if err != nil {
		c.log.Warn("fail upload", "message", id, "err", err)
		return
	}
	if ok {
		c.events.addMessages([]storage.Message{m})
		c.outboxShrank()
	}
}
