package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/model"
)

// Upload limits and paths.
const (
	uploadPrefix = "/api/uploads/"
	thumbSuffix  = ".thumb" // the blob key of an upload's thumbnail: its id and this
	// multipartSlack is what a multipart body may hold beyond the file: boundaries,
	// part headers and the name field.
	multipartSlack = 16 << 10
	maxFileName    = 255 // bytes
	quotaWindow    = 24 * time.Hour
	sweepBatch     = 1000
	// uploadCacheControl: an upload never changes under its id.
	uploadCacheControl = "private, max-age=31536000, immutable"
)

// uploadRoutes adds the upload calls to mux.
func (s *Server) uploadRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/uploads", s.authed(s.handleUpload))
	mux.HandleFunc("GET /api/uploads/{id}", s.authed(func(w http.ResponseWriter, r *http.Request, uid string) {
		s.serveUpload(w, r, uid, false)
	}))
	mux.HandleFunc("GET /api/uploads/{id}/thumb", s.authed(func(w http.ResponseWriter, r *http.Request, uid string) {
		s.serveUpload(w, r, uid, true)
	}))
}

// uploadError is a refusal of an upload: the status, code and message answered.
type uploadError struct {
	status      int
	code, msg   string
	closeReader bool // the body is not read to its end: the connection closes
}

func (e *uploadError) Error() string { return e.msg }

var (
	errFileTooLarge  = errors.New("file over the limit")
	errBadAttachment = errors.New("not an upload of the sender's") // answered as error invalid
)

// handleUpload answers POST /api/uploads: the file part is streamed to the Blob
// under a new id while it is counted against the limit, its type sniffed from its
// first bytes, and an image checked from its header before it is decoded once for its
// thumbnail.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, uid string) {
	rec, err := s.receiveUpload(w, r, uid)
	if err != nil {
		var ue *uploadError
		if !errors.As(err, &ue) {
			s.internalError(w, r, err)
			return
		}
		if ue.closeReader {
			// What is left of the body is not read: the connection ends after the answer.
			w.Header().Set("Connection", "close")
		}
		writeError(w, ue.status, ue.code, ue.msg)
		return
	}
	writeJSON(w, http.StatusCreated, uploadResponse(rec))
}

// uploadResponse is the answer for rec, as a client puts it in a message.
func uploadResponse(rec UploadRecord) model.UploadResponse {
	a := uploadAttachment(rec)
	return model.UploadResponse{URL: a.URL, Name: a.Name, Size: a.Size, MIME: a.MIME, Width: a.Width, Height: a.Height, ThumbURL: a.ThumbURL}
}

// uploadAttachment is the attachment a message carrying rec stores.
func uploadAttachment(rec UploadRecord) *model.Attachment {
	a := &model.Attachment{URL: uploadPrefix + rec.ID, Name: rec.Name, Size: rec.Size, MIME: rec.MIME, Width: rec.Width, Height: rec.Height}
	if rec.HasThumb {
		a.ThumbURL = uploadPrefix + rec.ID + "/thumb"
	}
	return a
}

