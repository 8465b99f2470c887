//go:build !linux

package main

import (
	"os"
	"syscall"
)

// childAttr: elsewhere than Linux nothing ties the server's life to the bench's.
func childAttr() *syscall.SysProcAttr { return nil }

// raiseFileLimit leaves the limit as it is (the bench measures on Linux; /proc too).
func raiseFileLimit() uint64 { return 0 }

// signalHeapProfile does nothing where there is no SIGUSR1.
func signalHeapProfile(*os.Process) {}

// processGone: elsewhere than Linux there is no /proc to look in; the kill is
// taken as done.
func processGone(int) bool { return true }
