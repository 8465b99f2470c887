package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The server keeps who is online in DataDir/presence.json, so that a restart is, for
// presence, what it is for the clients: a reconnect. A user online when the server
// stopped (or crashed) starts the new process within the grace period: listed in
// hello's `online`, shown as online by the user search, and announced by neither
// user_joined when they come back within the grace nor anything else; user_left
// follows only for those who do not come back. Without it, a restart with N users in
// one room told every reconnecting user about every other one: N² user_joined
// frames, which was most of a reconnect storm's cost.
const presenceFile = "presence.json"

// presenceSaveEvery is how often the file is written while presence changes (and
// touched while it does not): a crash loses at most this much of it.
const presenceSaveEvery = 2 * time.Second

type presenceEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type presenceSnapshot struct {
	Users []presenceEntry `json:"users"`
}

// presenceKeeper writes the hub's presence to a file until stopped.
type presenceKeeper struct {
	h    *hub
	path string
	stop chan struct{}
	done chan struct{}
}

// restorePresence reads the file a previous process left and puts its users in the
// grace period. A file older than the grace (the server was down longer) is ignored:
// those users have been away too long to count as reconnecting.
func (h *hub) restorePresence(ctx context.Context, dir string) (int, error) {
	if h.cfg.PresenceGrace <= 0 {
		return 0, nil
	}
	path := filepath.Join(dir, presenceFile)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if age := time.Since(info.ModTime()); age > h.cfg.PresenceGrace+presenceSaveEvery {
		return 0, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var snap presenceSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	n := 0
	for _, e := range snap.Users {
		if e.ID == "" || len(e.ID) > maxIDLen {
			continue
		}
		if err := h.loadUser(ctx, e.ID, e.Name); err != nil {
			return n, err
		}
		h.mu.Lock()
		u := h.userLocked(e.ID, e.Name) // loaded just now; nothing forgets it before the fan-out runs
		if !u.online && !heldLocked(u) {
			u.online = true
			h.startGraceLocked(u, h.cfg.PresenceGrace)
			n++
		}
		h.mu.Unlock()
	}
	return n, nil
}

// presenceSnapshotLocked lists the online users; the caller holds mu.
func (h *hub) presenceSnapshotLocked() presenceSnapshot {
	var snap presenceSnapshot
	for _, u := range h.users {
		if u.online {
			snap.Users = append(snap.Users, presenceEntry{ID: u.id, Name: u.name})
		}
	}
	return snap
}

// keepPresence starts writing presence to dir every presenceSaveEvery.
func (h *hub) keepPresence(dir string) *presenceKeeper {
	k := &presenceKeeper{h: h, path: filepath.Join(dir, presenceFile), stop: make(chan struct{}), done: make(chan struct{})}
	go k.run()
	return k
}

func (k *presenceKeeper) run() {
	defer close(k.done)
	t := time.NewTicker(presenceSaveEvery)
	defer t.Stop()
	k.save(true) // the restored users, and a fresh mtime
	for {
		select {
		case <-t.C:
			k.save(false)
		case <-k.stop:
			return
		}
	}
}

// save writes the file when presence changed since the last write (or when force),
// and otherwise only renews its time, which says how fresh it is.
func (k *presenceKeeper) save(force bool) {
	h := k.h
	h.mu.Lock()
	changed := h.presenceChanged || force
	h.presenceChanged = false
	var snap presenceSnapshot
	if changed {
		snap = h.presenceSnapshotLocked()
	}
	h.mu.Unlock()
	if !changed {
		now := time.Now()
		if err := os.Chtimes(k.path, now, now); err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.log.Warn("presence file", "err", err)
		}
		return
	}
	if err := writePresence(k.path, snap); err != nil {
		h.log.Warn("presence file", "err", err)
		h.mu.Lock()
		h.presenceChanged = true // try again at the next tick
		h.mu.Unlock()
	}
}

// close stops the writer and writes presence as it is now: the hub is closed, so it
// still counts every user whose sessions are being closed as online.
func (k *presenceKeeper) close() {
	close(k.stop)
	<-k.done
	k.save(true)
}

// writePresence replaces the file atomically (a crash leaves the old or the new one).
func writePresence(path string, snap presenceSnapshot) error {
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
