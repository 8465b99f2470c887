package main

import (
	"runtime"
	"testing"
)

// garbage allocates n bytes in 64 KiB pieces and drops them.
func garbage(n int) {
	pieces := make([][]byte, 0, n/(64<<10))
	for range cap(pieces) {
		pieces = append(pieces, make([]byte, 64<<10))
	}
	runtime.KeepAlive(pieces)
}

// TestTrimAfterBurst: after a burst of garbage is collected, its pages stay with the
// process as free heap; the trimmer gives them back although the period was busy.
func TestTrimAfterBurst(t *testing.T) {
	var tr trimmer
	tr.tick()
	garbage(96 << 20) // more than a quiet period allocates
	runtime.GC()
	before := freeHeap(t)
	if before < trimThreshold {
		t.Skipf("the runtime returned the burst by itself (%d MiB free): nothing to trim", before>>20)
	}
	free, trimmed := tr.tick()
	if !trimmed || free < trimThreshold {
		t.Fatalf("tick: free %d MiB, trimmed %v", free>>20, trimmed)
	}
	if after := freeHeap(t); after >= before/2 {
		t.Fatalf("free heap %d MiB before the trim, %d MiB after", before>>20, after>>20)
	}
}

// TestTrimWhenQuiet: a quiet period's garbage is collected and given back once it
// adds up to quietTrim; a period with nothing to give back, and a busy one whose
// memory is still in use, are left alone.
func TestTrimWhenQuiet(t *testing.T) {
	var tr trimmer
	tr.tick()
	garbage(8 << 20) // quiet, and more than quietTrim
	if free, trimmed := tr.tick(); !trimmed {
		t.Fatalf("quiet period with 8 MiB of garbage: not trimmed (free %d MiB)", free>>20)
	}
	if after := freeHeap(t); after >= quietTrim {
		t.Fatalf("free heap %d MiB after the trim", after>>20)
	}
	if free, trimmed := tr.tick(); trimmed {
		t.Fatalf("a period that allocated nothing was trimmed (free %d MiB)", free>>20)
	}
	// A busy period: 80 MiB allocated and still held.
	held := make([][]byte, 0, 1280)
	for range cap(held) {
		held = append(held, make([]byte, 64<<10))
	}
	if free, trimmed := tr.tick(); trimmed {
		t.Fatalf("a busy period with little free was trimmed (free %d MiB)", free>>20)
	}
	runtime.KeepAlive(held)
}

func freeHeap(t *testing.T) uint64 {
	t.Helper()
	free, ok := heapFreeBytes()
	if !ok {
		t.Fatalf("%s: not a counter here", heapFree)
	}
	return free
}
