package server

// FrameAttempts answers how many fan-out frames were written whole by one
// non-blocking attempt, and how many only in part.
func FrameAttempts() (whole, partial int64) { return triedFrames.Load(), partialFrames.Load() }
