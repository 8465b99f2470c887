package server_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// multipartBody answers a multipart body with the file part (field, filename,
// content) and its content type.
func multipartBody(t testing.TB, field, filename string, content []byte, extra map[string]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range extra {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if field != "" {
		fw, err := mw.CreateFormFile(field, filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// uploadRaw posts body to /api/uploads and answers the status and the answer body.
func uploadRaw(t testing.TB, in *servertest.Instance, token string, body io.Reader, ctype string, length int64) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.URL+"/api/uploads", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// upload posts content as the field file and answers the status and the decoded answer.
func upload(t testing.TB, in *servertest.Instance, token, filename string, content []byte) (int, model.UploadResponse, model.APIError) {
	t.Helper()
	body, ctype := multipartBody(t, "file", filename, content, nil)
	st, b := uploadRaw(t, in, token, bytes.NewReader(body), ctype, int64(len(body)))
	var ok model.UploadResponse
	var bad model.APIError
	if st == http.StatusCreated {
		if err := json.Unmarshal(b, &ok); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	} else {
		_ = json.Unmarshal(b, &bad)
	}
	return st, ok, bad
}

// get fetches path with token (and a Range when not empty).
func get(t testing.TB, in *servertest.Instance, path, token, rng string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, in.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// pngOf encodes a w×h picture.
func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegWithExif encodes a w×h JPEG (left half red, right half blue) and puts an EXIF
// segment with the orientation and a GPS marker string after its SOI.
func jpegWithExif(t testing.TB, w, h int, orientation uint16, marker string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			if x >= w/2 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	_ = binary.Write(&tiff, binary.BigEndian, uint32(8))
	_ = binary.Write(&tiff, binary.BigEndian, uint16(1))                                 // one entry
	_ = binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3, 0, 1, orientation, 0}) // SHORT, count 1
	_ = binary.Write(&tiff, binary.BigEndian, uint32(0))
	tiff.WriteString(marker)
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	b := buf.Bytes()
	out := append([]byte{}, b[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, b[2:]...)
}

// hugePNG is a valid PNG header declaring w×h pixels, with a little pixel data.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x62, 0x00, 0x00})
	chunk("IEND", nil)
	return b.Bytes()
}

// privateRoom creates a room of the given members and answers its id.
func privateRoom(t testing.TB, in *servertest.Instance, token string, members ...string) string {
	t.Helper()
	var room model.Room
	if st := in.Do(t, http.MethodPost, "/api/rooms", token, model.CreateRoomRequest{Name: "private", MemberIDs: members}, &room); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("create room: %d", st)
	}
	return room.ID
}

// withDirBlob sets cfg to keep uploads in the data folder whatever the database
// (PARLEY_TEST_SERVER_DB=postgres would keep them in it), for tests that look at the files.
func withDirBlob(t testing.TB, cfg server.Config) server.Config {
	t.Helper()
	cfg.DataDir = t.TempDir()
	b, err := server.NewDirBlob(filepath.Join(cfg.DataDir, "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Blob = b
	return cfg
}

// blobFiles lists the files of the server's upload folder.
func blobFiles(t testing.TB, in *servertest.Instance) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(in.DataDir, "uploads"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestUploadImageServedToMembersOnly: a PNG gets its size and a thumbnail; only its
// uploader and, once sent in a room, that room's members read it (others get 404);
// Range is honoured; the headers say nosniff, inline, cache for good.
func TestUploadImageServedToMembersOnly(t *testing.T) {
	in := servertest.Start(t, testConfig())
	ann, bob, cid := connect(t, in, "ann"), connect(t, in, "bob"), connect(t, in, "cid")
	pic := pngOf(t, 1000, 500)
	st, up, _ := upload(t, in, ann.auth.AccessToken, "cat.png", pic)
	if st != http.StatusCreated {
		t.Fatalf("upload status %d", st)
	}
	if up.MIME != "image/png" || up.Width != 1000 || up.Height != 500 || up.Size != int64(len(pic)) || up.Name != "cat.png" ||
		!strings.HasPrefix(up.URL, "/api/uploads/") || up.ThumbURL != up.URL+"/thumb" {
		t.Fatalf("answer %+v", up)
	}
	resp, b := get(t, in, up.URL, ann.auth.AccessToken, "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, pic) {
		t.Fatalf("uploader GET: %d, %d bytes", resp.StatusCode, len(b))
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Content-Type": "image/png",
		"Cache-Control": "private, max-age=31536000, immutable"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if d := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(d, "inline") {
		t.Errorf("Content-Disposition %q, want inline", d)
	}
	for _, who := range []*user{bob, cid} {
		if resp, _ := get(t, in, up.URL, who.auth.AccessToken, ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET before it was sent by %s: %d, want 404", who.auth.Username, resp.StatusCode)
		}
	}
	if resp, _ := get(t, in, up.URL, "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET without a token: %d, want 401", resp.StatusCode)
	}
	room := privateRoom(t, in, ann.auth.AccessToken, bob.auth.UserID)
	id := model.NewMessageID()
	// The client's size and type are not believed: the server's record is stored.
	ann.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: room,
		Attachment: &model.Attachment{URL: up.URL, Name: "x", Size: 1, MIME: "text/html"}})
	if f := ann.ackOf(t, id); f.Type != model.TypeAck {
		t.Fatalf("message with own upload: %+v", f)
	}
	m := bob.c.WaitFor(t, "the message", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == id })
	if a := m.Attachment; a == nil || *a != (model.Attachment{URL: up.URL, Name: "cat.png", Size: up.Size, MIME: "image/png", Width: 1000, Height: 500, ThumbURL: up.ThumbURL}) {
		t.Fatalf("delivered attachment %+v", m.Attachment)
	}
	resp, b = get(t, in, up.URL, bob.auth.AccessToken, "bytes=8-15")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, pic[8:16]) {
		t.Fatalf("member Range GET: %d %q", resp.StatusCode, b)
	}
	resp, b = get(t, in, up.ThumbURL, bob.auth.AccessToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("thumb: %d", resp.StatusCode)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 320 || cfg.Height != 160 || resp.Header.Get("Content-Type") != "image/"+format {
		t.Fatalf("thumb %v %s %dx%d (%s)", err, format, cfg.Width, cfg.Height, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, in, up.URL, cid.auth.AccessToken, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("non-member GET after it was sent: %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(t, in, "/api/uploads/0123456789abcdef", ann.auth.AccessToken, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown upload: %d", resp.StatusCode)
	}
}

// TestUploadJPEGUprightWithoutExif: a JPEG is served turned as its EXIF orientation
// says, without the EXIF segment (and the location in it).
func TestUploadJPEGUprightWithoutExif(t *testing.T) {
	in := servertest.Start(t, testConfig())
	ann := connect(t, in, "ann")
	pic := jpegWithExif(t, 64, 32, 6, "GPS-52.5200N-13.4050E")
	st, up, e := upload(t, in, ann.auth.AccessToken, "photo.jpg", pic)
	if st != http.StatusCreated {
		t.Fatalf("upload %d %+v", st, e)
	}
	if up.Width != 32 || up.Height != 64 || up.MIME != "image/jpeg" {
		t.Fatalf("answer %+v, want 32×64 (turned a quarter)", up)
	}
	_, b := get(t, in, up.URL, ann.auth.AccessToken, "")
	if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, []byte("GPS-52")) {
		t.Fatal("served JPEG still has its EXIF")
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 32 || img.Bounds().Dy() != 64 || up.Size != int64(len(b)) {
		t.Fatalf("served %v %v, size %d of %d", err, img.Bounds(), up.Size, len(b))
	}
	// Orientation 6: the stored left edge (red) is the top after turning.
	if r, _, bl, _ := img.At(16, 4).RGBA(); r < bl {
		t.Fatalf("top is not red: the picture was not turned")
	}
}

// TestUploadJPEGStrippedLosslessly: an upright JPEG loses its EXIF segment (and the
// location in it) but keeps its compressed pixels byte for byte.
func TestUploadJPEGStrippedLosslessly(t *testing.T) {
	in := servertest.Start(t, testConfig())
	ann := connect(t, in, "ann")
	plain := jpegWithExif(t, 64, 32, 1, "")
	pic := jpegWithExif(t, 64, 32, 1, "GPS-52.5200N-13.4050E")
	st, up, e := upload(t, in, ann.auth.AccessToken, "photo.jpg", pic)
	if st != http.StatusCreated || up.Width != 64 || up.Height != 32 {
		t.Fatalf("upload %d %+v %+v", st, up, e)
	}
	_, b := get(t, in, up.URL, ann.auth.AccessToken, "")
	if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, []byte("GPS-52")) {
		t.Fatal("served JPEG still has its EXIF")
	}
	// plain is the same JPEG with an EXIF segment that holds only the orientation.
	exifLen := int(binary.BigEndian.Uint16(plain[4:6])) + 2
	if want := append(append([]byte{}, plain[:2]...), plain[2+exifLen:]...); !bytes.Equal(b, want) || up.Size != int64(len(want)) {
		t.Fatalf("served %d bytes, want the original's %d without the segment", len(b), len(want))
	}
}

// TestUploadRefusals: bodies that are not an upload, names that try to be paths, and
// images that lie are refused or cleaned, and leave no file behind.
func TestUploadRefusals(t *testing.T) {
	in := servertest.Start(t, withDirBlob(t, testConfig()))
	ann := connect(t, in, "ann")
	tok := ann.auth.AccessToken
	t.Run("empty", func(t *testing.T) {
		if st, _, e := upload(t, in, tok, "e.txt", nil); st != http.StatusBadRequest || e.Err.Code != model.CodeInvalid {
			t.Fatalf("%d %+v", st, e)
		}
	})
	t.Run("wrong field", func(t *testing.T) {
		body, ctype := multipartBody(t, "upload", "a.txt", []byte("hello"), nil)
		if st, b := uploadRaw(t, in, tok, bytes.NewReader(body), ctype, int64(len(body))); st != http.StatusBadRequest {
			t.Fatalf("%d %s", st, b)
		}
	})
	t.Run("no file", func(t *testing.T) {
		body, ctype := multipartBody(t, "", "", nil, map[string]string{"name": "a.txt"})
		if st, b := uploadRaw(t, in, tok, bytes.NewReader(body), ctype, int64(len(body))); st != http.StatusBadRequest {
			t.Fatalf("%d %s", st, b)
		}
	})
	t.Run("not multipart", func(t *testing.T) {
		if st, b := uploadRaw(t, in, tok, strings.NewReader("hello"), "text/plain", 5); st != http.StatusBadRequest {
			t.Fatalf("%d %s", st, b)
		}
	})
	t.Run("names", func(t *testing.T) {
		long := strings.Repeat("é", 150) // 300 bytes
		for give, want := range map[string]string{
			"../../etc/passwd":   "passwd",
			`..\..\win\evil.txt`: "evil.txt",
			"..":                 "file",
		} {
			st, up, e := upload(t, in, tok, give, []byte("hello"))
			if st != http.StatusCreated || up.Name != want {
				t.Errorf("name %q: %d %+v %+v, want %q", give, st, up, e, want)
			}
		}
		// A NUL in a part header is refused by the multipart reader; in the name field
		// it comes through, and is removed.
		body, ctype := multipartBody(t, "file", "x.bin", []byte("hello"), map[string]string{"name": "a\x00b\x1f.txt"})
		if st, b := uploadRaw(t, in, tok, bytes.NewReader(body), ctype, int64(len(body))); st != http.StatusCreated || !strings.Contains(string(b), `"name":"ab.txt"`) {
			t.Errorf("NUL in the name field: %d %s", st, b)
		}
		st, up, _ := upload(t, in, tok, long, []byte("hello"))
		if st != http.StatusCreated || len(up.Name) > 255 || !utf8.ValidString(up.Name) || !strings.HasPrefix(long, up.Name) {
			t.Errorf("300-byte name: %d, %d bytes %q", st, len(up.Name), up.Name)
		}
		// The name field wins over the part's file name, and is cleaned the same way.
		body, ctype = multipartBody(t, "file", "x.bin", []byte("hello"), map[string]string{"name": "../report.pdf"})
		st, b := uploadRaw(t, in, tok, bytes.NewReader(body), ctype, int64(len(body)))
		if st != http.StatusCreated || !strings.Contains(string(b), `"name":"report.pdf"`) {
			t.Errorf("name field: %d %s", st, b)
		}
		for _, f := range blobFiles(t, in) {
			if strings.Contains(f, "passwd") || strings.Contains(f, "evil") {
				t.Errorf("stored under the client's name: %s", f)
			}
		}
	})
	t.Run("svg with script", func(t *testing.T) {
		svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>`)
		st, up, _ := upload(t, in, tok, "pic.svg", svg)
		if st != http.StatusCreated || strings.HasPrefix(up.MIME, "image/") || up.ThumbURL != "" {
			t.Fatalf("%d %+v", st, up)
		}
		resp, _ := get(t, in, up.URL, tok, "")
		d, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		if d != "attachment" || resp.Header.Get("X-Content-Type-Options") != "nosniff" || strings.Contains(resp.Header.Get("Content-Type"), "svg") {
			t.Fatalf("served as %q, %q, nosniff %q", resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), resp.Header.Get("X-Content-Type-Options"))
		}
	})
	t.Run("huge png", func(t *testing.T) {
		before := blobFiles(t, in)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		st, _, e := upload(t, in, tok, "huge.png", hugePNG(100_000, 100_000))
		runtime.ReadMemStats(&m1)
		if st != http.StatusBadRequest || e.Err.Code != model.CodeInvalid {
			t.Fatalf("%d %+v", st, e)
		}
		// Decoding it would take 40 GB; refusing it takes next to nothing.
		if grew := m1.TotalAlloc - m0.TotalAlloc; grew > 64<<20 {
			t.Fatalf("allocated %d MiB to refuse it", grew>>20)
		}
		if after := blobFiles(t, in); len(after) != len(before) {
			t.Fatalf("files %v after, %v before", after, before)
		}
	})
	t.Run("truncated jpeg", func(t *testing.T) {
		before := blobFiles(t, in)
		pic := jpegWithExif(t, 200, 200, 1, "")
		st, _, e := upload(t, in, tok, "cut.jpg", pic[:len(pic)/2])
		if st != http.StatusBadRequest || e.Err.Code != model.CodeInvalid {
			t.Fatalf("%d %+v", st, e)
		}
		if after := blobFiles(t, in); len(after) != len(before) {
			t.Fatalf("files %v after, %v before", after, before)
		}
	})
}

// countingReader yields n bytes of 'x' and counts how many were taken.
type countingReader struct {
	n, read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	left := c.n.Load() - c.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), left)]
	for i := range p {
		p[i] = 'x'
	}
	c.read.Add(int64(len(p)))
	return len(p), nil
}

// TestUploadTooLarge: over the limit the answer is 413 too_large, and the server
// stops reading: of a 256 MiB body it takes little more than the 1 MiB limit.
func TestUploadTooLarge(t *testing.T) {
	cfg := testConfig()
	cfg.UploadMax = 1 << 20
	in := servertest.Start(t, withDirBlob(t, cfg))
	ann := connect(t, in, "ann")
	t.Run("declared", func(t *testing.T) {
		body, ctype := multipartBody(t, "file", "big.bin", make([]byte, 1<<20+1), nil)
		st, b := uploadRaw(t, in, ann.auth.AccessToken, bytes.NewReader(body), ctype, int64(len(body)))
		if st != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), model.CodeTooLarge) {
			t.Fatalf("%d %s", st, b)
		}
	})
	t.Run("streamed", func(t *testing.T) {
		src := &countingReader{}
		src.n.Store(256 << 20)
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			fw, _ := mw.CreateFormFile("file", "big.bin")
			_, err := io.Copy(fw, src)
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		req, _ := http.NewRequest(http.MethodPost, in.URL+"/api/uploads", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+ann.auth.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), model.CodeTooLarge) {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		} // else the server closed the connection while the body was still being sent
		pr.CloseWithError(io.ErrClosedPipe)
		read := src.read.Load()
		t.Logf("the client handed over %d KiB of 256 MiB", read>>10)
		// Socket buffers on loopback hold a few MiB beyond what the server read.
		if read > 24<<20 {
			t.Fatalf("server read on: %d MiB of the body taken", read>>20)
		}
		if files := blobFiles(t, in); len(files) != 0 {
			t.Fatalf("files left: %v", files)
		}
	})
}

// TestUploadSlowAndCut: a body that stops coming is cut off after the idle timeout,
// and an upload whose client goes away leaves no file.
func TestUploadSlowAndCut(t *testing.T) {
	cfg := testConfig()
	cfg.UploadIdleTimeout = 300 * time.Millisecond
	in := servertest.Start(t, withDirBlob(t, cfg))
	ann := connect(t, in, "ann")
	head := func(conn net.Conn, length int) {
		t.Helper()
		fmt.Fprintf(conn, "POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: %d\r\n\r\n", ann.auth.AccessToken, length)
		fmt.Fprintf(conn, "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\n")
		_, _ = conn.Write(bytes.Repeat([]byte("y"), 64<<10))
	}
	t.Run("slow", func(t *testing.T) {
		conn, err := net.Dial("tcp", in.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		head(conn, 1<<20)
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a stalled upload: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("status %d, want 408", resp.StatusCode)
		}
		waitUntil(t, "no file left", func() bool { return len(blobFiles(t, in)) == 0 })
	})
	t.Run("client gone", func(t *testing.T) {
		conn, err := net.Dial("tcp", in.Addr())
		if err != nil {
			t.Fatal(err)
		}
		head(conn, 1<<20)
		waitUntil(t, "the upload to start", func() bool { return len(blobFiles(t, in)) > 0 })
		conn.Close()
		waitUntil(t, "the partial file to go", func() bool { return len(blobFiles(t, in)) == 0 })
	})
}

// TestMessageAttachmentMustBeOwnUpload: an attachment naming someone else's upload,
// or any URL that is not an upload of this server, is refused with error invalid.
func TestMessageAttachmentMustBeOwnUpload(t *testing.T) {
	in := servertest.Start(t, testConfig())
	ann, bob := connect(t, in, "ann"), connect(t, in, "bob")
	_, up, _ := upload(t, in, bob.auth.AccessToken, "b.txt", []byte("bob's"))
	for _, url := range []string{up.URL, "https://evil.example/x.png", "/api/uploads/nope", "/api/uploads/../rooms", ""} {
		id := model.NewMessageID()
		ann.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "see",
			Attachment: &model.Attachment{URL: url, Name: "x", Size: 5}})
		if f := ann.ackOf(t, id); f.Type != model.TypeError || f.Code != model.CodeInvalid {
			t.Fatalf("attachment %q: %+v, want error invalid", url, f)
		}
	}
	// With an own upload the content may be empty.
	id := model.NewMessageID()
	bob.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Attachment: &model.Attachment{URL: up.URL}})
	if f := bob.ackOf(t, id); f.Type != model.TypeAck {
		t.Fatalf("own upload: %+v", f)
	}
	if resp, _ := get(t, in, up.URL, ann.auth.AccessToken, ""); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("member GET %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
}

// TestUploadQuotaAndSweep: a user's bytes a day are bounded; an upload no message
// carried is deleted after UploadTTL, a sent one kept.
func TestUploadQuotaAndSweep(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	cfg := testConfig()
	cfg.UploadQuota = 3000
	cfg.AccessTTL = 72 * time.Hour
	cfg.PurgeInterval = 20 * time.Millisecond
	cfg.Now = func() time.Time { return time.Unix(0, now.Load()) }
	in := servertest.Start(t, withDirBlob(t, cfg))
	ann := connect(t, in, "ann")
	tok := ann.auth.AccessToken
	_, kept, _ := upload(t, in, tok, "a.txt", bytes.Repeat([]byte("a"), 2000))
	st, _, e := upload(t, in, tok, "b.txt", bytes.Repeat([]byte("b"), 2000))
	if st != http.StatusRequestEntityTooLarge || e.Err.Code != model.CodeTooLarge || !strings.Contains(e.Err.Message, "quota") {
		t.Fatalf("over the quota: %d %+v", st, e)
	}
	_, unsent, _ := upload(t, in, tok, "c.txt", bytes.Repeat([]byte("c"), 500))
	id := model.NewMessageID()
	ann.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Attachment: &model.Attachment{URL: kept.URL}})
	if f := ann.ackOf(t, id); f.Type != model.TypeAck {
		t.Fatalf("send: %+v", f)
	}
	now.Add(int64(25 * time.Hour))
	waitUntil(t, "the unsent upload to be swept", func() bool {
		resp, _ := get(t, in, unsent.URL, tok, "")
		return resp.StatusCode == http.StatusNotFound
	})
	if resp, _ := get(t, in, kept.URL, tok, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("sent upload: %d", resp.StatusCode)
	}
	if files := blobFiles(t, in); len(files) != 1 {
		t.Fatalf("files %v, want the sent one only", files)
	}
	// An upload under way holds its declared length: a second one in parallel that
	// would pass the quota with it is refused before the first is done.
	conn, err := net.Dial("tcp", in.Addr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 2900\r\n\r\n--B\r\n"+
		"Content-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\n%s", tok, strings.Repeat("f", 600))
	waitUntil(t, "the first upload to start", func() bool { return len(blobFiles(t, in)) > 1 })
	if st, _, e := upload(t, in, tok, "e.txt", bytes.Repeat([]byte("e"), 300)); st != http.StatusRequestEntityTooLarge || !strings.Contains(e.Err.Message, "quota") {
		t.Fatalf("parallel upload over the quota: %d %+v", st, e)
	}
	conn.Close()
	waitUntil(t, "the cut upload to go", func() bool { return len(blobFiles(t, in)) == 1 })
	// A day later the quota is free again.
	if st, _, e := upload(t, in, tok, "d.txt", bytes.Repeat([]byte("d"), 2000)); st != http.StatusCreated {
		t.Fatalf("next day: %d %+v", st, e)
	}
}
