package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultDownloadsMax bounds a download cache: 500 MiB.
const DefaultDownloadsMax = 500 << 20

// Downloads is a cache on disk of downloaded uploads, one file per upload id, bounded
// in bytes: past the bound the least recently used files go. Safe for concurrent use.
type Downloads struct {
	dir string
	max int64

	mu sync.Mutex // serialises Put's eviction
}

// OpenDownloads opens (creating) the cache in dir, bounded to max bytes
// (DefaultDownloadsMax when max ≤ 0).
func OpenDownloads(dir string, max int64) (*Downloads, error) {
	if max <= 0 {
		max = DefaultDownloadsMax
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open downloads %s: %w", dir, err)
	}
	return &Downloads{dir: dir, max: max}, nil
}

// path answers the file of id; ids are the server's, but one that could leave the
// folder is refused.
func (d *Downloads) path(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return "", fmt.Errorf("download id %q: %w", id, ErrInvalid)
	}
	return filepath.Join(d.dir, id), nil
}

// Get answers the cached file of id, marking it used; false when it is not cached.
func (d *Downloads) Get(id string) (string, bool) {
	p, err := d.path(id)
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // the modification time is the last use
	return p, true
}

// Put stores what r yields as the file of id (whole or not at all) and answers its
// path; then the least recently used files go until the cache is within its bound
// (the new one stays even when it alone is over it).
func (d *Downloads) Put(id string, r io.Reader) (string, error) {
	p, err := d.path(id)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(d.dir, ".get-*")
	if err != nil {
		return "", fmt.Errorf("cache %s: %w", id, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("cache %s: %w", id, err)
	}
	if err := d.evict(id); err != nil {
		return p, err
	}
	return p, nil
}

// evict deletes the least recently used files but keep until the cache fits.
func (d *Downloads) evict(keep string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("read downloads: %w", err)
	}
	type file struct {
		name string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		files = append(files, file{e.Name(), info.Size(), info.ModTime()})
		total += info.Size()
	}
	slices.SortFunc(files, func(a, b file) int { return a.used.Compare(b.used) })
	var errs []error
	for _, f := range files {
		if total <= d.max {
			break
		}
		if f.name == keep {
			continue
		}
		if err := os.Remove(filepath.Join(d.dir, f.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		total -= f.size
	}
	return errors.Join(errs...)
}
