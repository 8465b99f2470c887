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

// breakWord writes the rows of tok (a word wider than a row) that are full, each with
// a soft break, and returns the rest, which starts the next row. It adds up the widths
// of its grapheme clusters, measured one by one (measure caches them), so a long word
// costs linear time, and it cuts only between clusters, at least one a row.
func breakWord(b *strings.Builder, tok string, width float32, measure func(string) float32) string {
	runes := []rune(tok)
	starts := graphemeStarts(runes)
	rowStart, rowW := 0, float32(0)
	for i := 0; i < len(runes); {
		j := i + 1
		for j < len(runes) && !starts[j] {
			j++
		}
		cw := measure(string(runes[i:j]))
		if rowW > 0 && rowW+cw > width && !unicode.IsSpace(runes[i]) {
			b.WriteString(string(runes[rowStart:i]))
			b.WriteString(softBreak)
			rowStart, rowW = i, 0
		}
		rowW += cw
		i = j
	}
	return string(runes[rowStart:])
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
