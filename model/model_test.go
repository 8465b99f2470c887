package model

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", " bob.B-1_ ": "bob.b-1_", "abc": "abc"} {
		got, err := NormalizeUsername(in)
		if err != nil || got != want {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ab", strings.Repeat("a", 33), "al ice", "ålice", "a/b", "../x"} {
		if _, err := NormalizeUsername(in); !errors.Is(err, ErrBadUsername) {
			t.Errorf("NormalizeUsername(%q) accepted", in)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	if ValidatePassword("1234567") == nil {
		t.Error("7 characters accepted")
	}
	if err := ValidatePassword("12345678"); err != nil {
		t.Errorf("8 characters refused: %v", err)
	}
	if ValidatePassword(strings.Repeat("x", 73)) == nil {
		t.Error("73 bytes accepted (bcrypt would truncate)")
	}
}

func TestCleanContent(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"hello", "hello", nil},
		{"a\tb\nc", "a\tb\nc", nil},
		{"a\x00b\x07c\rd\u0085", "abcd", nil},
		{"  \n\t ", "", ErrBlank},
		{"\x01\x02", "", ErrBlank},
		{"bad \xff utf8", "", ErrBadUTF8},
		{strings.Repeat("é", 4000), strings.Repeat("é", 4000), nil},
		{strings.Repeat("é", 4001), "", ErrTooLarge},
		{strings.Repeat("a", 3999) + "\x00\x00", strings.Repeat("a", 3999), nil},
		{"👍🏽 emoji", "👍🏽 emoji", nil},
	}
	for _, c := range cases {
		got, err := CleanContent(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("CleanContent(%.20q) = %.20q, %v; want %.20q, %v", c.in, got, err, c.want, c.err)
		}
	}
	if ContentErrorCode(ErrTooLarge) != CodeTooLarge || ContentErrorCode(ErrBlank) != CodeInvalid {
		t.Error("ContentErrorCode maps wrongly")
	}
}

func TestStatusCanMove(t *testing.T) {
	allowed := map[[2]Status]bool{
		{StatusSending, StatusSent}: true, {StatusSending, StatusDelivered}: true, {StatusSending, StatusRead}: true,
		{StatusSending, StatusFailed}: true, {StatusSent, StatusDelivered}: true, {StatusSent, StatusRead}: true,
		{StatusDelivered, StatusRead}: true, {StatusFailed, StatusSending}: true,
		{StatusFailed, StatusSent}: true, {StatusFailed, StatusDelivered}: true, {StatusFailed, StatusRead}: true,
	}
	all := []Status{StatusSending, StatusSent, StatusDelivered, StatusRead, StatusFailed, "bogus"}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanMove(to); got != allowed[[2]Status{from, to}] {
				t.Errorf("%s → %s: CanMove = %v", from, to, got)
			}
		}
	}
}

func TestTimeJSON(t *testing.T) {
	tm := NewTime(time.Date(2026, 3, 31, 12, 15, 2, 123456789, time.FixedZone("x", 2*3600)))
	b, err := json.Marshal(tm)
	if err != nil || string(b) != `"2026-03-31T10:15:02.123Z"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tm.Time) {
		t.Fatalf("Unmarshal = %v, %v", back, err)
	}
	if b, _ := json.Marshal(Time{}); string(b) != "null" {
		t.Errorf("zero Time = %s", b)
	}
	if err := json.Unmarshal([]byte(`"yesterday"`), &back); err == nil {
		t.Error("bad time accepted")
	}
}

func TestDecodeFrame(t *testing.T) {
	f, err := DecodeFrame([]byte(`{"type":"message","id":"x","roomId":"r","seq":7,"content":"hi","timestamp":"2026-03-31T10:15:02.123Z","attachment":{"url":"/u/1","name":"a.png","size":3,"mime":"image/png"}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := f.AsMessage()
	if m.ID != "x" || m.RoomID != "r" || m.Seq != 7 || m.Content != "hi" || m.Attachment == nil || m.Timestamp.IsZero() {
		t.Errorf("AsMessage = %+v", m)
	}
	f, err = DecodeFrame([]byte(`{"type":"room","id":"r1","name":"general","public":true,"memberIds":["u1"],"lastSeq":3,"unread":1,"epoch":"e"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := f.AsRoom(); r.ID != "r1" || r.Name != "general" || !r.Public || len(r.MemberIDs) != 1 || r.LastSeq != 3 || r.Epoch != "e" {
		t.Errorf("AsRoom = %+v", r)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{}`, `{"type":5}`, `{"type":"sync","afterSeq":"1"}`, `{"type":"x"`, `{"type":"sync","afterSeq":1e400}`} {
		if _, err := DecodeFrame([]byte(bad)); !errors.Is(err, ErrFrame) {
			t.Errorf("DecodeFrame(%q) = %v, want ErrFrame", bad, err)
		}
	}
}

// TestEncodedFramesCarryZeroFields checks that frames keep the fields the protocol names even
// when they are zero, so any client can rely on them.
func TestEncodedFramesCarryZeroFields(t *testing.T) {
	b, _ := json.Marshal(SyncedFrame{Type: TypeSynced, RoomID: "r"})
	if string(b) != `{"type":"synced","roomId":"r","seq":0,"epoch":"","more":false}` {
		t.Errorf("synced = %s", b)
	}
	b, _ = json.Marshal(SyncFrame{Type: TypeSync, RoomID: "r"})
	if string(b) != `{"type":"sync","roomId":"r","afterSeq":0}` {
		t.Errorf("sync = %s", b)
	}
	b, _ = json.Marshal(MessageFrame{Type: TypeMessage, Message: Message{ID: "i", RoomID: "r", Seq: 1}})
	if !strings.HasPrefix(string(b), `{"type":"message","id":"i","roomId":"r","seq":1,`) || strings.Contains(string(b), "attachment") {
		t.Errorf("message = %s", b)
	}
	b, _ = json.Marshal(NewAPIError(CodeInvalid, "bad"))
	if string(b) != `{"error":{"code":"invalid","message":"bad"}}` {
		t.Errorf("api error = %s", b)
	}
}

func TestMessageID(t *testing.T) {
	id := NewMessageID()
	if !ValidMessageID(id) || ValidMessageID("not-a-uuid") || ValidMessageID("") {
		t.Error("ValidMessageID wrong")
	}
}

func TestCleanName(t *testing.T) {
	if n, err := CleanName("  Alice\x00 B "); err != nil || n != "Alice B" {
		t.Errorf("CleanName = %q, %v", n, err)
	}
	for _, bad := range []string{"", "  ", strings.Repeat("x", 65), "\xff"} {
		if _, err := CleanName(bad); err == nil {
			t.Errorf("CleanName(%q) accepted", bad)
		}
	}
}

func TestValidEmoji(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"👍", true}, {"👍🏽", true}, {"❤️", true}, {"👩‍💻", true}, {"👨‍👩‍👧‍👦", true}, {"🇫🇷", true}, {"1️⃣", true},
		{"🏴󠁧󠁢󠁳󠁣󠁴󠁿", true}, {"a", true},
		{"", false}, {"👍👍", false}, {"ab", false}, {" ", false}, {"\n", false}, {"🇫🇷🇩🇪", false}, {"\u200d", false},
		{"👍\u200d", false}, {"\u0301", false}, {"\xff", false},
		{"👍" + strings.Repeat("\U0001F3FB", 8), false}, // one cluster, but 36 bytes
	} {
		if got := ValidEmoji(c.s); got != c.ok {
			t.Errorf("ValidEmoji(%q) = %v, want %v", c.s, got, c.ok)
		}
	}
}
