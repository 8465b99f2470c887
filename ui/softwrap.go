package ui

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The composer wraps a long text itself (see composerEntry): it hands the entry rows
// that already fit, each soft row break written as softMark followed by a newline. The
// mark is a zero-width space: invisible, and it tells the row breaks the composer made
// from the newlines the user typed.
const (
	softMark  = '\u200b'
	softBreak = "\u200b\n"
)

// unsoft returns the text as the user typed it: display without the soft row breaks
// (and without stray marks an edit left behind).
func unsoft(display string) string {
	if !strings.ContainsRune(display, softMark) {
		return display
	}
	return strings.ReplaceAll(strings.ReplaceAll(display, softBreak, ""), string(softMark), "")
}

// softFlow wraps text into rows of at most width, as measured by measure, breaking after
// spaces (inside a word only when the word alone is wider than a row, and then between
// characters), and returns the display text with soft row breaks. It runs in time linear
// in the text: each word is measured once (measure may cache).
func softFlow(text string, width float32, measure func(string) float32) string {
	if width <= 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + len(text)/32)
	for i, para := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		rowW := float32(0)
		for _, tok := range tokens(para) {
			w := measure(strings.TrimRightFunc(tok, unicode.IsSpace))
			if rowW > 0 && rowW+w > width {
				b.WriteString(softBreak)
				rowW = 0
			}
			if w > width { // a word wider than a row: cut it between characters
				tok = breakWord(&b, tok, width, measure)
			}
			b.WriteString(tok)
			rowW += measure(tok) // with its trailing space, which may hang past the edge
		}
	}
	return b.String()
}

// tokens splits a paragraph after each run of spaces: "a b  c" is "a ", "b  ", "c".
func tokens(para string) []string {
	var out []string
	start, inSpace := 0, false
	for i, r := range para {
		sp := unicode.IsSpace(r)
		if inSpace && !sp {
			out = append(out, para[start:i])
			start = i
		}
		inSpace = sp
	}
	if start < len(para) {
		out = append(out, para[start:])
	}
	return out
}

// breakWord writes the rows of tok that fill a whole row each, with soft breaks, and
// returns the rest. It cuts after the longest prefix that fits (binary search), moved
// back to a grapheme cluster's start, at least one cluster a row.
func breakWord(b *strings.Builder, tok string, width float32, measure func(string) float32) string {
	for measure(strings.TrimRightFunc(tok, unicode.IsSpace)) > width {
		runes := []rune(tok)
		starts := graphemeStarts(runes)
		lo, hi := 1, len(runes) // lo fits (at least one character), hi does not
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if measure(string(runes[:mid])) <= width {
				lo = mid
			} else {
				hi = mid
			}
		}
		cut := lo
		for cut > 0 && !starts[cut] {
			cut--
		}
		if cut == 0 { // one cluster wider than a row: it gets the row
			for cut = 1; cut < len(runes) && !starts[cut]; cut++ {
			}
		}
		b.WriteString(string(runes[:cut]))
		b.WriteString(softBreak)
		tok = string(runes[cut:])
	}
	return tok
}

// displayOffset maps an offset in runes of the typed text to the display text.
func displayOffset(display string, logical int) int {
	d, l := 0, 0
	rs := []rune(display)
	for d < len(rs) && l < logical {
		if rs[d] == softMark {
			d++
			if d < len(rs) && rs[d] == '\n' {
				d++
			}
			continue
		}
		d++
		l++
	}
	// The cursor stays before a soft break, at the end of the row it was typed on.
	return d
}

// logicalOffset maps an offset in runes of the display text to the typed text.
func logicalOffset(display string, offset int) int {
	l, prevMark := 0, false
	i := 0
	for _, r := range display {
		if i >= offset {
			break
		}
		i++
		switch {
		case r == softMark:
			prevMark = true
			continue
		case r == '\n' && prevMark:
		default:
			l++
		}
		prevMark = false
	}
	return l
}

// rowCol is the row and column of a rune offset in a text that is not wrapped further.
func rowCol(text string, offset int) (row, col int) {
	i := 0
	for _, r := range text {
		if i >= offset {
			break
		}
		i++
		if r == '\n' {
			row, col = row+1, 0
			continue
		}
		col++
	}
	return row, col
}

// offsetOf is the rune offset of row and column in a text that is not wrapped further.
func offsetOf(text string, row, col int) int {
	off := 0
	for r := 0; r < row; r++ {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return off + utf8.RuneCountInString(text)
		}
		off += utf8.RuneCountInString(text[:i]) + 1
		text = text[i+1:]
	}
	line := text
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		line = text[:i]
	}
	return off + min(col, utf8.RuneCountInString(line))
}
