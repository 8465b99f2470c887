package server

import (
	"bytes"
	"testing"
)

// TestFrameTrack follows frames split anywhere across writes: the boundaries and the
// close frame are found whatever the split.
func TestFrameTrack(t *testing.T) {
	var stream []byte
	stream = appendFrameHeader(stream, 5)
	stream = append(stream, "hello"...)
	stream = appendFrameHeader(stream, 300)
	stream = append(stream, bytes.Repeat([]byte{0x88}, 300)...) // payload bytes that look like close opcodes
	stream = appendFrameHeader(stream, 70000)
	stream = append(stream, bytes.Repeat([]byte{'x'}, 70000)...)
	stream = append(stream, 0x89, 0x00) // a ping, empty
	for _, chunk := range []int{1, 2, 3, 7, 16, 512, len(stream)} {
		var tr frameTrack
		for i := 0; i < len(stream); i += chunk {
			tr.feed(stream[i:min(i+chunk, len(stream))])
		}
		if !tr.between() || tr.closeSent {
			t.Fatalf("chunks of %d: between %v, close %v after whole frames", chunk, tr.between(), tr.closeSent)
		}
		tr.feed([]byte{0x81, 10, 'a'})
		if tr.between() {
			t.Fatalf("chunks of %d: between frames in the middle of one", chunk)
		}
		tr.feed(bytes.Repeat([]byte{'a'}, 9))
		tr.feed([]byte{0x88})
		if tr.between() || tr.closeSent {
			t.Fatalf("chunks of %d: half a header counted", chunk)
		}
		tr.feed([]byte{0x02, 0x03, 0xe8})
		if !tr.between() || !tr.closeSent {
			t.Fatalf("chunks of %d: close frame not seen", chunk)
		}
	}
	// A masked (client) header has four more bytes.
	var tr frameTrack
	tr.feed([]byte{0x81, 0x80 | 3, 1, 2, 3, 4, 'a', 'b'})
	if tr.between() {
		t.Fatal("masked frame ended early")
	}
	tr.feed([]byte{'c'})
	if !tr.between() {
		t.Fatal("masked frame did not end")
	}
}
