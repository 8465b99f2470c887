package storage

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/parleychat/parley/model"
	"gorm.io/gorm"
)

// A reaction's users are listed in the order the server lists them: by the seq of
// the react that added each (a react "on" while already on keeps the first). An own
// reaction the server has not confirmed yet has no seq: it is listed last, and moves
// to its seq's place once its ack or echo brings one. So the reacting device, the
// user's other devices and a fresh sync list the same order.

// reactKey names one user's reaction with one emoji to one message.
type reactKey struct{ room, target, emoji, user string }

// pendingSince is the place of an own reaction not confirmed yet: after every other.
const pendingSince = math.MaxInt64

// loadSince reads, for the reactions to the targets, the seq of the react that added
// each (pendingSince while own and pending), from the applied react updates held.
// A reaction known only from a message's folded state (a history page) has none: it
// counts as older than every react held.
func loadSince(tx *gorm.DB, targets []msgKey) (map[reactKey]int64, error) {
	since := map[reactKey]int64{}
	for room, ids := range groupByRoom(targets) {
		for chunk := range slices.Chunk(ids, batchSize) {
			var rows []updateRow
			err := tx.Select("pk", "room_id", "seq", "target_id", "emoji", "sender_id", "react_on").
				Where("room_id = ? AND target_id IN ? AND op = ? AND applied", room, chunk, model.OpReact).
				Find(&rows).Error
			if err != nil {
				return nil, fmt.Errorf("read reactions of room %s: %w", room, err)
			}
			slices.SortFunc(rows, func(a, b updateRow) int { return cmp.Or(cmp.Compare(a.order(), b.order()), cmp.Compare(a.PK, b.PK)) })
			for i := range rows {
				noteSince(since, &rows[i])
			}
		}
	}
	return since, nil
}

// noteSince applies one react, in stream order, to since.
func noteSince(since map[reactKey]int64, u *updateRow) {
	k := reactKey{u.RoomID, u.TargetID, u.Emoji, u.SenderID}
	if !u.On {
		delete(since, k)
	} else if _, on := since[k]; !on {
		since[k] = u.order()
	}
}

// placeReaction sets whether user reacted to m with emoji, at the user's place in
// the list (by since), and reports whether m changed. A user already listed moves to
// their place when move is set, else stays where they are.
func placeReaction(m *messageRow, since map[reactKey]int64, emoji, user string, on, move bool) bool {
	r := decodeReactions(m.Reactions)
	users := r[emoji]
	i := slices.Index(users, user)
	if i >= 0 && (!on || move) {
		users = slices.Delete(slices.Clone(users), i, i+1)
	} else if i >= 0 || !on {
		return false // nothing to do: listed and staying, or not listed and not to be
	}
	if on {
		at := sinceOf(since, m, emoji, user)
		j := slices.IndexFunc(users, func(u string) bool { return sinceOf(since, m, emoji, u) > at })
		if j < 0 {
			j = len(users)
		}
		users = slices.Insert(users, j, user)
	}
	if len(users) == 0 {
		delete(r, emoji)
	} else {
		if r == nil {
			r = model.Reactions{}
		}
		r[emoji] = users
	}
	enc := encodeReactions(r)
	if enc == m.Reactions {
		return false
	}
	m.Reactions = enc
	return true
}

func sinceOf(since map[reactKey]int64, m *messageRow, emoji, user string) int64 {
	return since[reactKey{m.RoomID, m.ID, emoji, user}]
}
