package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
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
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

// Write implements net.Conn.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
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
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > maxCorkKeep {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
	return err
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
	w.wire = &corkConn{Conn: nc}
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
