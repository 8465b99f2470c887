package ui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-text/typesetting/segmenter"

	"github.com/parleychat/parley/model"
)

func TestSplitMessage(t *testing.T) {
	words := longText(4010)
	for _, tc := range []struct {
		name  string
		text  string
		max   int
		parts int
	}{
		{"short stays whole", "hello there", 4000, 1},
		{"blank is nothing", "  \n ", 10, 0},
		{"4,010 characters of words", words, model.MaxContentRunes, 2},
		{"20,000 characters", longText(20000), model.MaxContentRunes, 5},
		{"one long word", strings.Repeat("x", 25), 10, 3},
	} {
		parts := splitMessage(tc.text, tc.max)
		if len(parts) != tc.parts {
			t.Errorf("%s: %d parts; want %d", tc.name, len(parts), tc.parts)
		}
		for i, p := range parts {
			if n := utf8.RuneCountInString(p); n > tc.max || strings.TrimSpace(p) == "" {
				t.Errorf("%s: part %d has %d characters (max %d)", tc.name, i, n, tc.max)
			}
			if _, err := model.CleanContent(p); tc.max == model.MaxContentRunes && err != nil {
				t.Errorf("%s: part %d is refused: %v", tc.name, i, err)
			}
		}
		// Only whitespace at the cuts is dropped: the words come out whole and in order.
		if got, want := strings.Fields(strings.Join(parts, " ")), strings.Fields(tc.text); tc.name != "one long word" &&
			strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: the parts do not add up to the text", tc.name)
		}
	}
	// Cuts fall on spaces: what follows each part in the text is a space, or the end.
	at := 0
	for _, p := range splitMessage(words, model.MaxContentRunes) {
		i := strings.Index(words[at:], p)
		if i < 0 {
			t.Fatalf("part not found in order")
		}
		at += i + len(p)
		if at < len(words) && words[at] != ' ' {
			t.Errorf("a part ends inside a word: …%q|%q", p[len(p)-10:], words[at:at+5])
		}
	}
	// A paragraph's end in the second half of a part is preferred over the last space.
	para := strings.Repeat("a ", 30) + "\n" + strings.Repeat("b ", 30)
	if parts := splitMessage(para, 80); len(parts) != 2 || strings.Contains(parts[0], "b") {
		t.Errorf("the cut is not at the paragraph's end: %q", parts)
	}
}

// A word of emoji with modifiers, flags and combining marks, longer than a part, is cut
// between grapheme clusters only.
func TestSplitMessageNeverCutsAGrapheme(t *testing.T) {
	unit := "👍🏽🇩🇪e\u0301👨\u200d👩\u200d👧" // thumbs up + skin tone, a flag, é as e + accent, a family
	text := strings.Repeat(unit, 40)
	parts := splitMessage(text, 7)
	if strings.Join(parts, "") != text {
		t.Fatalf("the parts do not add up to the text")
	}
	for i, p := range parts {
		rs := []rune(p)
		if len(rs) > 7 {
			t.Errorf("part %d has %d code points", i, len(rs))
		}
		var seg segmenter.Segmenter
		seg.Init(rs)
		n := 0
		for it := seg.GraphemeIterator(); it.Next(); {
			n += len(it.Grapheme().Text)
		}
		if n != len(rs) {
			t.Errorf("part %d: graphemes cover %d of %d runes", i, n, len(rs))
		}
	}
	// Each cut is a grapheme boundary of the whole text.
	var seg segmenter.Segmenter
	whole := []rune(text)
	seg.Init(whole)
	bounds := map[int]bool{len(whole): true}
	for it := seg.GraphemeIterator(); it.Next(); {
		bounds[it.Grapheme().Offset] = true
	}
	at := 0
	for i, p := range parts {
		at += utf8.RuneCountInString(p)
		if !bounds[at] {
			t.Errorf("cut after part %d (rune %d) is inside a grapheme cluster", i, at)
		}
	}
}
