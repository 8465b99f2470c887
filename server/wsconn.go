package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// wsReadBuf is the size of a WebSocket's read buffer. Frames are small, and an idle
// connection keeps it for as long as it lives. There is no write buffer: a write
// builds its frames in one array and hands it to the socket at once.
const wsReadBuf = 512

// maxWriteKeep is the largest write array a connection keeps between writes; a burst's
// bigger array is let go.
const maxWriteKeep = 512

// closeTimeout bounds the closing handshake: the write of the close frame, and the
// wait for the client's own close frame after it.
const closeTimeout = 5 * time.Second

// Close codes the server sends that gobwas/ws does not name.
const statusTryAgainLater ws.StatusCode = 1013

// wsConn is the server's side of one WebSocket (RFC 6455) on a hijacked connection,
// built on gobwas/ws's frame-level API: every frame the server sends is ours, written
// under mu, whole, by writeFrames, tryFrames or writeClose. Nothing else writes to the
// socket, so between two writes the stream is always between two frames: a
// non-blocking attempt (tryFrames) needs no tracking of someone else's bytes.
//
// One goroutine reads (readMessage); it never writes: it reports client pings and
// pongs (onPing, onPong), and its owner queues the answers as frames of its own.
type wsConn struct {
	nc net.Conn
	br *bufio.Reader
	nb *nbWriter // nil where a non-blocking attempt is not possible (TLS, Windows)

	mu        sync.Mutex
	buf       frameBuf // the frames of the write under way
	pending   []byte   // what a non-blocking attempt left: it goes before anything else
	hdrOut    [ws.MaxHeaderSize]byte
	closeSent bool
	failed    bool // a non-blocking attempt failed: the socket is broken

	// The reader's alone.
	limit  int64 // the largest message taken (its frames together)
	hdrIn  [ws.MaxHeaderSize - 2]byte
	ctl    [maxControlPayload]byte
	onPing func(payload []byte) // payload is good only during the call
	onPong func()
}

// maxControlPayload is RFC 6455's bound on a control frame's payload.
const maxControlPayload = 125

// newWSConn takes over nc after the handshake. buffered is what net/http had read past
// the request (frames the client sent at once); it is read first.
func newWSConn(nc net.Conn, buffered []byte, limit int64) *wsConn {
	var rd io.Reader = nc
	if len(buffered) > 0 {
		rd = io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), nc)
	}
	return &wsConn{nc: nc, br: bufio.NewReaderSize(rd, wsReadBuf), nb: newNBWriter(nc), limit: limit,
		onPing: func([]byte) {}, onPong: func() {}}
}

// upgradeWS answers the WebSocket handshake of r and takes the connection from
// net/http. Only a small read buffer of ours stays: net/http's buffers are let go.
// The caller checked the Origin; no extension and no subprotocol is offered.
func upgradeWS(w http.ResponseWriter, r *http.Request, timeout time.Duration, limit int64) (*wsConn, error) {
	nc, rw, _, err := ws.HTTPUpgrader{Timeout: timeout}.Upgrade(r, w)
	if err != nil {
		if nc != nil {
			_ = nc.Close()
		}
		return nil, err
	}
	var buffered []byte
	if n := rw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right after its handshake: keep them in front.
		buffered, _ = rw.Reader.Peek(n)
	}
	return newWSConn(nc, buffered, limit), nil
}

// frameBuf collects frames for one write.
type frameBuf []byte

// Write implements io.Writer, for ws.WriteHeaderBuffer.
func (b *frameBuf) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

// appendFrameLocked adds one final, unmasked frame to c.buf; the caller holds mu.
func (c *wsConn) appendFrameLocked(op ws.OpCode, payload []byte) {
	// Writing to a frameBuf cannot fail, and the header's length is a slice's.
	_ = ws.WriteHeaderBuffer(&c.buf, ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))}, c.hdrOut[:])
	c.buf = append(c.buf, payload...)
}

// appendOutLocked adds frames to c.buf, behind what is pending; the caller holds mu.
func (c *wsConn) appendOutLocked(frames []outFrame) {
	n := len(c.pending)
	for _, f := range frames {
		n += ws.HeaderSize(ws.Header{Length: int64(len(f.data))}) + len(f.data)
	}
	c.buf = append(slices.Grow(c.buf[:0], n), c.pending...)
	c.pending = nil
	for _, f := range frames {
		op := ws.OpText
		if f.ctl != 0 {
			op = f.ctl
		}
		c.appendFrameLocked(op, f.data)
	}
}

