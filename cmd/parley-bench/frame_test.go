package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
)

// TestDecodeFrame checks the scan against encoding/json on the frames the server
// sends, and that whatever the scan cannot read still decodes.
func TestDecodeFrame(t *testing.T) {
	at := model.NewTime(time.UnixMilli(1_700_000_000_123))
	frames := []any{
		model.MessageFrame{Type: model.TypeMessage, Message: model.Message{ID: "m1", RoomID: "r1", Seq: 42,
			SenderID: "u1", SenderName: "Ann", Content: "b1700000000123456789", Timestamp: at}},
		model.MessageFrame{Type: model.TypeMessage, Message: model.Message{ID: "m2", RoomID: "r2", Seq: 7,
			SenderID: "u1", SenderName: "Ann \"the\" first", Content: "quote \" and \\ and \u00e9", Timestamp: at}},
		model.MessageFrame{Type: model.TypeMessage, Message: model.Message{ID: "m3", RoomID: "r3", Seq: 9,
			SenderID: "u1", SenderName: "Ann", Content: "with a file", Timestamp: at,
			Attachment: &model.Attachment{URL: "/f/a", Name: "f.txt", Size: 3, MIME: "text/plain"}}},
		model.AckFrame{Type: model.TypeAck, ID: "m1", RoomID: "r1", Seq: 1 << 40, Timestamp: at},
		model.ErrorFrame{Type: model.TypeError, Code: model.CodeRateLimited, Message: "slow down", ID: "m9"},
		model.SyncedFrame{Type: model.TypeSynced, RoomID: "r1", Seq: 12, More: true},
	}
	for _, v := range frames {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var want, got inFrame
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := decodeFrame(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", b, got, want)
		}
	}
	var f inFrame
	for _, bad := range []string{`{"type":"message",`, `{"type":"ack","id":"x","seq":1`, `{"type":"message","id":"x`, `not json`} {
		if decodeFrame([]byte(bad), &f) == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	msg, _ := json.Marshal(model.MessageFrame{Type: model.TypeMessage, Message: model.Message{ID: model.NewMessageID(),
		RoomID: "general", Seq: 123456, SenderID: "u1", SenderName: "bench-user-1", Content: "b1700000000123456789",
		Timestamp: model.NewTime(time.Now())}})
	for _, c := range []struct {
		name string
		dec  func([]byte, *inFrame) error
	}{{"scan", decodeFrame}, {"encoding-json", func(b []byte, f *inFrame) error { return json.Unmarshal(b, f) }}} {
		b.Run(c.name, func(b *testing.B) {
			var f inFrame
			for b.Loop() {
				if err := c.dec(msg, &f); err != nil || f.Seq != 123456 {
					b.Fatal(err)
				}
			}
		})
	}
}
