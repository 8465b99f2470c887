package server

import (
	"context"
	"time"
)

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

// LimiterKeys answers how many keys the per-user send limiter (messages and refusals),
// the failed-login limiter and the registration limiter (per address and overall)
// hold.
func LimiterKeys(s *Server) (sends, logins, registrations int) {
	sends = s.limiter.sends.len() + s.limiter.refused.len()
	logins = s.logins.fails.len()
	if s.registrations != nil {
		registrations = s.registrations.len() + s.regAll.len()
	}
	return sends, logins, registrations
}

// SetCommitTimeout bounds each group commit by d; the returned func restores the
// default. Set it before the test's server starts.
func SetCommitTimeout(d time.Duration) (restore func()) {
	old := commitTimeout
	commitTimeout = d
	return func() { commitTimeout = old }
}

// SortRoomMessages is sortRoomMessages, for its test.
var SortRoomMessages = sortRoomMessages

// PeakPending answers the largest pending output (bytes queued or being written) any
// session of the process has had, and resets it.
func PeakPending() int64 { return peakPending.Swap(0) }

// HubSizes answers how many users and rooms the hub keeps state for.
func HubSizes(s *Server) (users, rooms int) {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	return len(s.hub.users), len(s.hub.rooms)
}

// UploadBlob answers the Blob the server keeps uploads in.
func UploadBlob(s *Server) Blob { return s.blob }

// UploadOf answers the server's record of the upload id.
func UploadOf(s *Server, id string) (UploadRecord, error) {
	return s.store.Upload(context.Background(), id)
}
