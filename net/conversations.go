package net

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// ErrBadEmoji is returned by React for an emoji the protocol refuses: empty, longer
// than model.MaxEmojiBytes, or holding spaces or control characters.
var ErrBadEmoji = errors.New("not one emoji")

// ErrTopicTooLong is returned by SetRoom for a topic over model.MaxTopicRunes characters.
var ErrTopicTooLong = fmt.Errorf("topic is longer than %d characters", model.MaxTopicRunes)

// Reply sends text as an answer to the message replyTo of the same room: like Send,
// with the message's ReplyTo set. The target must be held (storage.ErrNotFound).
func (c *Client) Reply(roomID, replyTo, text string) (storage.Message, error) {
	if _, ok, err := c.store.Get(roomID, replyTo); err != nil {
		return storage.Message{}, fmt.Errorf("reply: %w", err)
	} else if !ok {
		return storage.Message{}, fmt.Errorf("reply to %s: %w", replyTo, storage.ErrNotFound)
	}
	return c.send(roomID, replyTo, text)
}

// Change is an own edit, delete or react just queued.
type Change struct {
	// Target is the message with the change applied (as Batch.Changed reports it).
	Target storage.Message
	// UpdateID names the update: a refusal comes as a Batch.Failed entry with this id,
	// and Store.InOutbox(room, UpdateID) turns false once the server has it (or refused).
	UpdateID string
}

// Edit replaces the text of one of the user's own messages. Like every update it goes
// through the outbox in order with messages (queued offline, sent once, acked by its
// id) and shows at once: the returned message (also reported in Batch.Changed) has the
// new text. The server's rate_limited and internal refusals send it again, in order
// with what was sent behind it; a refusal for good (Batch.Failed: forbidden,
// not_found, invalid, conflict) undoes it, and RetryUpdate or DiscardUpdate settle it.
func (c *Client) Edit(roomID, msgID, text string) (Change, error) {
	content, err := model.CleanContent(text)
	if err != nil {
		return Change{}, err
	}
	return c.update(model.Update{RoomID: roomID, TargetID: msgID, Op: model.OpEdit, Content: content})
}

// Delete deletes one of the user's own messages for everyone: its text and attachment
// are gone from the store at once (and from the server's database once it confirms).
func (c *Client) Delete(roomID, msgID string) (Change, error) {
	return c.update(model.Update{RoomID: roomID, TargetID: msgID, Op: model.OpDelete})
}

// React adds (on) or takes back (!on) the user's reaction emoji to a message.
func (c *Client) React(roomID, msgID, emoji string, on bool) (Change, error) {
	if err := checkEmoji(emoji); err != nil {
		return Change{}, err
	}
	return c.update(model.Update{RoomID: roomID, TargetID: msgID, Op: model.OpReact, Emoji: emoji, On: on})
}

func (c *Client) update(u model.Update) (Change, error) {
	if err := c.checkRoom(u.RoomID); err != nil {
		return Change{}, err
	}
	u.ID = model.NewMessageID()
	m, err := c.store.EnqueueUpdate(u)
	if err != nil {
		return Change{}, fmt.Errorf("queue %s: %w", u.Op, err)
	}
	c.events.addChanged([]storage.Message{m})
	c.queueOutbox(storage.Outgoing{Update: &u})
	return Change{Target: m, UpdateID: u.ID}, nil
}

// RetryUpdate queues an own edit, delete or react the server refused (a Batch.Failed
// entry, or Store.FailedUpdates after a restart) again, with the same id, behind
// everything queued, and applies it again at once, as Edit, Delete and React do (the
// same checks: the target may have been deleted meanwhile). The returned target is
// also reported in Batch.Changed.
func (c *Client) RetryUpdate(roomID, updateID string) (Change, error) {
	m, u, err := c.store.RetryUpdate(roomID, updateID)
	if err != nil {
		return Change{}, err
	}
	c.events.addChanged([]storage.Message{m})
	c.queueOutbox(storage.Outgoing{Update: &u})
	return Change{Target: m, UpdateID: u.ID}, nil
}

// DiscardUpdate forgets an own update the server refused (its change was undone
// when it failed): it is no longer among Store.FailedUpdates.
func (c *Client) DiscardUpdate(roomID, updateID string) error {
	return c.store.DiscardUpdate(roomID, updateID)
}

// internalRefused counts an `internal` refusal of an update.
func (c *Client) internalRefused(id string) {
	c.mu.Lock()
	c.internal[id]++
	c.mu.Unlock()
}

// internalRefusals answers how many `internal` refusals an update has had.
func (c *Client) internalRefusals(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.internal[id]
}

// internalDone forgets the refusals of an update that got its answer.
func (c *Client) internalDone(id string) {
	c.mu.Lock()
	delete(c.internal, id)
	c.mu.Unlock()
}

// checkEmoji refuses what cannot be one reaction.
func checkEmoji(e string) error {
	if e == "" || len(e) > model.MaxEmojiBytes || !utf8.ValidString(e) ||
		strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("reaction %q: %w", e, ErrBadEmoji)
	}
	return nil
}

