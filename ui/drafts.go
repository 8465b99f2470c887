package ui

import (
	"sync"
	"time"

	"fyne.io/fyne/v2"
)

// drafter is what drafts need of the engine beyond Engine: the unsent composer text
// kept per room in the local store, across restarts. The real engine has it; an
// engine without it keeps no drafts.
type drafter interface {
	Draft(roomID string) (string, error)
	SetDraft(roomID, text string) error
}

// draftDelay is how long the composer rests before its text is written as the room's
// draft: one store write per pause, not per keystroke.
const draftDelay = 400 * time.Millisecond

// draftKeeper writes a chat's composer text as its room's draft, after a pause in the
// typing and at once when the chat is left. Writes run off the UI goroutine.
type draftKeeper struct {
	eng    drafter
	roomID string

	mu      sync.Mutex
	text    string // the newest text, not yet written
	pending bool
	timer   *time.Timer
}

func newDraftKeeper(eng Engine, roomID string) *draftKeeper {
	d, ok := eng.(drafter)
	if !ok {
		return nil
	}
	return &draftKeeper{eng: d, roomID: roomID}
}

// load answers the room's draft ("" when none or on an error).
func (k *draftKeeper) load() string {
	if k == nil {
		return ""
	}
	text, err := k.eng.Draft(k.roomID)
	if err != nil {
		fyne.LogError("read draft", err)
		return ""
	}
	return text
}

// changed records the composer's text; it is written after draftDelay without a change.
func (k *draftKeeper) changed(text string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.text, k.pending = text, true
	if k.timer == nil {
		k.timer = time.AfterFunc(draftDelay, k.flush)
		return
	}
	k.timer.Reset(draftDelay)
}

// flush writes what changed since the last write.
func (k *draftKeeper) flush() {
	if k == nil {
		return
	}
	k.mu.Lock()
	text, pending := k.text, k.pending
	k.pending = false
	k.mu.Unlock()
	if !pending {
		return
	}
	if err := k.eng.SetDraft(k.roomID, text); err != nil {
		fyne.LogError("write draft", err)
	}
}

// leave writes what is pending now (the chat is being replaced), off the UI goroutine.
func (k *draftKeeper) leave() {
	if k == nil {
		return
	}
	k.mu.Lock()
	if k.timer != nil {
		k.timer.Stop()
	}
	k.mu.Unlock()
	go k.flush()
}

func (e *clientEngine) Draft(roomID string) (string, error) { return e.c.Draft(roomID) }

func (e *clientEngine) SetDraft(roomID, text string) error { return e.c.SetDraft(roomID, text) }
