//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyHeapSignal relays SIGUSR1, which asks for a heap profile, to c.
func notifyHeapSignal(c chan<- os.Signal) { signal.Notify(c, syscall.SIGUSR1) }