// fold stores updates from the server and reports the messages they changed.
func (c *Client) fold(ups []model.Update) error {
	res, err := c.store.ApplyUpdates(ups)
	if err != nil {
		return fmt.Errorf("store %d updates: %w", len(ups), err)
	}
	c.events.addChanged(res.Changed)
	if len(res.Confirmed) > 0 {
		c.outboxShrank()
	}
	rooms := map[string]bool{}
	for _, u := range ups {
		rooms[u.RoomID] = true
	}
	for id := range rooms {
		c.emitRooms(id)
		if cur, err := c.contiguous(id); err == nil {
			c.marks.delivered(id, cur)
		} else {
			c.log.Warn("contiguous seq", "room", id, "err", err)
		}
	}
	return nil
}

// Draft returns the unsent composer text kept for a room.
func (c *Client) Draft(roomID string) (string, error) { return c.store.Draft(roomID) }

// SetDraft keeps the composer's unsent text for a room, across restarts ("" drops it).
func (c *Client) SetDraft(roomID, text string) error { return c.store.SetDraft(roomID, text) }

// PublicRooms lists the server's public rooms whose name contains query, most recently
// active first (the directory; the user need not be a member). limit ≤ 0 is the
// server's default.
func (c *Client) PublicRooms(ctx context.Context, query string, limit int) ([]model.PublicRoom, error) {
	var rooms []model.PublicRoom
	err := c.authed(ctx, func(tok string) (err error) {
		rooms, err = c.api.PublicRooms(ctx, tok, strings.TrimSpace(query), limit)
		return err
	})
	return rooms, err
}

// SetRoom renames a room and/or sets its topic (a nil field stays as it is) and stores
// the room as the server answers it.
func (c *Client) SetRoom(ctx context.Context, roomID string, name, topic *string) (storage.Room, error) {
	if name != nil {
		clean, err := model.CleanName(*name)
		if err != nil {
			return storage.Room{}, err
		}
		name = &clean
	}
	if topic != nil && utf8.RuneCountInString(*topic) > model.MaxTopicRunes {
		return storage.Room{}, ErrTopicTooLong
	}
	return c.roomCall(ctx, func(tok string) (model.Room, error) {
		return c.api.PatchRoom(ctx, tok, roomID, model.PatchRoomRequest{Name: name, Topic: topic})
	})
}

// AddMembers adds users to a room (any member of a room that is not direct may) and
// stores the room as the server answers it.
func (c *Client) AddMembers(ctx context.Context, roomID string, userIDs []string) (storage.Room, error) {
	return c.roomCall(ctx, func(tok string) (model.Room, error) { return c.api.AddMembers(ctx, tok, roomID, userIDs) })
}

// LeaveRoom leaves a room on the server and drops it from the store (Batch.Left).
func (c *Client) LeaveRoom(ctx context.Context, roomID string) error {
	err := c.authed(ctx, func(tok string) error { return c.api.LeaveRoom(ctx, tok, roomID) })
	if err != nil {
		return err
	}
	return c.roomLeft(roomID)
}

// roomLeft drops a room the user is no longer a member of.
func (c *Client) roomLeft(roomID string) error {
	if roomID == "" {
		return nil
	}
	if err := c.store.DropRoom(roomID); err != nil {
		return err
	}
	c.knownRooms.Delete(roomID)
	c.mu.Lock()
	delete(c.contig, roomID)
	c.mu.Unlock()
	c.events.addLeft(roomID)
	c.outboxShrank()
	return nil
}

// SearchLocal searches the messages held in the store (of roomID only, when not
// empty), newest first: instant, and offline too.
func (c *Client) SearchLocal(query, roomID string, limit int) ([]storage.Message, error) {
	return c.store.Search(query, roomID, limit)
}

// Search searches the server (GET /api/search, which holds history never paged in)
// and the store, and merges the two: each message once (by room and id, the stored
// form when held), newest first, at most limit (≤ 0: model.SearchDefaultLimit). When
// the server cannot be asked (offline, signed out) it answers the store's results
// with the server's error as serverErr; err is for the store failing.
func (c *Client) Search(ctx context.Context, query, roomID string, limit int) (found []storage.Message, serverErr, err error) {
	if limit <= 0 {
		limit = model.SearchDefaultLimit
	}
	limit = min(limit, model.SearchMaxLimit)
	local, err := c.store.Search(query, roomID, limit)
	if err != nil {
		return nil, nil, err
	}
	if strings.TrimSpace(query) == "" {
		return local, nil, nil
	}
	var remote []model.Message
	serverErr = c.authed(ctx, func(tok string) (err error) {
		remote, err = c.api.Search(ctx, tok, query, roomID, limit)
		return err
	})
	return mergeSearch(local, remote, limit), serverErr, nil
}

// mergeSearch merges local and server results: one entry per (room, id), the local
// form first (it has the status and this device's folds), newest first.
func mergeSearch(local []storage.Message, remote []model.Message, limit int) []storage.Message {
	seen := make(map[msgKey]bool, len(local)+len(remote))
	out := make([]storage.Message, 0, len(local)+len(remote))
	for _, m := range local {
		seen[msgKey{m.RoomID, m.ID}] = true
		out = append(out, m)
	}
	for _, m := range remote {
		k := msgKey{m.RoomID, m.ID}
		if seen[k] || m.Deleted {
			continue
		}
		seen[k] = true
		out = append(out, storage.Message{Message: m})
	}
	slices.SortStableFunc(out, func(a, b storage.Message) int { return b.Timestamp.Compare(a.Timestamp.Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