func (s *Server) receiveUpload(w http.ResponseWriter, r *http.Request, uid string) (UploadRecord, error) {
	now := s.cfg.Now()
	if !s.uploadRate.allow(now, uid) {
		return UploadRecord{}, &uploadError{status: http.StatusTooManyRequests, code: model.CodeRateLimited, msg: "too many uploads; slow down", closeReader: true}
	}
	used, err := s.store.UploadBytesSince(r.Context(), uid, now.Add(-quotaWindow).UnixMilli())
	if err != nil {
		return UploadRecord{}, err
	}
	// Uploads of the user still under way count too, by their declared length (else
	// by the limit), so that parallel uploads cannot each take the whole quota.
	reserve := s.cfg.UploadMax
	if r.ContentLength >= 0 {
		reserve = min(r.ContentLength, reserve)
	}
	used += s.uploads.reserve(uid, reserve)
	defer s.uploads.release(uid, reserve)
	limit := min(s.cfg.UploadMax, s.cfg.UploadQuota-used)
	tooBig := func() error {
		if limit < s.cfg.UploadMax {
			return &uploadError{status: http.StatusRequestEntityTooLarge, code: model.CodeTooLarge,
				msg: fmt.Sprintf("daily upload quota of %d bytes used up", s.cfg.UploadQuota), closeReader: true}
		}
		return &uploadError{status: http.StatusRequestEntityTooLarge, code: model.CodeTooLarge,
			msg: fmt.Sprintf("file over the upload limit of %d bytes", s.cfg.UploadMax), closeReader: true}
	}
	if limit <= 0 || r.ContentLength > limit+multipartSlack {
		return UploadRecord{}, tooBig()
	}
	// MaxBytesReader also tells the HTTP server not to read on once it is hit.
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartSlack)
	r.Body = &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: s.cfg.UploadIdleTimeout, end: now.Add(s.cfg.UploadTimeout)}
	mr, err := r.MultipartReader()
	if err != nil {
		return UploadRecord{}, &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "want a multipart/form-data body with a field file"}
	}
	rec := UploadRecord{ID: newID(), UserID: uid, CreatedAtMs: now.UnixMilli()}
	var name string
	got := false
	ctx := r.Context()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.dropUpload(got, rec.ID)
			return UploadRecord{}, bodyError(err, tooBig)
		}
		switch part.FormName() {
		case "name":
			b, err := io.ReadAll(io.LimitReader(part, 4*maxFileName))
			if err != nil {
				s.dropUpload(got, rec.ID)
				return UploadRecord{}, bodyError(err, tooBig)
			}
			name = string(b)
		case "file":
			if got {
				s.dropUpload(got, rec.ID)
				return UploadRecord{}, &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "one file an upload", closeReader: true}
			}
			if name == "" {
				name = part.FileName()
			}
			head := make([]byte, 512)
			n, err := io.ReadFull(part, head)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				return UploadRecord{}, bodyError(err, tooBig)
			}
			head = head[:n]
			if n == 0 {
				return UploadRecord{}, &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "the file is empty"}
			}
			rec.MIME = sniffType(head)
			body := &capReader{r: io.MultiReader(bytes.NewReader(head), part), left: limit}
			size, err := s.blob.Put(ctx, rec.ID, body)
			if err != nil {
				if body.over {
					return UploadRecord{}, tooBig()
				}
				return UploadRecord{}, bodyError(err, tooBig)
			}
			rec.Size, got = size, true
		default:
			s.dropUpload(got, rec.ID)
			return UploadRecord{}, &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid,
				msg: "unknown field " + fmt.Sprintf("%q", part.FormName()) + "; want file (and name)", closeReader: true}
		}
	}
	if !got {
		return UploadRecord{}, &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "no field file in the body"}
	}
	rec.Name = cleanFileName(name)
	if imageTypes[rec.MIME] {
		if err := s.processImage(ctx, &rec); err != nil {
			s.dropUpload(true, rec.ID)
			return UploadRecord{}, err
		}
	}
	if err := s.store.CreateUpload(ctx, rec); err != nil {
		s.dropUpload(true, rec.ID)
		return UploadRecord{}, err
	}
	return rec, nil
}

// uploadsUnderWay counts, per user, the bytes of the uploads being received.
type uploadsUnderWay struct {
	mu    sync.Mutex
	bytes map[string]int64
}

// reserve adds n bytes for uid and answers what uid's other uploads under way hold.
func (u *uploadsUnderWay) reserve(uid string, n int64) int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.bytes == nil {
		u.bytes = make(map[string]int64)
	}
	other := u.bytes[uid]
	u.bytes[uid] = other + n
	return other
}

func (u *uploadsUnderWay) release(uid string, n int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.bytes[uid] -= n; u.bytes[uid] <= 0 {
		delete(u.bytes, uid)
	}
}

