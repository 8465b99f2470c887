//go:build !soak

package server_test

// soak is true with -tags soak: the fault tests run their long versions.
const soak = false
