package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/parleychat/parley/server/internal/pgtest"
	"github.com/parleychat/parley/server/servertest"
)

// TestPostgresUploadSharedByNodes: on PostgreSQL the uploads live in the database, so
// a file uploaded to one node (and a thumbnail) is served by another, whose data
// folder is its own.
func TestPostgresUploadSharedByNodes(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	secret := []byte("a secret both nodes sign with....")
	var nodes []*servertest.Instance
	for range 2 {
		cfg := testConfig()
		cfg.DSN, cfg.JWTSecret = dsn, secret
		nodes = append(nodes, servertest.Start(t, cfg))
	}
	auth := nodes[0].Register(t, "alice", password)
	pic := pngOf(t, 700, 400)
	st, up, e := upload(t, nodes[0], auth.AccessToken, "map.png", pic)
	if st != http.StatusCreated {
		t.Fatalf("upload: %d %+v", st, e)
	}
	resp, b := get(t, nodes[1], up.URL, auth.AccessToken, "bytes=100-199")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, pic[100:200]) {
		t.Fatalf("other node, Range: %d, %d bytes", resp.StatusCode, len(b))
	}
	if resp, _ := get(t, nodes[1], up.ThumbURL, auth.AccessToken, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("other node, thumb: %d", resp.StatusCode)
	}
	if files := blobFiles(t, nodes[0]); len(files) != 0 {
		t.Fatalf("files in node A's folder: %v", files)
	}
}

// TestPostgresDeleteMessageDeletesUpload: on PostgreSQL the deleted message's upload
// leaves the database's blobs.
func TestPostgresDeleteMessageDeletesUpload(t *testing.T) {
	cfg := testConfig()
	cfg.DSN = pgtest.Shared(t).NewDatabase(t)
	in := servertest.Start(t, cfg)
	testDeleteMessageDeletesUpload(t, in, func() []string { return nil })
}
