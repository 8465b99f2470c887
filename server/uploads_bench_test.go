package server_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// benchFile writes a 25 MiB file of random bytes (not an image: no decoding).
func benchFile(b *testing.B) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "f.bin")
	data := make([]byte, 25<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// postFile streams the file at p to /api/uploads.
func postFile(b *testing.B, in *servertest.Instance, token, p string) model.UploadResponse {
	b.Helper()
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("file", "f.bin")
		_, err := io.Copy(fw, f)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/api/uploads", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var up model.UploadResponse
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&up) != nil {
		b.Fatalf("upload: %d", resp.StatusCode)
	}
	return up
}

// BenchmarkUpload25MiB: one 25 MiB file through POST /api/uploads on loopback (to the
// local folder Blob, fsync included); MB/s is the throughput.
func BenchmarkUpload25MiB(b *testing.B) {
	in := servertest.Start(b, server.Config{UploadQuota: 1 << 40, UploadRate: 1 << 20})
	tok := in.Register(b, "bench", password).AccessToken
	p := benchFile(b)
	b.SetBytes(25 << 20)
	b.ResetTimer()
	for range b.N {
		postFile(b, in, tok, p)
	}
}

// BenchmarkDownload25MiB: GET of a 25 MiB upload on loopback.
func BenchmarkDownload25MiB(b *testing.B) {
	in := servertest.Start(b, server.Config{})
	tok := in.Register(b, "bench", password).AccessToken
	up := postFile(b, in, tok, benchFile(b))
	b.SetBytes(25 << 20)
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest(http.MethodGet, in.URL+up.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != 25<<20 {
			b.Fatalf("got %d bytes", n)
		}
	}
}
