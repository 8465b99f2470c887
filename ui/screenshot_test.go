package ui

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
)

// saveScreenshot writes the window to docs/screenshots/name when PARLEY_SCREENSHOTS=1.
func saveScreenshot(t *testing.T, w fyne.Window, name string) {
	t.Helper()
	if os.Getenv("PARLEY_SCREENSHOTS") != "1" {
		return
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, w.Canvas().Capture()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