// bodyError answers the refusal for an error reading the body.
func bodyError(err error, tooBig func() error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, errFileTooLarge):
		return tooBig()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &uploadError{status: http.StatusRequestTimeout, code: model.CodeInvalid, msg: "the upload was too slow", closeReader: true}
	}
	return &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "malformed multipart body", closeReader: true}
}

// dropUpload deletes the blobs of an upload that is refused.
func (s *Server) dropUpload(stored bool, id string) {
	if !stored {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, key := range []string{id, id + thumbSuffix} {
		if err := s.blob.Delete(ctx, key); err != nil {
			s.log.Warn("delete refused upload", "key", key, "err", err)
		}
	}
}

// processImage checks the stored image from its header, then decodes it once: the
// thumbnail is made, and a JPEG is stored again without its EXIF metadata (location,
// camera): with its segments dropped, or, when its EXIF orientation turns it,
// re-encoded upright (which drops every metadata segment).
func (s *Server) processImage(ctx context.Context, rec *UploadRecord) error {
	f, _, err := s.blob.Open(ctx, rec.ID)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := checkImage(f, rec.MIME)
	if errors.Is(err, errTooManyPixels) {
		return &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "image over 40 megapixels"}
	}
	if err != nil {
		return &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "not a readable " + rec.MIME + " image"}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind upload %s: %w", rec.ID, err)
	}
	// Decoding takes up to 4 bytes a pixel: a few at a time bound the memory.
	select {
	case s.decodeSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.decodeSlots }()
	img, err := decodeImage(f, info.orientation)
	if err != nil {
		return &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "not a readable " + rec.MIME + " image"}
	}
	rec.Width, rec.Height = img.Bounds().Dx(), img.Bounds().Dy()
	thumb, err := thumbnail(img)
	if err != nil {
		return err
	}
	if _, err := s.blob.Put(ctx, rec.ID+thumbSuffix, bytes.NewReader(thumb)); err != nil {
		return err
	}
	rec.HasThumb = true
	if rec.MIME == "image/jpeg" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind upload %s: %w", rec.ID, err)
		}
		pr, pw := io.Pipe()
		go func() {
			if info.orientation == 1 {
				pw.CloseWithError(stripJPEGMetadata(pw, f))
			} else {
				pw.CloseWithError(encodeJPEG(pw, img)) // upright, and without its metadata
			}
		}()
		n, err := s.blob.Put(ctx, rec.ID, pr)
		_ = pr.Close()
		if errors.Is(err, errBadJPEG) {
			return &uploadError{status: http.StatusBadRequest, code: model.CodeInvalid, msg: "not a readable image/jpeg image"}
		}
		if err != nil {
			return err
		}
		rec.Size = n
	}
	return nil
}

// sniffType answers the MIME type of a file from its first bytes.
func sniffType(head []byte) string {
	t := http.DetectContentType(head)
	if mt, _, err := mime.ParseMediaType(t); err == nil && imageTypes[mt] {
		return mt
	}
	return t
}

// cleanFileName keeps the last element of a client's file name without control
// characters, in at most maxFileName bytes; "file" when nothing is left.
func cleanFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name))
	for len(name) > maxFileName {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

// capReader reads at most left bytes of r; one more is errFileTooLarge.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		c.over = true
		return 0, errFileTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return n, errFileTooLarge
	}
	return n, err
}

// deadlineBody gives every read of a body idle to bring something, and the whole
// body until end: a client that trickles its upload is cut off.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	end  time.Time
}

func (d *deadlineBody) Read(p []byte) (int, error) {
	dl := time.Now().Add(d.idle)
	if dl.After(d.end) {
		dl = d.end
	}
	// Not every connection (a test's recorder, HTTP/2 in some cases) supports it; the
	// overall limits still hold there.
	_ = d.rc.SetReadDeadline(dl)
	return d.ReadCloser.Read(p)
}

