//go:build !((linux || openbsd || freebsd || netbsd) && !android && !ios && !mobile && !wasm && !ci && !flatpak)

package ui

// notificationsAvailable: outside the desktop Unix drivers (macOS, Windows, mobile, a
// Flatpak's portal) Fyne reports no failure worth silencing, so notifications are on.
func notificationsAvailable() error { return nil }
