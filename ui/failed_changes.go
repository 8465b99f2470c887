package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// FailedChange is an own edit, delete or reaction the server refused for good: its
// change was undone, and it waits for the user to send it again or let it go.
type FailedChange struct {
	RoomID   string
	UpdateID string
	Op       string // model.OpEdit, OpDelete or OpReact
	Emoji    string // a reaction's
	Reason   string // the server's code and message
}

// describe says what failed, for the bar: "Your edit was not saved: …".
func (f FailedChange) describe() string {
	what := "change"
	switch f.Op {
	case model.OpEdit:
		what = "edit"
	case model.OpDelete:
		what = "delete"
	case model.OpReact:
		what = "reaction " + f.Emoji
	}
	return fmt.Sprintf("Your %s was not saved: %s", what, f.Reason)
}

func (e *clientEngine) RetryUpdate(roomID, updateID string) error {
	_, err := e.c.RetryUpdate(roomID, updateID)
	return userErr(err)
}

func (e *clientEngine) DiscardUpdate(roomID, updateID string) error {
	return userErr(e.c.DiscardUpdate(roomID, updateID))
}

func (e *clientEngine) FailedChanges(roomID string) ([]FailedChange, error) {
	fs, err := e.c.Store().FailedUpdates(roomID)
	if err != nil {
		return nil, userErr(err)
	}
	return failedChangesOf(fs), nil
}

// failedChangesOf turns the engine's refusals (a batch's, or the store's after a
// restart) into the screens' form.
func failedChangesOf(fs []storage.UpdateFailure) []FailedChange {
	out := make([]FailedChange, len(fs))
	for i, f := range fs {
		out[i] = FailedChange{RoomID: f.Update.RoomID, UpdateID: f.Update.ID, Op: f.Update.Op, Emoji: f.Update.Emoji, Reason: f.Reason}
	}
	return out
}

// failedBar sits over the composer while the open room has refused changes: it names
// the newest and offers Retry (send it again, same id) and Discard (let it go). When
// one is settled the next one, if any, shows; after a restart they are read from the
// store when the room opens.
type failedBar struct {
	c       *chatScreen
	box     *fyne.Container
	label   *widget.Label
	retry   *widget.Button
	discard *widget.Button
	list    []FailedChange // oldest first; the last one shows
}

func newFailedBar(c *chatScreen) *failedBar {
	b := &failedBar{c: c}
	b.label = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	b.retry = &widget.Button{Text: "Retry", OnTapped: func() { b.settle(true) }}
	b.discard = &widget.Button{Text: "Discard", Importance: widget.LowImportance, OnTapped: func() { b.settle(false) }}
	b.box = container.NewBorder(nil, nil, nil, container.NewHBox(b.retry, b.discard), b.label)
	b.box.Hide()
	return b
}

// load reads the room's refused changes from the store (off the UI goroutine).
func (b *failedBar) load() {
	ce, ok := b.c.eng.(ConversationEngine)
	if !ok {
		return
	}
	room := b.c.room.ID
	b.c.run.bg(func() {
		fs, err := ce.FailedChanges(room)
		if err != nil || len(fs) == 0 {
			return
		}
		b.c.run.ui(func() { b.add(fs...) })
	})
}

// add records refusals of the open room and shows the newest.
func (b *failedBar) add(fs ...FailedChange) {
	for _, f := range fs {
		if f.RoomID != b.c.room.ID {
			continue
		}
		b.list = removeChange(b.list, f.UpdateID)
		b.list = append(b.list, f)
	}
	b.refresh()
}

func (b *failedBar) refresh() {
	if len(b.list) == 0 {
		if b.box.Visible() {
			b.box.Hide()
			b.c.relayoutBottom()
		}
		return
	}
	text := b.list[len(b.list)-1].describe()
	if n := len(b.list) - 1; n > 0 {
		text += fmt.Sprintf(" (and %d more)", n)
	}
	b.label.SetText(text)
	if !b.box.Visible() {
		b.box.Show()
		b.c.relayoutBottom()
	}
}

// settle retries or discards the change shown.
func (b *failedBar) settle(retry bool) {
	ce, ok := b.c.eng.(ConversationEngine)
	if !ok || len(b.list) == 0 {
		return
	}
	f := b.list[len(b.list)-1]
	b.list = b.list[:len(b.list)-1]
	b.refresh()
	b.c.run.bg(func() {
		var err error
		if retry {
			err = ce.RetryUpdate(f.RoomID, f.UpdateID)
			if err != nil {
				// It cannot go again (the message was deleted meanwhile, say):
				// nothing is left to offer but letting it go.
				_ = ce.DiscardUpdate(f.RoomID, f.UpdateID)
			}
		} else {
			err = ce.DiscardUpdate(f.RoomID, f.UpdateID)
		}
		if err != nil {
			b.c.run.ui(func() { b.c.showError(err.Error()) })
		}
	})
}

func removeChange(list []FailedChange, id string) []FailedChange {
	out := list[:0]
	for _, f := range list {
		if f.UpdateID != id {
			out = append(out, f)
		}
	}
	return out
}