// serveUpload answers GET /api/uploads/{id} (thumb: its thumbnail) to its uploader and
// to members of a room in which it was sent; to anyone else it does not exist.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, uid string, thumb bool) {
	id := r.PathValue("id")
	ctx := r.Context()
	rec, err := s.store.Upload(ctx, id)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, model.CodeNotFound, "no such upload")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	ok, err := s.store.CanReadUpload(ctx, id, uid)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !ok || rec.Gone || (thumb && !rec.HasThumb) {
		writeError(w, http.StatusNotFound, model.CodeNotFound, "no such upload")
		return
	}
	key, mt := rec.ID, rec.MIME
	if thumb {
		key = rec.ID + thumbSuffix
	}
	f, _, err := s.blob.Open(ctx, key)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, model.CodeNotFound, "no such upload")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	defer f.Close()
	if thumb {
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		mt = sniffType(head[:n])
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			s.internalError(w, r, err)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", uploadCacheControl)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("ETag", `"`+key+`"`)
	disposition := "inline"
	if !imageTypes[mt] {
		disposition = "attachment"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": rec.Name}))
	http.ServeContent(w, r, "", time.UnixMilli(rec.CreatedAtMs), f)
}

// attachmentOf checks a message's attachment: it must name an upload of the sender's
// on this server, by the url the upload was answered with. It answers the server's
// record of it (never the client's size or type) and records the room it is sent in.
func (s *session) attachmentOf(a *model.Attachment, roomID string) (*model.Attachment, error) {
	id, ok := strings.CutPrefix(a.URL, uploadPrefix)
	if !ok || id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#") {
		return nil, fmt.Errorf("attachment url is not an upload of this server: %w", errBadAttachment)
	}
	rec, err := s.srv.store.Upload(s.ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && (rec.UserID != s.userID || rec.Gone)) {
		return nil, fmt.Errorf("attachment is not an upload of yours: %w", errBadAttachment)
	}
	if err != nil {
		return nil, err
	}
	// Before the message is stored, so a member who hears of it can fetch it at once.
	err = s.srv.store.UploadSent(s.ctx, rec.ID, roomID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("attachment is not an upload of yours: %w", errBadAttachment)
	}
	if err != nil {
		return nil, err
	}
	return uploadAttachment(rec), nil
}

// sweepUploads deletes the uploads no message carried within UploadTTL, with their
// blobs, answering how many.
func (s *Server) sweepUploads(ctx context.Context) (int, error) {
	before := s.cfg.Now().Add(-s.cfg.UploadTTL).UnixMilli()
	total := 0
	for range purgeBatches {
		gone, err := s.store.SweepUploads(ctx, before, sweepBatch)
		for _, rec := range gone {
			// The blobs first, then the record: a blob that cannot be deleted now
			// keeps its record (gone) for the next sweep.
			var derr error
			for _, key := range []string{rec.ID, rec.ID + thumbSuffix} {
				derr = errors.Join(derr, s.blob.Delete(ctx, key))
			}
			if derr == nil {
				derr = s.store.DeleteUpload(ctx, rec.ID)
			}
			err = errors.Join(err, derr)
		}
		total += len(gone)
		if err != nil || len(gone) < sweepBatch {
			return total, err
		}
	}
	return total, nil
}

// releaseUpload deletes the upload of a deleted message, its blobs and then its
// record, unless another message still carries it. What fails is logged and left
// marked gone, for the next sweep.
func (s *Server) releaseUpload(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	released, err := s.store.ReleaseUpload(ctx, id)
	if err != nil {
		s.log.Warn("release upload of a deleted message", "upload", id, "err", err)
		return
	}
	if !released {
		return
	}
	for _, key := range []string{id, id + thumbSuffix} {
		if err := s.blob.Delete(ctx, key); err != nil {
			s.log.Warn("delete blob of a deleted message", "key", key, "err", err)
			return
		}
	}
	if err := s.store.DeleteUpload(ctx, id); err != nil {
		s.log.Warn("delete upload of a deleted message", "upload", id, "err", err)
	}
}
