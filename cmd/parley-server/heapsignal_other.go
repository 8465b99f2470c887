//go:build !unix

package main

import "os"

// notifyHeapSignal does nothing where there is no SIGUSR1 (Windows): the heap profile
// is then written only when the server stops.
func notifyHeapSignal(chan<- os.Signal) {}
