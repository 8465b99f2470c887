package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleychat/parley/model"
	parleynet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// minCallTimeout bounds HTTP calls when -wait is shorter.
const minCallTimeout = 10 * time.Second

// session is one run of a command: the profile's store and a running engine.
type session struct {
	o      options
	st     *storage.Store
	c      *parleynet.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// openSession opens the profile and starts the engine. signingIn allows -server to name
// another server than the profile's account.
func openSession(ctx context.Context, o options, dir string, signingIn bool) (*session, error) {
	st, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	acct, ok, err := st.Account()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("read profile: %w", err)
	}
	if !signingIn {
		if !ok {
			st.Close()
			return nil, errors.New("not signed in: run parley-cli login USERNAME (or register)")
		}
		if o.server != "" {
			u, err := parleynet.ParseServerURL(o.server)
			if err != nil {
				st.Close()
				return nil, usageError{err.Error()}
			}
			if u.String() != acct.ServerURL {
				st.Close()
				return nil, usageError{fmt.Sprintf("this profile is signed in on %s; use login with -server to switch", acct.ServerURL)}
			}
		}
	}
	c, err := parleynet.New(parleynet.Config{ServerURL: o.server, Store: st})
	if err != nil {
		st.Close()
		return nil, usageError{err.Error()}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &session{o: o, st: st, c: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		c.Run(runCtx)
	}()
	return s, nil
}

// close stops the engine and closes the store.
func (s *session) close() {
	s.cancel()
	<-s.done
	s.st.Close()
}

// callCtx bounds one HTTP call.
func (s *session) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, max(s.o.wait, minCallTimeout))
}

// flush waits up to -wait for the outbox to empty, saying on stderr what is left.
func (s *session) flush(ctx context.Context, stderr io.Writer) {
	if _, ok, _ := s.st.Account(); !ok {
		return
	}
	n, err := s.st.OutboxLen()
	if err != nil || n == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, s.o.wait)
	defer cancel()
	if err := s.c.Flush(fctx); err != nil {
		if left, _ := s.st.OutboxLen(); left > 0 {
			fmt.Fprintf(stderr, "parley-cli: %d message(s) still queued\n", left)
		}
	}
}

