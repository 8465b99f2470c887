package model

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecodeFrame feeds DecodeFrame arbitrary bytes: it must never panic, and a frame
// it accepts has a type and survives a round trip through JSON.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","id":"3f1c2a4e-8a1b-4c1d-9e2f-0a1b2c3d4e5f","roomId":"general","content":"hi"}`,
		`{"type":"sync","roomId":"general","afterSeq":12}`,
		`{"type":"read","roomId":"r","seq":-1}`,
		`{"type":"hello","userId":"u","online":["a","b"],"serverTime":"2026-03-31T10:15:02.123Z"}`,
		`{"type":"message","attachment":{"url":"/u/1","size":"big"}}`,
		`{"type":""}`, `{"type":1}`, `{}`, `[]`, `null`, ``, `{"type":"ping"} trailing`,
		`{"type":"message","content":"\ud800"}`, `{"type":"x","timestamp":"yesterday"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error %v does not wrap ErrFrame", err)
			}
			return
		}
		if fr.Type == "" {
			t.Fatal("accepted a frame without a type")
		}
		again, err := json.Marshal(fr)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeFrame(again)
		if err != nil {
			t.Fatalf("decode of re-encoded %s: %v", again, err)
		}
		if back.Type != fr.Type || back.ID != fr.ID || back.Seq != fr.Seq || back.Content != fr.Content {
			t.Fatalf("round trip changed %+v into %+v", fr, back)
		}
	})
}

// FuzzCleanContent checks the content rules on arbitrary strings: what CleanContent
// answers is valid, not blank, at most MaxContentRunes, free of control characters
// but newline and tab, and cleaning it again changes nothing.
func FuzzCleanContent(f *testing.F) {
	for _, s := range []string{
		"hello", " ", "\n\t", "a\x00b", "\x1b[31mred", "é", "a\xffb", "\u200b",
		strings.Repeat("x", MaxContentRunes), strings.Repeat("é", MaxContentRunes+1), "line\r\nbreak",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CleanContent(s)
		if err != nil {
			if code := ContentErrorCode(err); code != CodeInvalid && code != CodeTooLarge {
				t.Fatalf("error code %q", code)
			}
			return
		}
		if !utf8.ValidString(out) || strings.TrimSpace(out) == "" || utf8.RuneCountInString(out) > MaxContentRunes {
			t.Fatalf("CleanContent(%q) = %q", s, out)
		}
		for _, r := range out {
			if r != '\n' && r != '\t' && unicode.IsControl(r) {
				t.Fatalf("control character %U kept", r)
			}
		}
		if again, err := CleanContent(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q, %v", out, again, err)
		}
	})
}
