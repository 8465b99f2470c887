package ui

import (
	"os"
	"runtime/debug"
)

// goMemoryLimit is the soft limit of the Go runtime's memory (heap, stacks, metadata):
// the app holds ~40 MB live (fonts, a bounded window of rows, Fyne's caches), and
// without a limit a flood's garbage lets the heap double before each collection and
// keeps the pages afterwards. Near the limit the collector runs sooner and returns
// memory to the system. GOMEMLIMIT, when set, wins.
const goMemoryLimit = 96 << 20

// limitMemory sets the Go runtime's soft memory limit, unless GOMEMLIMIT is set.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(goMemoryLimit)
	}
}
