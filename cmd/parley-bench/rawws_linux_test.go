//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/model"
)

// serverFrame encodes an unmasked frame as a server sends it.
func serverFrame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(p); {
	case n < 126:
		out = append(out, byte(n))
	case n <= 0xffff:
		out = append(out, 126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	return append(out, p...)
}

// readClientFrame reads one frame the client wrote to fd and unmasks it.
func readClientFrame(t *testing.T, fd int) (op byte, payload []byte) {
	t.Helper()
	buf := make([]byte, 1<<20)
	n, err := syscall.Read(fd, buf)
	if err != nil {
		t.Fatalf("read the client's frame: %v", err)
	}
	b := buf[:n]
	if b[1]&0x80 == 0 {
		t.Fatal("the client's frame is not masked")
	}
	l, h := int(b[1]&0x7f), 2
	switch l {
	case 126:
		l, h = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		l, h = int(binary.BigEndian.Uint64(b[2:])), 10
	}
	mask := b[h : h+4]
	p := append([]byte(nil), b[h+4:h+4+l]...)
	for i := range p {
		p[i] ^= mask[i&3]
	}
	if h+4+l != n {
		t.Fatalf("%d bytes read, the frame has %d", n, h+4+l)
	}
	return b[0] & 0x0f, p
}

// TestRawConnFrames: frames split anywhere across reads, fragmented messages and big
// ones reach the client whole and in order; a ping is answered with its payload, a
// close frame with the code, after which the connection is over; what the client
// writes is masked.
func TestRawConnFrames(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[1])
	c := newClient(model.AuthResponse{}, "ws://unused")
	rc := &rawConn{c: c, fd: fds[0], ended: make(chan struct{})}
	defer syscall.Close(fds[0])

	big := bytes.Repeat([]byte("x"), 70000)
	var stream []byte
	stream = append(stream, serverFrame(true, 0x1, []byte(`{"type":"hello","userId":"u"}`))...)
	stream = append(stream, serverFrame(false, 0x1, []byte(`{"type":"message","roomId":"r",`))...)
	stream = append(stream, serverFrame(true, 0x0, []byte(`"seq":1,"content":"b1"}`))...)
	stream = append(stream, serverFrame(true, 0x1, []byte(`{"type":"message","roomId":"r","seq":2,"content":"`+string(big)+`"}`))...)
	stream = append(stream, serverFrame(true, 0x1, []byte(`{"type":"message","roomId":"r","seq":3,"content":"b3"}`))...)
	for _, chunk := range []int{1, 3, 7, 500, len(stream)} {
		c.rooms = map[string]*roomLog{}
		c.hellos = 0
		for i := 0; i < len(stream); i += chunk {
			if !rc.feed(stream[i:min(i+chunk, len(stream))], time.Now()) {
				t.Fatalf("chunks of %d: the connection ended", chunk)
			}
		}
		rl := c.rooms["r"]
		if c.hellos != 1 || rl == nil || rl.top != 3 || rl.doubled != 0 || len(c.errors) != 0 {
			t.Fatalf("chunks of %d: hellos %d, room %+v, errors %v", chunk, c.hellos, rl, c.errors)
		}
	}

	if !rc.feed(serverFrame(true, 0x9, []byte("abc")), time.Now()) {
		t.Fatal("a ping ended the connection")
	}
	if op, p := readClientFrame(t, fds[1]); op != 0xA || string(p) != "abc" {
		t.Fatalf("answer to a ping: op %x %q, want a pong with abc", op, p)
	}
	if err := rc.Write(t.Context(), websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if op, p := readClientFrame(t, fds[1]); op != 0x1 || string(p) != `{"type":"ping"}` {
		t.Fatalf("text frame: op %x %q", op, p)
	}
	if rc.feed(serverFrame(true, 0x8, []byte{0x03, 0xe9, 'b', 'y', 'e'}), time.Now()) {
		t.Fatal("a close frame did not end the connection")
	}
	if op, p := readClientFrame(t, fds[1]); op != 0x8 || !bytes.Equal(p, []byte{0x03, 0xe9}) {
		t.Fatalf("answer to a close: op %x %v, want close 1001", op, p)
	}
	masked := []byte{0x81, 0x80 | 2, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2}
	rc2 := &rawConn{c: c, fd: -1, ended: make(chan struct{})}
	if rc2.feed(masked, time.Now()) {
		t.Fatal("a masked server frame was taken")
	}
}
