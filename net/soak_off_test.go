//go:build !soak

package net

// soak is true with -tags soak: the fault tests run their long versions.
const soak = false
