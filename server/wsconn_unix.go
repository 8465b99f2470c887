//go:build unix

package server

import (
	"net"
	"syscall"
)

// rawConnOf answers the socket's raw connection for non-blocking attempts, or nil.
func rawConnOf(c net.Conn) syscall.RawConn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryWrite writes b with one non-blocking attempt and answers how much the socket
// took: Go's sockets are non-blocking, and returning true from the callback keeps
// RawConn.Write from waiting for the socket to become writable.
func tryWrite(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				break
			}
		}
		if werr == syscall.EAGAIN {
			n, werr = 0, nil
		}
		if n < 0 {
			n = 0
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, werr
}
