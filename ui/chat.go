package ui

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/model"
)

// runner moves work off the UI goroutine and results back onto it. Production uses a
// goroutine and fyne.Do; widget tests run both in place so that they stay on one goroutine.
type runner struct {
	bg func(func()) // run blocking work (storage, network)
	ui func(func()) // touch widgets with the result
}

func goRunner() runner {
	return runner{bg: func(f func()) { go f() }, ui: fyne.Do}
}

func inlineRunner() runner {
	return runner{bg: func(f func()) { f() }, ui: func(f func()) { f() }}
}

// chatScreen is one room's conversation: header, list, typing line and composer.
type chatScreen struct {
	eng  Engine
	run  runner
	room RoomItem

	title    *widget.Label
	back     *widget.Button
	header   *fyne.Container // the back button and the title, when there is a back button
	list     *messageList
	attach   *attachEnv // attach.go: pictures, file chips, uploads
	typing   *widget.Label
	composer *composerEntry
	sendBtn  *widget.Button
	errLine  *widget.Label
	failed   *failedBar    // own changes the server refused, with Retry and Discard
	slow     *widget.Label // "sending too fast", while the server holds the outbox back
	content  fyne.CanvasObject
	bottom   *fyne.Container // the lines over the composer and the composer's row
	// The hint under a text too long for one message, and its way out.
	limitLine *widget.Label
	splitBtn  *widget.Button
	limitBox  *fyne.Container
	parts     []string      // the text cut into messages, while it is too long
	conv      *conversation // the reply or edit under way, and the bubbles' actions

	active    func() bool  // whether the window has the focus (nil: always)
	drafts    *draftKeeper // the composer's text kept as the room's draft; nil: none
	unreadSeq int64        // the newest seq shown
	readSent  int64        // the newest seq marked read
}

