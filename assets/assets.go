// Package assets holds Parley's embedded resources: the app icon.
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:generate go run ./internal/iconmaker icon.png

//go:embed icon.png
var iconPNG []byte

// Icon is the app icon, a speech bubble, 512×512 PNG.
var Icon fyne.Resource = fyne.NewStaticResource("icon.png", iconPNG)
