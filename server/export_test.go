package server

// FrameAttempts answers how many fan-out frames were written whole by one
// non-blocking attempt, and how many only in part.
func FrameAttempts() (whole, partial int64) { return triedFrames.Load(), partialFrames.Load() }

// SetFanoutPassHook makes fn see the number of message events of every fan-out pass
// that has any, before it is written (fn may block to hold the fan-out back); the returned func removes it.
// Set it before the test's server starts.
func SetFanoutPassHook(fn func(events int)) (restore func()) {
	fanoutPassHook = fn
	return func() { fanoutPassHook = nil }
}

// SortRoomMessages is sortRoomMessages, for its test.
var SortRoomMessages = sortRoomMessages
