package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parleychat/parley/model"
	parleynet "github.com/parleychat/parley/net"
)

// change runs edit, delete and react: the update is queued, applied to the profile at
// once, and waited for up to -wait. It prints the message as changed; exit 1 when the
// server refuses it (the change is undone), 3 when it is still queued.
func (s *session) change(ctx context.Context, cmd string, args []string, stdout io.Writer) error {
	room, err := s.resolveRoom(ctx, args[0])
	if err != nil {
		return err
	}
	target := args[1]
	s.awaitMessage(ctx, room, target)
	var ch parleynet.Change
	switch cmd {
	case "edit":
		ch, err = s.c.Edit(room, target, strings.Join(args[2:], " "))
	case "delete":
		ch, err = s.c.Delete(room, target)
	case "react":
		ch, err = s.c.React(room, target, args[2], !s.o.off)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	wctx, cancel := context.WithTimeout(ctx, s.o.wait)
	defer cancel()
	for {
		queued, err := s.st.InOutbox(room, ch.UpdateID)
		if err != nil {
			return err
		}
		if !queued {
			break
		}
		select {
		case b, ok := <-s.c.Events():
			if !ok {
				return queuedError{ch.UpdateID}
			}
			for _, f := range b.Failed {
				if f.Update.ID == ch.UpdateID {
					if err := emit(stdout, updateFailedOf(f)); err != nil {
						return err
					}
					return fmt.Errorf("%s %s refused: %s", cmd, target, f.Reason)
				}
			}
			if b.State != nil && b.State.State == parleynet.StateSignedOut {
				return fmt.Errorf("signed out (%v); the %s stays queued: log in again", b.State.Err, cmd)
			}
		case <-wctx.Done():
			if err := s.emitMessage(room, target, stdout); err != nil {
				return err
			}
			return queuedError{ch.UpdateID}
		}
	}
	// Out of the outbox: acked, or refused (then it is failed and undone).
	status, reason, _, err := s.st.UpdateStatus(room, ch.UpdateID)
	if err != nil {
		return err
	}
	if status == model.StatusFailed {
		s.emitMessage(room, target, stdout)
		return fmt.Errorf("%s %s refused: %s", cmd, target, reason)
	}
	return s.emitMessage(room, target, stdout)
}

// awaitMessage lets the first sync bring a message the profile does not hold yet (a
// fresh run acts on what another user just sent), for at most -wait.
func (s *session) awaitMessage(ctx context.Context, room, id string) {
	if _, ok, err := s.st.Get(room, id); err != nil || ok {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, s.o.wait)
	defer cancel()
	s.c.WaitSynced(wctx)
}

// emitMessage prints a message as the store holds it.
func (s *session) emitMessage(room, id string, stdout io.Writer) error {
	m, ok, err := s.st.Get(room, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no message %s in room %s", id, room)
	}
	return emit(stdout, messageOf(m))
}

// search prints the matches of the server and of the profile, newest first; when the
// server cannot be asked, the profile's alone (and says so on stderr).
func (s *session) search(ctx context.Context, query string, stdout, stderr io.Writer) error {
	room := ""
	if s.o.room != "" {
		var err error
		if room, err = s.resolveRoom(ctx, s.o.room); err != nil {
			return err
		}
	}
	// The profile's matches win the merge, so let the first sync fold in what changed
	// since the last run (another device's edit or delete) before reading them; offline,
	// the wait ends after -wait and the profile answers as it is.
	wctx, wcancel := context.WithTimeout(ctx, s.o.wait)
	s.c.WaitSynced(wctx)
	wcancel()
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	found, serverErr, err := s.c.Search(cctx, query, room, 0)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	if serverErr != nil {
		if !errors.Is(serverErr, parleynet.ErrUnreachable) {
			return fmt.Errorf("search: %w", serverErr)
		}
		fmt.Fprintf(stderr, "parley-cli: the server could not be asked; these are this profile's matches only (%s)\n", oneLine(serverErr))
	}
	for _, m := range found {
		if err := emit(stdout, messageOf(m)); err != nil {
			return err
		}
	}
	return nil
}

// public prints the directory's rooms.
func (s *session) public(ctx context.Context, query string, stdout io.Writer) error {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	rooms, err := s.c.PublicRooms(cctx, query, 0)
	if err != nil {
		return fmt.Errorf("public rooms: %w", err)
	}
	for _, r := range rooms {
		if err := emit(stdout, publicRoomOut{Event: "public_room", ID: r.ID, Name: r.Name, Topic: r.Topic,
			MemberCount: r.MemberCount, LastActivity: r.LastActivity}); err != nil {
			return err
		}
	}
	return nil
}

// join joins a public room named by id or by its name in the directory.
func (s *session) join(ctx context.Context, ref string, stdout io.Writer) error {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	id := ref
	if rooms, err := s.c.PublicRooms(cctx, strings.TrimPrefix(ref, "#"), model.PublicRoomsMaxLimit); err == nil {
		var ids []string
		for _, r := range rooms {
			if r.ID == ref {
				ids = []string{r.ID}
				break
			}
			if strings.EqualFold(r.Name, strings.TrimPrefix(ref, "#")) {
				ids = append(ids, r.ID)
			}
		}
		switch {
		case len(ids) == 1:
			id = ids[0]
		case len(ids) > 1:
			return fmt.Errorf("%d public rooms are named %q: use the room id", len(ids), ref)
		}
	}
	r, err := s.c.JoinRoom(cctx, id)
	if err != nil {
		return fmt.Errorf("join %s: %w", ref, err)
	}
	return emit(stdout, roomOf(r))
}

func (s *session) leave(ctx context.Context, ref string, stdout io.Writer) error {
	room, err := s.resolveRoom(ctx, ref)
	if err != nil {
		return err
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	if err := s.c.LeaveRoom(cctx, room); err != nil {
		return fmt.Errorf("leave %s: %w", ref, err)
	}
	return emit(stdout, leftOut{Event: "left", RoomID: room})
}

func (s *session) rename(ctx context.Context, ref, name string, stdout io.Writer) error {
	room, err := s.resolveRoom(ctx, ref)
	if err != nil {
		return err
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	r, err := s.c.SetRoom(cctx, room, &name, nil)
	if err != nil {
		return fmt.Errorf("rename %s: %w", ref, err)
	}
	return emit(stdout, roomOf(r))
}

// invite adds users, each named by username as dm names one.
func (s *session) invite(ctx context.Context, ref string, usernames []string, stdout io.Writer) error {
	room, err := s.resolveRoom(ctx, ref)
	if err != nil {
		return err
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	ids := make([]string, 0, len(usernames))
	for _, name := range usernames {
		u, err := s.findUser(cctx, name)
		if err != nil {
			return err
		}
		ids = append(ids, u.UserID)
	}
	r, err := s.c.AddMembers(cctx, room, ids)
	if err != nil {
		return fmt.Errorf("invite to %s: %w", ref, err)
	}
	return emit(stdout, roomOf(r))
}
