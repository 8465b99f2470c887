package main

import (
	"runtime"
	"testing"
)

// TestTrimOnce: after a burst of garbage is collected, its pages stay with the
// process as free heap; trimOnce gives them back, and does nothing when little is free.
func TestTrimOnce(t *testing.T) {
	burst := make([][]byte, 0, 1024)
	for range cap(burst) {
		burst = append(burst, make([]byte, 64<<10)) // 64 MiB in all
	}
	runtime.KeepAlive(burst)
	burst = nil
	runtime.GC()
	before := freeHeap(t)
	if before < 32<<20 {
		t.Skipf("the runtime returned the burst by itself (%d MiB free): nothing to trim", before>>20)
	}
	if _, trimmed := trimOnce(before + 1); trimmed {
		t.Fatal("trimmed below its threshold")
	}
	free, trimmed := trimOnce(32 << 20)
	if !trimmed || free < 32<<20 {
		t.Fatalf("trimOnce: free %d MiB, trimmed %v", free>>20, trimmed)
	}
	if after := freeHeap(t); after >= before/2 {
		t.Fatalf("free heap %d MiB before the trim, %d MiB after", before>>20, after>>20)
	}
}

func freeHeap(t *testing.T) uint64 {
	t.Helper()
	free, ok := heapFreeBytes()
	if !ok {
		t.Fatalf("%s: not a counter here", heapFree)
	}
	return free
}