// resetBufLocked empties buf, letting a burst's big array go.
func (c *wsConn) resetBufLocked() {
	if cap(c.buf) > maxWriteKeep {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
}

// errWSClosed is the answer to a write after the close frame.
var errWSClosed = errors.New("websocket: close frame already sent")

// writeFrames writes what is pending and then frames, in one blocking write.
func (c *wsConn) writeFrames(frames []outFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeSent {
		return errWSClosed
	}
	c.appendOutLocked(frames)
	defer c.resetBufLocked()
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.buf)
	return err
}

// tryFrames writes frames with a single non-blocking write, when the socket is free
// for it: no other write under way, nothing pending, no close frame sent. It answers
// whether it took them (false: nothing was written, queue them as usual) and whether
// part of them waits in pending (the caller then starts a writer to send it).
func (c *wsConn) tryFrames(frames []outFrame) (took, rest bool, err error) {
	if c.nb == nil || !c.mu.TryLock() {
		return false, false, nil
	}
	defer c.mu.Unlock()
	if c.failed || c.closeSent || len(c.pending) > 0 {
		return false, false, nil
	}
	c.appendOutLocked(frames)
	defer c.resetBufLocked()
	n, err := c.nb.try(c.buf)
	if err != nil {
		c.failed = true
		return true, false, err
	}
	if n < len(c.buf) {
		c.pending = append([]byte(nil), c.buf[n:]...)
		partialFrames.Add(1)
		return true, true, nil
	}
	triedFrames.Add(1)
	return true, false, nil
}

// triedFrames and partialFrames count tryFrames' whole and partial writes (tests
// read them to know which paths ran).
var triedFrames, partialFrames atomic.Int64

// canTry answers whether tryFrames can ever take frames on this connection.
func (c *wsConn) canTry() bool { return c.nb != nil }

// hasPending answers whether bytes of a non-blocking attempt wait for a writer.
func (c *wsConn) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

// flushPending writes, blocking, what a non-blocking attempt left.
func (c *wsConn) flushPending() error { return c.writeFrames(nil) }

// writeClose writes what is pending and a close frame with code and reason (none for
// StatusNoStatusRcvd, the echo of a close frame without a code); later writes fail.
// The write gives up after closeTimeout.
func (c *wsConn) writeClose(code ws.StatusCode, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeSent {
		return nil
	}
	c.closeSent = true
	var body []byte
	if code != ws.StatusNoStatusRcvd {
		if len(reason) > maxControlPayload-2 {
			reason = reason[:maxControlPayload-2]
		}
		body = ws.NewCloseFrameBody(code, reason)
	}
	c.appendOutLocked(nil)
	c.appendFrameLocked(ws.OpClose, body)
	defer c.resetBufLocked()
	_ = c.nc.SetWriteDeadline(time.Now().Add(closeTimeout))
	_, err := c.nc.Write(c.buf)
	return err
}

// discard reads and drops what the client sends until the connection ends.
func (c *wsConn) discard() { _, _ = c.br.WriteTo(io.Discard) }

// closeNow drops the connection without a closing handshake.
func (c *wsConn) closeNow() error { return c.nc.Close() }

// closeError is the client's close frame: the reader's last answer.
type closeError struct {
	code   ws.StatusCode // StatusNoStatusRcvd when the frame had none
	reason string
}

func (e *closeError) Error() string {
	if e.reason != "" {
		return fmt.Sprintf("client closed %d: %s", e.code, e.reason)
	}
	return fmt.Sprintf("client closed %d", e.code)
}

// failError is a client frame that breaks the protocol or a limit: the connection is
// closed with code.
type failError struct {
	code   ws.StatusCode
	reason string
}

func (e *failError) Error() string { return e.reason }

func protocolError(format string, args ...any) error {
	return &failError{code: ws.StatusProtocolError, reason: fmt.Sprintf(format, args...)}
}

// errTooBig is a message past the read limit.
var errTooBig = &failError{code: ws.StatusMessageTooBig, reason: "frame too big"}

