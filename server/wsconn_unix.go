//go:build unix

package server

import (
	"net"
	"syscall"
)

// nbWriter makes non-blocking write attempts on a socket. Its callback is made once,
// so an attempt (one per member and fan-out pass) allocates nothing.
type nbWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool
	b   []byte
	n   int
	err error
}

// newNBWriter answers an nbWriter for c, or nil where a non-blocking attempt is not
// possible (TLS, or not a TCP socket).
func newNBWriter(c net.Conn) *nbWriter {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &nbWriter{rc: rc}
	w.fn = w.write
	return w
}

// try writes b with one non-blocking attempt and answers how much the socket took:
// Go's sockets are non-blocking, and returning true from the callback keeps
// RawConn.Write from waiting for the socket to become writable.
func (w *nbWriter) try(b []byte) (int, error) {
	w.b = b
	err := w.rc.Write(w.fn)
	n, werr := w.n, w.err
	w.b, w.n, w.err = nil, 0, nil
	if err != nil {
		return 0, err
	}
	return n, werr
}

// write is the callback of try.
func (w *nbWriter) write(fd uintptr) bool {
	for {
		w.n, w.err = syscall.Write(int(fd), w.b)
		if w.err != syscall.EINTR {
			break
		}
	}
	if w.err == syscall.EAGAIN {
		w.n, w.err = 0, nil
	}
	if w.n < 0 {
		w.n = 0
	}
	return true
}
