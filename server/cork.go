package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
)

// Buffer sizes of a WebSocket's socket. Frames are small, and an idle connection
// keeps these for as long as it lives. The write buffer only needs to hold a frame's
// header: frames are written while the socket is corked (writeBatch), so the corkConn
// gathers them; a control frame written uncorked (a close, a ping) costs at most one
// more small write.
const (
	wsReadBuf  = 512
	wsWriteBuf = 16 // bufio's smallest
)

// maxCorkKeep is the largest write buffer a connection keeps between batches; a burst's
// bigger buffer is let go.
const maxCorkKeep = 512

// corkConn is the socket under a WebSocket. While corked, writes collect in memory and
// uncork sends them with one write: coder/websocket flushes every frame, and corking
// lets a session send all the frames that wait in one system call.
//
// Fan-out frames can also be written by tryFrames, with one non-blocking attempt and
// no goroutine (see session.tryDeliver). For that the corkConn follows the frames written
// through it (frameTrack): tryFrames writes only between two frames and never after a
// close frame; what the socket does not take at once waits in pending, and every later
// write sends pending first.
type corkConn struct {
	net.Conn
	raw     syscall.RawConn // nil where a non-blocking attempt is not possible (TLS, Windows)
	mu      sync.Mutex
	corked  bool
	buf     []byte
	pending []byte
	track   frameTrack
	failed  bool // a non-blocking attempt failed: the socket is broken
}

// Write implements net.Conn.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.track.feed(p)
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if err := c.flushPendingLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// cork starts collecting writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was collected and stops collecting.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if err := c.flushPendingLocked(); err != nil {
		c.resetBufLocked()
		return err
	}
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.resetBufLocked()
	return err
}

// resetBufLocked empties buf, letting a burst's big array go.
func (c *corkConn) resetBufLocked() {
	if cap(c.buf) > maxCorkKeep {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
}

// flushPendingLocked writes, blocking, what a non-blocking attempt left.
func (c *corkConn) flushPendingLocked() error {
	if len(c.pending) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.pending)
	c.pending = nil
	return err
}

// hasPending answers whether bytes wait for a writer.
func (c *corkConn) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

// flushPending writes, blocking, what a non-blocking attempt left.
func (c *corkConn) flushPending() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushPendingLocked()
}

// tryFrames writes frames as unmasked text frames with a single non-blocking write,
// when the socket is free for it: no other write under way, nothing corked or pending,
// between two frames, no close frame sent. It answers whether it took them (false:
// nothing was written, queue them as usual) and whether part of them waits in pending
// (the caller then starts a writer to send it).
func (c *corkConn) tryFrames(frames []outFrame) (took, rest bool, err error) {
	if c.raw == nil || !c.mu.TryLock() {
		return false, false, nil
	}
	defer c.mu.Unlock()
	if c.corked || c.failed || len(c.pending) > 0 || !c.track.between() || c.track.closeSent {
		return false, false, nil
	}
	out := c.buf[:0]
	for _, f := range frames {
		out = appendFrameHeader(out, len(f.data))
		out = append(out, f.data...)
	}
	c.buf = out
	defer c.resetBufLocked()
	n, err := tryWrite(c.raw, out)
	if err != nil {
		c.failed = true
		return true, false, err
	}
	if n < len(out) {
		c.pending = append([]byte(nil), out[n:]...)
		partialFrames.Add(1)
		return true, true, nil
	}
	triedFrames.Add(1)
	return true, false, nil
}

// triedFrames and partialFrames count tryFrames' whole and partial writes (tests
// read them to know which paths ran).
var triedFrames, partialFrames atomic.Int64

// appendFrameHeader appends the header of a final, unmasked text frame of n bytes.
func appendFrameHeader(b []byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x81, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x81, 127)
		return binary.BigEndian.AppendUint64(b, uint64(n))
	}
}

// frameTrack follows the WebSocket frames written to a socket, byte by byte across
// writes: where a frame ends, and whether a close frame went out.
type frameTrack struct {
	hdr       [14]byte
	nhdr      int    // header bytes of the next frame seen so far
	left      uint64 // payload bytes of the current frame still to come
	closeSent bool
}

// between answers whether the bytes so far end with a whole frame.
func (t *frameTrack) between() bool { return t.nhdr == 0 && t.left == 0 }

// feed follows p.
func (t *frameTrack) feed(p []byte) {
	for len(p) > 0 {
		if t.left > 0 {
			k := uint64(len(p))
			if k > t.left {
				k = t.left
			}
			t.left -= k
			p = p[k:]
			continue
		}
		t.hdr[t.nhdr] = p[0]
		t.nhdr++
		p = p[1:]
		if t.nhdr < 2 {
			continue
		}
		need := 2
		switch t.hdr[1] & 0x7f {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if t.hdr[1]&0x80 != 0 {
			need += 4 // a mask (client frames; the server sends none)
		}
		if t.nhdr < need {
			continue
		}
		var n uint64
		switch l := t.hdr[1] & 0x7f; l {
		case 126:
			n = uint64(binary.BigEndian.Uint16(t.hdr[2:4]))
		case 127:
			n = binary.BigEndian.Uint64(t.hdr[2:10])
		default:
			n = uint64(l)
		}
		if t.hdr[0]&0x0f == 0x8 {
			t.closeSent = true
		}
		t.left = n
		t.nhdr = 0
	}
}

// hijackWriter hands coder/websocket a corkConn and small buffers in place of
// net/http's, so that once the handler returns nothing of net/http's connection
// stays in memory.
type hijackWriter struct {
	http.ResponseWriter
	wire *corkConn
}

// Hijack implements http.Hijacker.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.wire = &corkConn{Conn: nc, raw: rawConnOf(nc)}
	var rd io.Reader = w.wire
	n := brw.Reader.Buffered()
	if n > 0 {
		// Bytes the client sent right after its handshake: keep them in front.
		b, _ := brw.Reader.Peek(n)
		rd = io.MultiReader(bytes.NewReader(bytes.Clone(b)), w.wire)
	}
	br := bufio.NewReaderSize(rd, max(wsReadBuf, n))
	if n > 0 {
		// Pull them into br's buffer now: coder/websocket keeps what br holds and
		// reads the rest from the conn itself.
		if _, err := br.Peek(n); err != nil {
			_ = nc.Close()
			return nil, nil, fmt.Errorf("keep buffered handshake bytes: %w", err)
		}
	}
	return w.wire, bufio.NewReadWriter(br, bufio.NewWriterSize(w.wire, wsWriteBuf)), nil
}
