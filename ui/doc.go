// Package ui is Parley's Fyne front end: the sign-in screen, the rooms list, the chat
// (bubbles, status marks, the connection banner, the typing line, the composer) and the
// app shell that lays them out side by side on desktop and one at a time on mobile.
// Engine events reach the widgets only through bridge.go, on the UI goroutine.
package ui
