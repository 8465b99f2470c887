package ui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// deletedText is what a deleted message's bubble says, for everyone.
const deletedText = "Message deleted"

// ConversationEngine is what the screens need of protocol 1.1's conversation features.
// It is apart from Engine so that engines without them (tests' fakes) still serve the
// screens; the screens offer the features when their engine has them.
type ConversationEngine interface {
	// Reply queues text as an answer to the room's message replyTo.
	Reply(roomID, replyTo, text string) error
	// Edit replaces the text of one of the user's own messages.
	Edit(roomID, msgID, text string) error
	// Delete deletes one of the user's own messages for everyone.
	Delete(roomID, msgID string) error
	// React adds (on) or takes back the user's reaction emoji to a message.
	React(roomID, msgID, emoji string, on bool) error
	// Around returns up to n messages on each side of msgID (oldest first) and whether
	// older ones exist, paging the target in from the server's history when needed.
	Around(roomID, msgID string, n int) (rows []Row, older bool, err error)
	// PublicRooms lists the server's public rooms whose name contains query.
	PublicRooms(query string) ([]model.PublicRoom, error)
	// Search finds messages in every room (roomID "") or in one, newest first.
	Search(query, roomID string) ([]Row, error)
	// FailedChanges lists the own changes of a room the server refused for good,
	// oldest first; RetryUpdate sends one again (same id), DiscardUpdate lets it go.
	FailedChanges(roomID string) ([]FailedChange, error)
	RetryUpdate(roomID, updateID string) error
	DiscardUpdate(roomID, updateID string) error
}

func (e *clientEngine) Reply(roomID, replyTo, text string) error {
	_, err := e.c.Reply(roomID, replyTo, text)
	return userErr(err)
}

func (e *clientEngine) Edit(roomID, msgID, text string) error {
	_, err := e.c.Edit(roomID, msgID, text)
	return userErr(err)
}

func (e *clientEngine) Delete(roomID, msgID string) error {
	_, err := e.c.Delete(roomID, msgID)
	return userErr(err)
}

func (e *clientEngine) React(roomID, msgID, emoji string, on bool) error {
	_, err := e.c.React(roomID, msgID, emoji, on)
	return userErr(err)
}

func (e *clientEngine) PublicRooms(query string) ([]model.PublicRoom, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	rs, err := e.c.PublicRooms(ctx, query, 0)
	return rs, userErr(err)
}

func (e *clientEngine) Search(query, roomID string) ([]Row, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	ms, _, err := e.c.Search(ctx, query, roomID, 0)
	if err != nil {
		return nil, userErr(err)
	}
	return e.decorate(rowsOf(ms), ms), nil
}

// Around reads the target from the store (or the server's history, which it then holds
// in no store: the list shows it as paged in) and the messages about it.
func (e *clientEngine) Around(roomID, msgID string, n int) ([]Row, bool, error) {
	m, ok, err := e.store.Get(roomID, msgID)
	if err != nil {
		return nil, false, err
	}
	if !ok || m.Seq == 0 {
		return nil, false, errors.New("that message is not held here any more")
	}
	before, err := e.Before(roomID, m.Seq, n)
	if err != nil {
		return nil, false, err
	}
	after, err := e.After(roomID, m.Seq-1, n+1)
	if err != nil {
		return nil, false, err
	}
	rows := append(before, after...)
	return rows, len(rows) > 0 && rows[0].Seq > 1, nil
}

func userErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(pnet.UserMessage(err))
}

// decorate fills the rows' reactions (the user's own marked) and the quotes of the
// messages they answer, read from the store.
func (e *clientEngine) decorate(rows []Row, ms []storage.Message) []Row {
	me := ""
	var names []string
	if e.c != nil {
		me, names = e.c.UserID(), e.selfNames()
	}
	for i := range rows {
		m := ms[i]
		rows[i].Reactions = encodeReactions(m.Reactions, me)
		rows[i].MentionsMe = !m.Own && !m.Deleted && mentionsOf(m.Content, names...)
		if m.ReplyTo == "" || e.store == nil {
			continue
		}
		if t, ok, err := e.store.Get(m.RoomID, m.ReplyTo); err == nil && ok {
			rows[i].Quote = quoteOf(rowOf(t))
		}
	}
	return rows
}

// conversationUpdate adds a batch's changed messages, refusals and left rooms.
func (e *clientEngine) conversationUpdate(u *Update, b pnet.Batch) {
	if len(b.Changed) > 0 {
		rows := rowsOf(b.Changed)
		u.Changed = e.decorate(rows, b.Changed)
	}
	u.Failed = append(u.Failed, failedChangesOf(b.Failed)...)
	u.Left = append(u.Left, b.Left...)
}

// quoteOf is the compact quote of a message: "Name: text" on one line.
func quoteOf(r Row) string {
	text := oneLine(r.Text)
	if len([]rune(text)) > 120 {
		text = string([]rune(text)[:120]) + "…"
	}
	return r.SenderName + ": " + text
}

// reaction is one chip under a bubble.
type reaction struct {
	Emoji string
	Count int
	Mine  bool
}

// encodeReactions writes reactions as chips, most used first: "emoji\x1fcount\x1fmine"
// joined by \x1e. Rows carry the string so that they stay comparable.
func encodeReactions(rs model.Reactions, me string) string {
	if len(rs) == 0 {
		return ""
	}
	chips := make([]reaction, 0, len(rs))
	for emoji, who := range rs {
		if len(who) == 0 {
			continue
		}
		chips = append(chips, reaction{Emoji: emoji, Count: len(who), Mine: slices.Contains(who, me)})
	}
	slices.SortFunc(chips, func(a, b reaction) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Emoji, b.Emoji)
	})
	parts := make([]string, len(chips))
	for i, c := range chips {
		mine := "0"
		if c.Mine {
			mine = "1"
		}
		parts[i] = c.Emoji + "\x1f" + strconv.Itoa(c.Count) + "\x1f" + mine
	}
	return strings.Join(parts, "\x1e")
}

// decodeReactions reads the chips encodeReactions wrote.
func decodeReactions(s string) []reaction {
	if s == "" {
		return nil
	}
	var out []reaction
	for _, p := range strings.Split(s, "\x1e") {
		f := strings.Split(p, "\x1f")
		if len(f) != 3 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		out = append(out, reaction{Emoji: f[0], Count: n, Mine: f[2] == "1"})
	}
	return out
}

// searchTime is how a search result gives its time: the clock today, the date before.
func searchTime(t, now time.Time) string {
	if sameDay(t, now) {
		return clockLabel(t)
	}
	return t.Format("2 Jan 2006")
}
