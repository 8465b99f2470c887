package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// tcpPair answers the two ends of a loopback TCP connection: the server's (a
// *net.TCPConn, so non-blocking attempts work) and the peer's. With small, both ends
// have small socket buffers, so a few hundred KiB fill the connection.
func tcpPair(t *testing.T, small bool) (srv, peer *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	srv, peer = sc.(*net.TCPConn), pc.(*net.TCPConn)
	if small {
		if err := srv.SetWriteBuffer(4096); err != nil {
			t.Fatal(err)
		}
		if err := peer.SetReadBuffer(4096); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { srv.Close(); peer.Close() })
	return srv, peer
}

// readServerFrames reads n frames the server wrote, checking each is whole (a final,
// unmasked frame with no reserved bits), and answers their opcodes and payloads.
func readServerFrames(t *testing.T, r io.Reader, n int) ([]ws.OpCode, [][]byte) {
	t.Helper()
	ops, out, err := readFrames(r, n)
	if err != nil {
		t.Fatal(err)
	}
	return ops, out
}

// readFrames is readServerFrames for any goroutine.
func readFrames(r io.Reader, n int) ([]ws.OpCode, [][]byte, error) {
	var ops []ws.OpCode
	var out [][]byte
	for i := range n {
		h, err := ws.ReadHeader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("frame %d: %w", i, err)
		}
		if !h.Fin || h.Masked || h.Rsv != 0 {
			return nil, nil, fmt.Errorf("frame %d: header %+v", i, h)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, nil, fmt.Errorf("frame %d payload: %w", i, err)
		}
		ops = append(ops, h.OpCode)
		out = append(out, p)
	}
	return ops, out, nil
}

// payload answers the distinct payload number i of n bytes.
func payload(i, n int) []byte {
	p := bytes.Repeat([]byte{byte('a' + i%26)}, n)
	copy(p, fmt.Sprintf("%06d", i))
	return p
}

// TestWSConnPartialWritesKeepFramesWhole: with a peer that does not read, a
// non-blocking attempt takes only part of its frames (the partial counter moves), the
// next attempts are refused while the rest waits, and a blocking write sends the rest
// first. When the peer reads, every frame comes whole and in the order taken.
func TestWSConnPartialWritesKeepFramesWhole(t *testing.T) {
	srv, peer := tcpPair(t, true)
	c := newWSConn(srv, nil, 1<<20)
	if !c.canTry() {
		t.Fatal("a TCP connection cannot be tried")
	}
	var want [][]byte
	_, partial0 := triedFrames.Load(), partialFrames.Load()
	i := 0
	rest := false
	for !rest {
		var frames []outFrame
		for range 8 {
			frames = append(frames, outFrame{typ: "message", data: payload(i, 10_000)})
			i++
		}
		took, r, err := c.tryFrames(frames)
		if err != nil || !took {
			t.Fatalf("attempt %d: took %v, err %v", i, took, err)
		}
		for _, f := range frames {
			want = append(want, f.data)
		}
		rest = r
		if i > 10_000 {
			t.Fatal("the socket never filled")
		}
	}
	if partialFrames.Load() == partial0 {
		t.Fatal("a partial write was answered but not counted")
	}
	if !c.hasPending() {
		t.Fatal("nothing pending after a partial write")
	}
	// While the rest waits, attempts are refused: they would split the frame.
	if took, _, _ := c.tryFrames([]outFrame{{data: []byte("cut in")}}); took {
		t.Fatal("an attempt was taken while part of a frame waited")
	}

	// A blocking write sends what is pending, then its own frames; meanwhile (it holds
	// the socket) attempts are refused.
	last := []outFrame{{data: payload(i, 50_000)}, {ctl: ws.OpPing}}
	want = append(want, last[0].data, nil)
	wrote := make(chan error, 1)
	go func() { wrote <- c.writeFrames(last) }()
	refused := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && refused < 100; refused++ {
		if took, _, _ := c.tryFrames([]outFrame{{data: []byte("cut in")}}); took {
			t.Fatal("an attempt was taken during a blocking write")
		}
	}

	br := bufio.NewReader(peer)
	ops, got := readServerFrames(t, br, len(want))
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	for k := range want {
		wantOp := ws.OpText
		if k == len(want)-1 {
			wantOp = ws.OpPing
		}
		if ops[k] != wantOp || !bytes.Equal(got[k], want[k]) {
			t.Fatalf("frame %d: op %v, %d bytes %.12q; want op %v, %d bytes %.12q", k, ops[k], len(got[k]), got[k], wantOp, len(want[k]), want[k])
		}
	}
	if c.hasPending() {
		t.Fatal("still pending after the blocking write")
	}

	// The socket is free again: an attempt goes whole, behind everything before.
	whole0 := triedFrames.Load()
	if took, r, err := c.tryFrames([]outFrame{{data: []byte("after")}}); !took || r || err != nil {
		t.Fatalf("attempt on a free socket: took %v rest %v err %v", took, r, err)
	}
	if triedFrames.Load() == whole0 {
		t.Fatal("a whole attempt was not counted")
	}
	if _, got := readServerFrames(t, br, 1); string(got[0]) != "after" {
		t.Fatalf("after: %q", got[0])
	}

	// After the close frame nothing more is written.
	if err := c.writeClose(ws.StatusGoingAway, "bye"); err != nil {
		t.Fatal(err)
	}
	if took, _, _ := c.tryFrames([]outFrame{{data: []byte("late")}}); took {
		t.Fatal("an attempt was taken after the close frame")
	}
	if err := c.writeFrames([]outFrame{{data: []byte("late")}}); !errors.Is(err, errWSClosed) {
		t.Fatalf("write after close: %v", err)
	}
	ops, got = readServerFrames(t, br, 1)
	if code, reason := ws.ParseCloseFrameData(got[0]); ops[0] != ws.OpClose || code != ws.StatusGoingAway || reason != "bye" {
		t.Fatalf("close frame: op %v code %d %q", ops[0], code, reason)
	}
}