func (s *session) signIn(ctx context.Context, cmd, username string, e env, stderr, stdout io.Writer) error {
	password, err := readPassword(e, stderr)
	if err != nil {
		return err
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	var acct storage.Account
	if cmd == "register" {
		acct, err = s.c.Register(cctx, username, password, "")
	} else {
		acct, err = s.c.Login(cctx, username, password)
	}
	if err != nil {
		return err
	}
	// Let the first sync store the rooms, so that the next command knows them offline.
	wctx, wcancel := context.WithTimeout(ctx, s.o.wait)
	defer wcancel()
	synced := s.c.WaitSynced(wctx) == nil
	return emit(stdout, accountOut{Event: "account", UserID: acct.UserID, Username: acct.Username,
		DisplayName: acct.DisplayName, Server: acct.ServerURL, Synced: synced})
}

// logout sends what the outbox holds (up to -wait: what is left stays queued in the
// profile for the next sign-in), signs the profile out and has the server revoke the
// login. The profile is signed out even when the server cannot be told; the error
// then says so.
func (s *session) logout(ctx context.Context, stdout, stderr io.Writer) error {
	acct, _, _ := s.st.Account()
	s.flush(ctx, stderr)
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	if err := s.c.SignOut(cctx); err != nil {
		return err
	}
	return emit(stdout, signedOutOut{Event: "signed_out", Username: acct.Username, Server: acct.ServerURL})
}

func (s *session) rooms(ctx context.Context, stdout io.Writer) error {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	rooms, err := s.c.FetchRooms(cctx)
	if err != nil {
		return fmt.Errorf("rooms: %w", err)
	}
	for _, r := range rooms {
		if err := emit(stdout, roomOf(r)); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) dm(ctx context.Context, username string, stdout io.Writer) error {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	u, err := s.findUser(cctx, username)
	if err != nil {
		return err
	}
	r, err := s.c.DM(cctx, u.UserID)
	if err != nil {
		return fmt.Errorf("direct room with %s: %w", username, err)
	}
	return emit(stdout, roomOf(r))
}

// findUser finds the one user a name names: by display name, else the only match.
func (s *session) findUser(ctx context.Context, username string) (model.User, error) {
	users, err := s.c.SearchUsers(ctx, username)
	if err != nil {
		return model.User{}, fmt.Errorf("find user %s: %w", username, err)
	}
	var match []model.User
	for _, u := range users {
		if strings.EqualFold(u.DisplayName, username) {
			match = append(match, u)
		}
	}
	if len(match) == 0 && len(users) == 1 {
		match = users
	}
	switch {
	case len(match) == 0:
		return model.User{}, fmt.Errorf("no user %q", username)
	case len(match) > 1:
		return model.User{}, fmt.Errorf("%d users match %q", len(match), username)
	}
	return match[0], nil
}

// resolveRoom finds a room by id or name, locally first, then on the server.
func (s *session) resolveRoom(ctx context.Context, ref string) (string, error) {
	find := func() (string, error) {
		if _, ok, err := s.st.Room(ref); err != nil || ok {
			return ref, err
		}
		rooms, err := s.st.Rooms()
		if err != nil {
			return "", err
		}
		name := strings.TrimPrefix(ref, "#")
		var ids []string
		for _, r := range rooms {
			if strings.EqualFold(r.Name, name) {
				ids = append(ids, r.ID)
			}
		}
		switch len(ids) {
		case 0:
			return "", nil
		case 1:
			return ids[0], nil
		}
		return "", fmt.Errorf("%d rooms are named %q: use the room id", len(ids), ref)
	}
	id, err := find()
	if err != nil || id != "" {
		return id, err
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	if _, ferr := s.c.FetchRooms(cctx); ferr != nil {
		return "", fmt.Errorf("no room %q here, and the server could not be asked: %w", ref, ferr)
	}
	if id, err = find(); err != nil || id != "" {
		return id, err
	}
	return "", fmt.Errorf("no room %q", ref)
}

// send sends text (as a reply to replyTo, or with the file attach, when not empty) and
// waits up to -wait for its ack.
func (s *session) send(ctx context.Context, ref, replyTo, text, attach string, stdout io.Writer) error {
	room, err := s.resolveRoom(ctx, ref)
	if err != nil {
		return err
	}
	var m storage.Message
	switch {
	case attach != "":
		m, err = s.c.SendFile(room, attach, text)
	case replyTo != "":
		s.awaitMessage(ctx, room, replyTo)
		m, err = s.c.Reply(room, replyTo, text)
	default:
		m, err = s.c.Send(room, text)
	}
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, s.o.wait)
	defer cancel()
	for {
		select {
		case b, ok := <-s.c.Events():
			if !ok {
				return queuedError{m.ID}
			}
			if b.State != nil && b.State.State == parleynet.StateSignedOut {
				return fmt.Errorf("signed out (%v); the message stays queued: log in again", b.State.Err)
			}
			var got *storage.Message
			for i, x := range b.Messages {
				if x.ID == m.ID && x.Status != model.StatusSending {
					got = &b.Messages[i]
				}
			}
			if got == nil {
				// Another process on this profile (a listen) may have stored the
				// message's own echo first: the ack then changes nothing here and
				// reports no message. The store says how it stands.
				if cur, ok, err := s.st.Get(m.RoomID, m.ID); err == nil && ok && cur.Status != model.StatusSending {
					got = &cur
				}
			}
			if x := got; x != nil {
				if err := emit(stdout, messageOf(*x)); err != nil {
					return err
				}
				if x.Status == model.StatusFailed {
					return fmt.Errorf("message %s failed: %s", x.ID, x.Error)
				}
				fctx, fcancel := context.WithTimeout(ctx, s.o.wait)
				defer fcancel()
				s.c.Flush(fctx) // anything queued before it went out first; wait for the acks
				return nil
			}
		case <-wctx.Done():
			if cur, ok, err := s.st.Get(m.RoomID, m.ID); err == nil && ok {
				m = cur
			}
			if m.Status != model.StatusSending {
				return emit(stdout, messageOf(m))
			}
			if err := emit(stdout, messageOf(m)); err != nil {
				return err
			}
			return queuedError{m.ID}
		}
	}
}

func (s *session) listen(ctx context.Context, ref string, stdout io.Writer) error {
	room, err := s.resolveRoom(ctx, ref)
	if err != nil {
		return err
	}
	for {
		select {
		case b, ok := <-s.c.Events():
			if !ok {
				return nil
			}
			if err := emitBatch(stdout, room, b); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// emitBatch prints what a batch says about one room, and the connection's state.
func emitBatch(w io.Writer, room string, b parleynet.Batch) error {
	if b.State != nil {
		st := stateOut{Event: "state", State: b.State.State.String(), Synced: b.State.Synced}
		if !b.State.NextTry.IsZero() {
			st.NextTry = model.FormatTime(b.State.NextTry)
		}
		if b.State.Err != nil {
			st.Error = b.State.Err.Error()
		}
		if err := emit(w, st); err != nil {
			return err
		}
	}
	for _, id := range b.Reset {
		if id == room {
			if err := emit(w, resetOut{Event: "reset", RoomID: id}); err != nil {
				return err
			}
		}
	}
	for _, m := range b.Messages {
		if m.RoomID == room {
			if err := emit(w, messageOf(m)); err != nil {
				return err
			}
		}
	}
	for _, m := range b.Changed {
		if m.RoomID == room {
			out := messageOf(m)
			out.Event = "changed"
			if err := emit(w, out); err != nil {
				return err
			}
		}
	}
	for _, f := range b.Failed {
		if f.Update.RoomID == room {
			if err := emit(w, updateFailedOf(f)); err != nil {
				return err
			}
		}
	}
	for _, id := range b.Left {
		if id == room {
			if err := emit(w, leftOut{Event: "left", RoomID: id}); err != nil {
				return err
			}
		}
	}
	if who, ok := b.Typing[room]; ok {
		t := typingOut{Event: "typing", RoomID: room, Users: []typistOut{}}
		for _, x := range who {
			t.Users = append(t.Users, typistOut{UserID: x.UserID, DisplayName: x.DisplayName})
		}
		if err := emit(w, t); err != nil {
			return err
		}
	}
	for id, on := range b.Presence {
		if err := emit(w, presenceOut{Event: "presence", UserID: id, Online: on}); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) history(ctx context.Context, ref string, limit int, stdout io.Writer) error {
	room, err := s.resolveRoom(ctx, ref)
	if err != nil {
		return err
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	msgs, err := s.c.History(cctx, room, 0, limit)
	if errors.Is(err, parleynet.ErrUnreachable) {
		if msgs, err = s.st.Latest(room, limit); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	for _, m := range msgs {
		if err := emit(stdout, messageOf(m)); err != nil {
			return err
		}
	}
	return nil
}

// download saves the upload at url (as an attachment names it) to out, through the
// profile's download cache.
func (s *session) download(ctx context.Context, url, out, dir string, stdout io.Writer) error {
	cache, err := storage.OpenDownloads(filepath.Join(dir, "downloads"), 0)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, s.o.wait)
	defer cancel()
	p, err := s.c.Download(wctx, url, cache)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	src, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	n, err := io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download to %s: %w", out, err)
	}
	return emit(stdout, downloadOut{Event: "download", URL: url, File: out, Size: n})
}
