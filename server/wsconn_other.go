//go:build !unix

package server

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf answers nil: here every frame goes through a writer goroutine.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func tryWrite(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("no non-blocking write on this platform")
}
