//go:build !unix

package server

import (
	"errors"
	"net"
)

// nbWriter stands for the non-blocking writer of unix systems: here every frame goes
// through a writer goroutine.
type nbWriter struct{}

// newNBWriter answers nil: no non-blocking attempt on this platform.
func newNBWriter(net.Conn) *nbWriter { return nil }

func (*nbWriter) try([]byte) (int, error) {
	return 0, errors.New("no non-blocking write on this platform")
}
