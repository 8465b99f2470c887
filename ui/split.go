package ui

import (
	"strings"
	"unicode"

	"github.com/go-text/typesetting/segmenter"
)

// splitMessage cuts text into parts of at most max code points each, for a message too
// long to send as one. It cuts where a line may break (after a space or a newline,
// Unicode's line breaking rules), preferring a paragraph's end in the second half of a
// part; a word longer than a part is cut between two characters as the user sees them
// (grapheme clusters), never inside one. Whitespace at a cut is dropped, as are blank
// parts; nothing else changes.
func splitMessage(text string, max int) []string {
	runes := []rune(text)
	if len(runes) <= max {
		if strings.TrimSpace(text) == "" {
			return nil
		}
		return []string{text}
	}
	var seg segmenter.Segmenter
	seg.Init(runes)
	grapheme := graphemeStartsOf(&seg, len(runes))
	// breaks are the offsets after which a line may break; hard marks a newline there.
	var breaks []int
	var hard []bool
	for it := seg.LineIterator(); it.Next(); {
		l := it.Line()
		end := l.Offset + len(l.Text)
		if end < len(runes) && grapheme[end] {
			breaks = append(breaks, end)
			hard = append(hard, l.IsMandatoryBreak)
		}
	}
	var parts []string
	start, b := 0, 0
	for start < len(runes) {
		limit := start + max
		if limit >= len(runes) {
			parts = appendPart(parts, runes[start:])
			break
		}
		cut, soft := -1, -1
		for ; b < len(breaks) && breaks[b] <= limit; b++ {
			if breaks[b] <= start {
				continue
			}
			soft = breaks[b]
			if hard[b] && breaks[b] >= start+max/2 {
				cut = breaks[b]
			}
		}
		if cut < 0 {
			cut = soft
		}
		if cut < 0 { // one word longer than a part: cut at the last cluster boundary
			cut = limit
			for cut > start+1 && !grapheme[cut] {
				cut--
			}
		}
		parts = appendPart(parts, runes[start:cut])
		start = cut
	}
	return parts
}

// appendPart adds p without the whitespace at its ends, unless it is blank.
func appendPart(parts []string, p []rune) []string {
	s := strings.TrimFunc(string(p), unicode.IsSpace)
	if s == "" {
		return parts
	}
	return append(parts, s)
}

// graphemeStarts reports for each rune offset of runes (and its end) whether a grapheme
// cluster, a character as the user sees it, starts there.
func graphemeStarts(runes []rune) []bool {
	var seg segmenter.Segmenter
	seg.Init(runes)
	return graphemeStartsOf(&seg, len(runes))
}

// graphemeStartsOf is graphemeStarts for a segmenter already given the n runes.
func graphemeStartsOf(seg *segmenter.Segmenter, n int) []bool {
	starts := make([]bool, n+1)
	for it := seg.GraphemeIterator(); it.Next(); {
		starts[it.Grapheme().Offset] = true
	}
	starts[n] = true
	return starts
}
