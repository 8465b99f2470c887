package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Blob keeps the bytes of uploads by key. Keys are the server's own (upload ids and
// derived names), never a client's. Implementations must be safe for concurrent use.
type Blob interface {
	// Put stores everything r yields under key and answers how many bytes it took.
	// The blob appears whole or not at all: when r fails (a client that went away,
	// a limit) nothing is left under key.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open answers the blob under key for reading and seeking, and its size;
	// ErrNotFound when there is none.
	Open(ctx context.Context, key string) (BlobReader, int64, error)
	// Delete removes the blob under key; a key with none is not an error.
	Delete(ctx context.Context, key string) error
}

// BlobReader reads one blob; Range requests seek in it.
type BlobReader interface {
	io.ReadSeeker
	io.Closer
}

// dirBlob is the Blob in a local folder: one file per key, written to a temporary
// file in the same folder and renamed into place, so a reader never sees half a file.
type dirBlob struct {
	dir string
}

// NewDirBlob answers a Blob that keeps its files in dir (created, mode 0700).
func NewDirBlob(dir string) (Blob, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob folder %s: %w", dir, err)
	}
	return &dirBlob{dir: dir}, nil
}

// path answers the file for key; keys are the server's, but a key that could leave
// the folder is refused all the same.
func (b *dirBlob) path(key string) (string, error) {
	if key == "" || strings.ContainsAny(key, `/\`) || strings.HasPrefix(key, ".") {
		return "", fmt.Errorf("blob key %q: %w", key, ErrNotFound)
	}
	return filepath.Join(b.dir, key), nil
}

func (b *dirBlob) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := b.path(key)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(b.dir, ".put-*")
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", key, err)
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return n, fmt.Errorf("blob %s: %w", key, err)
	}
	return n, nil
}

func (b *dirBlob) Open(_ context.Context, key string) (BlobReader, int64, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("blob %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("blob %s: %w", key, err)
	}
	return f, st.Size(), nil
}

func (b *dirBlob) Delete(_ context.Context, key string) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}