// newChatScreen builds the chat of room; onBack, when set, is the back button's action
// (shown by showBack: on mobile and in a narrow window).
func newChatScreen(eng Engine, run runner, room RoomItem, onBack func()) *chatScreen {
	c := &chatScreen{eng: eng, run: run, room: room, attach: newAttachEnv(eng, run)}
	c.conv = newConversation(c)
	c.title = &widget.Label{Text: roomTitle(room), TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	c.list = newMessageList(listCallbacks{
		older:  c.loadOlder,
		newer:  c.loadNewer,
		latest: c.loadLatest,
		read:   c.markRead,
		retry:  c.retry,
		att:    c.attach,
		acts:   c.conv.actions(),
	}, !room.Direct)
	c.typing = &widget.Label{TextStyle: fyne.TextStyle{Italic: true}, Importance: widget.LowImportance,
		SizeName: theme.SizeNameCaptionText}
	c.errLine = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	c.errLine.Hide()
	c.slow = &widget.Label{Text: slowText, Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord,
		SizeName: theme.SizeNameCaptionText}
	c.slow.Hide()
	c.composer = newComposerEntry()
	c.composer.onSend = c.send
	c.composer.onPaste = c.pasted
	c.composer.onEscape = c.conv.cancel
	c.composer.onTyping = func() { c.eng.Typing(c.room.ID); c.conv.mention.typed() }
	c.composer.onLength = func(runes int) {
		c.lengthChanged(runes)
		c.drafts.changed(c.composer.value())
	}
	c.composer.onTooLong = c.pointAtLimit
	c.limitLine = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	c.splitBtn = &widget.Button{Text: "Send as 2 messages", OnTapped: c.sendParts}
	c.limitBox = container.NewBorder(nil, nil, nil, c.splitBtn, c.limitLine)
	c.limitBox.Hide()
	c.sendBtn = &widget.Button{Icon: theme.MailSendIcon(), Importance: widget.HighImportance,
		OnTapped: c.composer.send}
	var header fyne.CanvasObject = container.NewVBox(c.title)
	if onBack != nil {
		c.back = &widget.Button{Icon: theme.NavigateBackIcon(), Importance: widget.LowImportance, OnTapped: onBack}
		c.back.Hide() // shown while one pane is shown at a time
		c.header = container.NewBorder(nil, nil, c.back, nil, c.title)
		header = c.header
	}
	header = container.NewBorder(nil, nil, nil, c.conv.settingsBtn, header)
	c.failed = newFailedBar(c)
	c.bottom = container.NewVBox(c.typing, c.errLine, c.failed.box, c.slow, c.limitBox, c.conv.bar,
		container.NewBorder(nil, nil, container.NewVBox(c.newAttachButton()), container.NewVBox(c.sendBtn), c.composer))
	c.content = container.NewBorder(container.NewVBox(header, widget.NewSeparator()), c.bottom, nil, nil, c.list)
	c.drafts = newDraftKeeper(eng, room.ID)
	if text := c.drafts.load(); text != "" {
		c.composer.SetText(text)
	}
	c.loadLatest()
	c.failed.load()
	return c
}

// showBack shows or hides the back button to the rooms list.
func (c *chatScreen) showBack(on bool) {
	if c.back == nil || c.back.Visible() == on {
		return
	}
	c.back.Hidden = !on
	c.header.Refresh() // lays the title out again beside the button, or without it
}

func roomTitle(r RoomItem) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// loadLatest fills the list with the room's newest messages.
func (c *chatScreen) loadLatest() {
	room, jumps := c.room.ID, c.conv.jumps
	c.run.bg(func() {
		rows, err := c.eng.Latest(room, pageSize)
		c.run.ui(func() {
			if err != nil {
				c.showError("Could not load messages: " + err.Error())
				return
			}
			if c.conv.jumps != jumps {
				return // a search result or a quote is shown instead
			}
			hasOlder := len(rows) > 0 && rows[0].Seq > 1
			c.list.setRows(rows, hasOlder)
		})
	})
}

func (c *chatScreen) loadOlder(before int64) {
	room := c.room.ID
	c.run.bg(func() {
		rows, err := c.eng.Before(room, before, pageSize)
		c.run.ui(func() {
			if err != nil {
				c.list.loadingOlder = false
				c.showError("Could not load older messages: " + err.Error())
				return
			}
			more := len(rows) > 0 && rows[0].Seq > 1
			c.list.prependOlder(rows, more)
		})
	})
}

func (c *chatScreen) loadNewer(after int64) {
	room := c.room.ID
	c.run.bg(func() {
		rows, err := c.eng.After(room, after, pageSize)
		c.run.ui(func() {
			if err != nil {
				c.list.loadingNewer = false
				return
			}
			c.list.appendNewer(rows, len(rows) == pageSize)
		})
	})
}

// markRead marks what the list has shown as read, once the window has the focus: a
// message that arrives in a window in the background is not read yet.
func (c *chatScreen) markRead(seq int64) {
	if seq > c.unreadSeq {
		c.unreadSeq = seq
	}
	if c.active != nil && !c.active() {
		return
	}
	c.flushRead()
}

// flushRead tells the engine what has been shown.
func (c *chatScreen) flushRead() {
	seq, room := c.unreadSeq, c.room.ID
	if seq <= c.readSent {
		return
	}
	c.readSent = seq
	c.run.bg(func() { c.eng.MarkRead(room, seq) })
}

func (c *chatScreen) retry(id string) {
	c.run.bg(func() {
		if err := c.eng.Retry(id); err != nil {
			c.run.ui(func() { c.showError("Could not retry: " + err.Error()) })
		}
	})
}

// send queues text; the engine's event brings the bubble in (as sending, even offline).
func (c *chatScreen) send(text string) {
	room := c.room.ID
	c.hideError()
	if c.conv.send(text) {
		return
	}
	c.run.bg(func() {
		if err := c.eng.Send(room, text); err != nil {
			c.run.ui(func() { c.showError(err.Error()) })
		}
	})
}

// lengthChanged shows the hint while the text is over what one message holds, with the
// number of messages it would be sent as.
func (c *chatScreen) lengthChanged(runes int) {
	if runes <= model.MaxContentRunes {
		c.parts = nil
		if c.limitBox.Visible() {
			c.limitBox.Hide()
			c.relayoutBottom()
		}
		return
	}
	c.parts = splitMessage(c.composer.value(), model.MaxContentRunes)
	c.limitLine.TextStyle = fyne.TextStyle{}
	c.limitLine.SetText(thousands(runes) + " characters: a message holds at most " +
		thousands(model.MaxContentRunes) + ". Shorten it, or send it in parts.")
	c.splitBtn.SetText("Send as " + strconv.Itoa(len(c.parts)) + " messages")
	if !c.limitBox.Visible() {
		c.limitBox.Show()
		c.relayoutBottom()
	}
}

// pointAtLimit answers Enter on a text too long to send: the text stays, the hint says so.
func (c *chatScreen) pointAtLimit() {
	c.limitLine.TextStyle = fyne.TextStyle{Bold: true}
	c.limitLine.SetText("Not sent: " + thousands(c.composer.runes) + " characters is over the " +
		thousands(model.MaxContentRunes) + " a message holds. Shorten it, or send it in parts.")
	if !c.limitBox.Visible() {
		c.limitBox.Show()
		c.relayoutBottom()
	}
}

// sendParts sends the too-long text as several messages, in order, each through the
// outbox. What could not be queued goes back into the composer.
func (c *chatScreen) sendParts() {
	parts, room := c.parts, c.room.ID
	if len(parts) == 0 {
		return
	}
	c.hideError()
	c.composer.setText("")
	c.run.bg(func() {
		for i, p := range parts {
			if err := c.eng.Send(room, p); err != nil {
				rest := strings.Join(parts[i:], "\n")
				c.run.ui(func() {
					if c.composer.Text == "" {
						c.composer.setText(rest)
					}
					c.showError(err.Error())
				})
				return
			}
		}
	})
}

// thousands writes n with a comma every three digits (4,000).
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (c *chatScreen) showError(msg string) {
	c.errLine.SetText(msg)
	c.errLine.Show()
}

func (c *chatScreen) hideError() { c.errLine.Hide() }

// relayoutBottom lays the chat out again after a container over the composer was shown
// or hidden (the reply bar, the too-long hint): a container's Show does not lay out its parent, so the shown one kept the
// size and place it had while hidden (none), its ✕ left of the chat, over the rooms.
func (c *chatScreen) relayoutBottom() {
	if content, ok := c.content.(*fyne.Container); ok {
		content.Layout.Layout(content.Objects, content.Size())
	}
	c.bottom.Layout.Layout(c.bottom.Objects, c.bottom.Size())
	c.bottom.Refresh()
}

// setTyping shows who is typing in this room.
// slowText says why messages wait while the server's rate limit holds them back.
const slowText = "Sending too fast — your messages wait and go out in order"

// setThrottled shows or hides the line that says the user sends too fast.
func (c *chatScreen) setThrottled(on bool) {
	if on == c.slow.Visible() {
		return
	}
	if on {
		c.slow.Show()
	} else {
		c.slow.Hide()
	}
}

func (c *chatScreen) setTyping(who []Typist) {
	names := make([]string, 0, len(who))
	for _, t := range who {
		names = append(names, t.Name)
	}
	c.typing.SetText(typingText(names))
}