// TestWSConnConcurrentWritersNeverSplitFrames: attempts and blocking writes from many
// goroutines, more than the socket holds at once, all come out as whole frames, each
// exactly once.
func TestWSConnConcurrentWritersNeverSplitFrames(t *testing.T) {
	srv, peer := tcpPair(t, false)
	c := newWSConn(srv, nil, 1<<20)
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for k := range each {
				f := []outFrame{{data: payload(w*each+k, 6+(k*7919)%30_000)}}
				if k%2 == 0 {
					if took, _, err := c.tryFrames(f); took {
						if err != nil {
							t.Error(err)
						}
						continue
					}
				}
				if err := c.writeFrames(f); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	read := make(chan error, 1)
	go func() {
		br := bufio.NewReader(peer)
		_, got, err := readFrames(br, writers*each)
		if err != nil {
			read <- err
			return
		}
		seen := make(map[int]bool)
		for _, p := range got {
			var i int
			if _, err := fmt.Sscanf(string(p[:6]), "%06d", &i); err != nil {
				read <- fmt.Errorf("frame %.12q: %w", p, err)
				return
			}
			if !bytes.Equal(p, payload(i, len(p))) || seen[i] {
				read <- fmt.Errorf("frame %d broken or doubled", i)
				return
			}
			seen[i] = true
		}
		read <- nil
	}()
	wg.Wait()
	// The last attempt's rest, if it left one: a writer would send it.
	if err := c.flushPending(); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
}

// clientFrame encodes a frame as a client sends it (masked) unless unmasked.
func clientFrame(t *testing.T, fin bool, op ws.OpCode, p []byte, unmasked bool) []byte {
	t.Helper()
	f := ws.NewFrame(op, fin, bytes.Clone(p))
	if !unmasked {
		f = ws.MaskFrameInPlace(f)
	}
	b, err := ws.CompileFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readerOver answers a wsConn whose client sent stream.
func readerOver(stream []byte, limit int64) *wsConn {
	srv, peer := net.Pipe()
	go func() {
		_, _ = peer.Write(stream)
		_ = peer.Close()
	}()
	c := newWSConn(srv, nil, limit)
	return c
}

// TestWSConnReadsFragmentsAndControlFrames: a message in three frames, with a ping
// and a pong between them, is put together; the ping's payload and the pong are
// reported; a small message lands in the small buffer; the close frame ends it.
func TestWSConnReadsFragmentsAndControlFrames(t *testing.T) {
	var s []byte
	s = append(s, clientFrame(t, false, ws.OpText, []byte("hel"), false)...)
	s = append(s, clientFrame(t, true, ws.OpPing, []byte("are you there"), false)...)
	s = append(s, clientFrame(t, false, ws.OpContinuation, []byte("lo "), false)...)
	s = append(s, clientFrame(t, true, ws.OpPong, nil, false)...)
	s = append(s, clientFrame(t, true, ws.OpContinuation, bytes.Repeat([]byte("world"), 300), false)...)
	s = append(s, clientFrame(t, true, ws.OpText, []byte(`{"type":"ping"}`), false)...)
	s = append(s, clientFrame(t, true, ws.OpClose, ws.NewCloseFrameBody(4001, "bye"), false)...)
	c := readerOver(s, 1<<20)
	var pings []string
	pongs := 0
	c.onPing = func(p []byte) { pings = append(pings, string(p)) }
	c.onPong = func() { pongs++ }
	var small [16]byte

	op, data, err := c.readMessage(small[:])
	if want := "hello " + string(bytes.Repeat([]byte("world"), 300)); err != nil || op != ws.OpText || string(data) != want {
		t.Fatalf("fragmented message: op %v, %d bytes, %v", op, len(data), err)
	}
	if len(pings) != 1 || pings[0] != "are you there" || pongs != 1 {
		t.Fatalf("pings %q, pongs %d", pings, pongs)
	}
	op, data, err = c.readMessage(small[:])
	if err != nil || op != ws.OpText || string(data) != `{"type":"ping"}` || &data[0] != &small[0] {
		t.Fatalf("small message: op %v %q %v (in the small buffer: %v)", op, data, err, err == nil && &data[0] == &small[0])
	}
	_, _, err = c.readMessage(small[:])
	var ce *closeError
	if !errors.As(err, &ce) || ce.code != 4001 || ce.reason != "bye" {
		t.Fatalf("close: %v", err)
	}
}

// TestWSConnRefusesBadFrames: each frame that breaks RFC 6455 or the limit ends the
// reading with the close code it earns.
func TestWSConnRefusesBadFrames(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 101)
	for _, tc := range []struct {
		name   string
		stream func() []byte
		code   ws.StatusCode
	}{
		{
			name:   "unmasked",
			stream: func() []byte { return clientFrame(t, true, ws.OpText, []byte("hi"), true) },
			code:   ws.StatusProtocolError,
		},
		{
			name: "reserved bit",
			stream: func() []byte {
				b := clientFrame(t, true, ws.OpText, []byte("hi"), false)
				b[0] |= 0x40
				return b
			},
			code: ws.StatusProtocolError,
		},
		{
			name:   "reserved opcode",
			stream: func() []byte { return clientFrame(t, true, ws.OpCode(3), []byte("hi"), false) },
			code:   ws.StatusProtocolError,
		},
		{
			name:   "continuation first",
			stream: func() []byte { return clientFrame(t, true, ws.OpContinuation, []byte("hi"), false) },
			code:   ws.StatusProtocolError,
		},
		{
			name: "new message inside a fragmented one",
			stream: func() []byte {
				return append(clientFrame(t, false, ws.OpText, []byte("a"), false), clientFrame(t, true, ws.OpText, []byte("b"), false)...)
			},
			code: ws.StatusProtocolError,
		},
		{
			name:   "fragmented ping",
			stream: func() []byte { return clientFrame(t, false, ws.OpPing, []byte("p"), false) },
			code:   ws.StatusProtocolError,
		},
		{
			name:   "long ping",
			stream: func() []byte { return clientFrame(t, true, ws.OpPing, bytes.Repeat([]byte("p"), 126), false) },
			code:   ws.StatusProtocolError,
		},
		{
			name:   "close with a reserved code",
			stream: func() []byte { return clientFrame(t, true, ws.OpClose, ws.NewCloseFrameBody(1005, ""), false) },
			code:   ws.StatusProtocolError,
		},
		{
			name:   "close with one byte",
			stream: func() []byte { return clientFrame(t, true, ws.OpClose, []byte{3}, false) },
			code:   ws.StatusProtocolError,
		},
		{
			name:   "frame past the limit",
			stream: func() []byte { return clientFrame(t, true, ws.OpText, big, false) },
			code:   ws.StatusMessageTooBig,
		},
		{
			name: "fragments past the limit",
			stream: func() []byte {
				return append(clientFrame(t, false, ws.OpText, big[:60], false), clientFrame(t, true, ws.OpContinuation, big[:41], false)...)
			},
			code: ws.StatusMessageTooBig,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := readerOver(tc.stream(), 100)
			var small [16]byte
			_, _, err := c.readMessage(small[:])
			var fe *failError
			if !errors.As(err, &fe) || fe.code != tc.code {
				t.Fatalf("%v, want a close %d", err, tc.code)
			}
		})
	}
	// At the limit is fine; a close frame without a code is answered without one.
	c := readerOver(append(clientFrame(t, true, ws.OpText, big[:100], false), clientFrame(t, true, ws.OpClose, nil, false)...), 100)
	var small [16]byte
	if _, data, err := c.readMessage(small[:]); err != nil || len(data) != 100 {
		t.Fatalf("a frame at the limit: %d bytes, %v", len(data), err)
	}
	var ce *closeError
	if _, _, err := c.readMessage(small[:]); !errors.As(err, &ce) || ce.code != ws.StatusNoStatusRcvd {
		t.Fatalf("empty close: %v", err)
	}
	// The stream ending inside a frame is an error, not a message.
	b := clientFrame(t, true, ws.OpText, []byte("cut short"), false)
	c = readerOver(b[:len(b)-3], 100)
	if _, _, err := c.readMessage(small[:]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut frame: %v", err)
	}
}