// readMessage reads the client's next data message (its frames put together),
// answering its opcode (ws.OpText or ws.OpBinary) and payload. A message that fits
// in small (a heartbeat: every idle client's only frame) is read into it without an
// allocation; a bigger one gets an array of its own. Control frames on the way go to
// onPing and onPong; a close frame ends the reading with a *closeError, a frame that
// breaks the protocol or the limit with a *failError.
func (c *wsConn) readMessage(small []byte) (ws.OpCode, []byte, error) {
	var (
		op   ws.OpCode // the message's, once its first frame came
		data []byte
	)
	for {
		h, err := ws.ReadHeaderBuffer(c.br, c.hdrIn[:])
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				return 0, nil, protocolError("bad frame header: %v", err)
			}
			return 0, nil, err
		}
		switch {
		case h.Rsv != 0:
			return 0, nil, protocolError("reserved bits set (no extension was agreed)")
		case h.OpCode.IsReserved():
			return 0, nil, protocolError("reserved opcode %#x", byte(h.OpCode))
		case !h.Masked:
			return 0, nil, protocolError("client frame not masked")
		}
		if h.OpCode.IsControl() {
			if err := c.readControl(h); err != nil {
				return 0, nil, err
			}
			continue
		}
		switch {
		case op == 0 && h.OpCode == ws.OpContinuation:
			return 0, nil, protocolError("continuation frame with no message under way")
		case op != 0 && h.OpCode != ws.OpContinuation:
			return 0, nil, protocolError("new message in the middle of a fragmented one")
		}
		if op == 0 {
			op = h.OpCode
		}
		if h.Length > c.limit-int64(len(data)) {
			return 0, nil, errTooBig
		}
		if data == nil && h.Fin && h.Length <= int64(len(small)) {
			p := small[:h.Length]
			if _, err := io.ReadFull(c.br, p); err != nil {
				return 0, nil, unexpectedEOF(err)
			}
			ws.Cipher(p, h.Mask, 0)
			return op, p, nil
		}
		if data, err = c.appendPayload(data, h); err != nil {
			return 0, nil, err
		}
		if h.Fin {
			return op, data, nil
		}
	}
}

// appendPayload appends h's payload, unmasked, to dst. The array grows as bytes come,
// never on the length the client declared alone.
func (c *wsConn) appendPayload(dst []byte, h ws.Header) ([]byte, error) {
	start := len(dst)
	for left := h.Length; left > 0; {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, int(min(left, int64(max(wsReadBuf, cap(dst))))))
		}
		n := int(min(left, int64(cap(dst)-len(dst))))
		k, err := io.ReadFull(c.br, dst[len(dst):len(dst)+n])
		dst = dst[:len(dst)+k]
		left -= int64(k)
		if err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	ws.Cipher(dst[start:], h.Mask, 0)
	return dst, nil
}

// readControl reads and acts on a control frame.
func (c *wsConn) readControl(h ws.Header) error {
	if !h.Fin || h.Length > maxControlPayload {
		return protocolError("control frame fragmented or longer than %d bytes", maxControlPayload)
	}
	p := c.ctl[:h.Length]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return unexpectedEOF(err)
	}
	ws.Cipher(p, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		c.onPing(p)
	case ws.OpPong:
		c.onPong()
	case ws.OpClose:
		return closeFrameError(p)
	}
	return nil
}

// closeFrameError reads a client's close frame payload.
func closeFrameError(p []byte) error {
	if len(p) == 0 {
		return &closeError{code: ws.StatusNoStatusRcvd}
	}
	if len(p) == 1 {
		return protocolError("close frame with a one-byte payload")
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return protocolError("close code %d may not be sent", code)
	}
	reason := p[2:]
	if !utf8.Valid(reason) {
		return &failError{code: ws.StatusInvalidFramePayloadData, reason: "close reason is not UTF-8"}
	}
	return &closeError{code: code, reason: string(reason)}
}

// validCloseCode reports whether an endpoint may send code in a close frame (RFC 6455
// 7.4).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code.IsProtocolReserved(), code == ws.StatusNoMeaningYet:
		return false
	case code >= ws.StatusNormalClosure && code <= 1014:
		return true
	default:
		return code.IsApplicationSpec() || code.IsPrivateSpec()
	}
}

// unexpectedEOF makes the end of the stream in the middle of a frame an error.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
