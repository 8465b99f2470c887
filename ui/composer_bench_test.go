package ui

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// longText is n characters of words, as a pasted article would be: one paragraph.
func longText(n int) string {
	words := "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
	return strings.Repeat(words, n/len(words)+1)[:n]
}

// benchComposer is a chat's composer in a 960×640 window, focused.
func benchComposer(b *testing.B) (*composerEntry, fyne.Window) {
	b.Helper()
	test.NewTempApp(b)
	c := newChatScreen(newFakeEngine(), inlineRunner(), RoomItem{ID: "r", Name: "general"}, nil)
	c.composer.newlineOnEnter = false
	w := test.NewTempWindow(b, c.content)
	w.Resize(fyne.NewSize(960, 640))
	w.Canvas().Focus(c.composer)
	return c.composer, w
}

// cursorToEnd puts the cursor after the last character.
func cursorToEnd(e *composerEntry) {
	if e.soft {
		e.CursorRow, e.CursorColumn = rowCol(e.Text, utf8.RuneCountInString(e.Text))
		return
	}
	e.CursorRow, e.CursorColumn = e.rowColOf(utf8.RuneCountInString(e.Text))
}

// BenchmarkComposerPaste20k pastes 20,000 characters into an empty composer: one
// keystroke (Ctrl+V), which must cost no more than a frame or so. Words is prose; blob is
// one word of 20,000 characters (a key, a base64 dump), cut between characters.
func BenchmarkComposerPaste20k(b *testing.B) {
	b.Run("words", func(b *testing.B) { benchPaste(b, longText(20000)) })
	b.Run("blob", func(b *testing.B) { benchPaste(b, strings.Repeat("aB3+", 5000)) })
}

func benchPaste(b *testing.B, text string) {
	e, _ := benchComposer(b)
	clip := test.NewClipboard() // a window's test clipboard is a new one on every call
	clip.SetContent(text)
	paste := &fyne.ShortcutPaste{Clipboard: clip}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		e.SetText("")
		b.StartTimer()
		e.TypedShortcut(paste)
	}
	if n := utf8.RuneCountInString(e.value()); n != 20000 {
		b.Fatalf("composer holds %d characters; want 20000", n)
	}
}

// BenchmarkComposerKeystroke types one character at the end of a text of n characters
// (one paragraph): the cost of each keystroke while typing it. 1,000 is the longest
// paragraph the composer still word-wraps; 4,010 is the over-long message.
func BenchmarkComposerKeystroke(b *testing.B) {
	for _, n := range []int{1000, 4010, 20000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			e, _ := benchComposer(b)
			e.setText(longText(n - 1))
			cursorToEnd(e)
			for b.Loop() {
				e.TypedRune('x')
				b.StopTimer()
				e.setText(longText(n - 1))
				cursorToEnd(e)
				b.StartTimer()
			}
		})
	}
}