// repeatReader answers frame over and over.
type repeatReader struct {
	frame []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.frame[r.off:])
		n += k
		r.off = (r.off + k) % len(r.frame)
	}
	return n, nil
}

// heartbeatReader answers a wsConn whose client sends heartbeats without end.
func heartbeatReader(t testing.TB) *wsConn {
	f := ws.MaskFrameInPlace(ws.NewTextFrame([]byte(`{"type":"ping"}`)))
	b, err := ws.CompileFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	return &wsConn{br: bufio.NewReaderSize(&repeatReader{frame: b}, wsReadBuf), limit: 1 << 16,
		onPing: func([]byte) {}, onPong: func() {}}
}

// TestHeartbeatReadWithoutAllocation: the frame every idle client sends is read into
// the session's small buffer, with no allocation.
func TestHeartbeatReadWithoutAllocation(t *testing.T) {
	c := heartbeatReader(t)
	var small [16]byte
	allocs := testing.AllocsPerRun(1000, func() {
		if _, data, err := c.readMessage(small[:]); err != nil || string(data) != `{"type":"ping"}` {
			t.Fatalf("%q %v", data, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations a heartbeat, want 0", allocs)
	}
}

func BenchmarkReadHeartbeat(b *testing.B) {
	c := heartbeatReader(b)
	var small [16]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.readMessage(small[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTryFrames is a fan-out pass's write to one member: three message frames in
// one non-blocking attempt, on loopback with a peer that reads.
func BenchmarkTryFrames(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	sc, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	go func() { _, _ = io.Copy(io.Discard, pc) }()
	c := newWSConn(sc, nil, 1<<16)
	frames := []outFrame{{data: payload(1, 200)}, {data: payload(2, 300)}, {data: payload(3, 150)}}
	b.ReportAllocs()
	for b.Loop() {
		took, rest, err := c.tryFrames(frames)
		if err != nil {
			b.Fatal(err)
		}
		if !took || rest {
			if err := c.flushPending(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
