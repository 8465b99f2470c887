#!/usr/bin/env bash
# package.sh builds Parley's distributables into dist/ (git-ignored), installing what it
# lacks first (the Fyne CLI, the Linux build headers, the mingw-w64 cross compiler):
#   - dist/parley-linux-amd64.tar.xz     `fyne package -os linux -release` (app, icon, .desktop, Makefile)
#   - dist/parley.exe                    the app for Windows, cross-compiled with mingw-w64 (cgo)
#   - dist/Parley-windows-amd64.exe      `fyne package -os windows -release` (icon and metadata embedded)
#   - dist/parley-server.exe, dist/parley-cli.exe                   pure Go, for Windows
#   - dist/parley-server-darwin-arm64, dist/parley-cli-darwin-arm64  pure Go, for Apple silicon
# and checks that the Fyne-free packages (model, net, storage) build for android/arm64,
# ios/arm64 and darwin/arm64 without cgo, and vet for android and darwin (go vet refuses
# ios without cgo). It prints what it made and exits non-zero when any
# step failed; the other steps still run. It works from any current directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# fyne package raises Build in FyneApp.toml and may leave fyne_metadata_init.go behind:
# put the tree back as it was, whatever happens.
toml_saved=$(mktemp)
cp FyneApp.toml "$toml_saved"
restore_tree() {
	cp "$toml_saved" FyneApp.toml
	rm -f "$toml_saved" fyne_metadata_init.go
}
trap restore_tree EXIT
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"

readonly FYNE_TOOLS=fyne.io/tools/cmd/fyne@v1.7.4
readonly FYNE_VERSION=v1.7.4
readonly DIST=dist
readonly MINGW_CC=x86_64-w64-mingw32-gcc
readonly APT_BUILD=(gcc pkg-config libgl1-mesa-dev xorg-dev)
readonly APT_WINDOWS=(gcc-mingw-w64-x86-64)
readonly PURE_PKGS=(./model ./net ./storage)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

passed=()
failed=()

# step runs one named step in a subshell with errexit on, recording whether it passed.
step() {
	local name=$1
	shift
	echo
	echo "==> $name"
	set +e
	(
		set -e
		"$@"
	)
	local rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		passed+=("$name")
	else
		failed+=("$name (exit $rc)")
		echo "FAILED: $name (exit $rc)" >&2
	fi
}

# apt_install installs the Debian packages given that are not installed yet.
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "Installing system packages: ${missing[*]}"
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
	fi
}

deps() {
	command -v go >/dev/null || {
		echo "Go is missing: install Go 1.26 (https://go.dev/dl)" >&2
		return 1
	}
	apt_install "${APT_BUILD[@]}"
	# The CLI is a tool, not a dependency of the module: go install, never go.mod.
	local have=""
	if command -v fyne >/dev/null; then
		have=$(fyne version 2>/dev/null || true)
	fi
	if [[ $have != *"cli version: $FYNE_VERSION"* ]]; then
		echo "Installing $FYNE_TOOLS"
		(cd / && go install "$FYNE_TOOLS")
	fi
	fyne version
	mkdir -p "$DIST"
}

# check_metadata checks that FyneApp.toml names what fyne package needs.
check_metadata() {
	local toml=FyneApp.toml key
	for key in Name ID Version Build Icon; do
		grep -Eq "^[[:space:]]*$key[[:space:]]*=" "$toml" || {
			echo "$toml has no $key" >&2
			return 1
		}
	done
	grep -Eq '^[[:space:]]*Name[[:space:]]*=[[:space:]]*"Parley"' "$toml" || {
		echo "$toml: Name is not \"Parley\"" >&2
		return 1
	}
	local icon
	icon=$(sed -nE 's/^[[:space:]]*Icon[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' "$toml")
	[ -f "$icon" ] || {
		echo "$toml: icon $icon not found" >&2
		return 1
	}
	grep -E '^[[:space:]]*(Name|ID|Version|Build|Icon)[[:space:]]*=' "$toml"
}

linux_package() {
	rm -f Parley.tar.xz
	fyne package -os linux -release
	mv Parley.tar.xz "$DIST/parley-linux-amd64.tar.xz"
	tar -tJf "$DIST/parley-linux-amd64.tar.xz"
}

windows_deps() {
	apt_install "${APT_WINDOWS[@]}"
	command -v "$MINGW_CC"
}

# windows_build builds the three Windows binaries, each even when another failed.
windows_build() {
	local rc=0
	CC=$MINGW_CC GOOS=windows GOARCH=amd64 CGO_ENABLED=1 go build -trimpath -o "$DIST/parley.exe" . || rc=1
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -o "$DIST/parley-server.exe" ./cmd/parley-server || rc=1
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -o "$DIST/parley-cli.exe" ./cmd/parley-cli || rc=1
	return "$rc"
}

windows_package() {
	rm -f Parley.exe fyne.syso
	CC=$MINGW_CC GOOS=windows GOARCH=amd64 CGO_ENABLED=1 fyne package -os windows -release
	mv Parley.exe "$DIST/Parley-windows-amd64.exe"
}

# mobile_ready builds and vets the Fyne-free packages for a GOOS/arm64 without cgo, as a
# phone build would need them. go vet cannot run for ios without cgo (it sets up the test
# binaries, and ios/arm64 links only externally): ios code is vetted as darwin instead.
mobile_ready() {
	local goos=$1
	GOOS=$goos GOARCH=arm64 CGO_ENABLED=0 go build "${PURE_PKGS[@]}"
	if [ "$goos" = ios ]; then
		echo "go vet skipped for ios: \"ios/arm64 requires external (cgo) linking\"; vetted as darwin/arm64"
		return 0
	fi
	GOOS=$goos GOARCH=arm64 CGO_ENABLED=0 go vet "${PURE_PKGS[@]}"
}

darwin_build() {
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go build "${PURE_PKGS[@]}"
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go vet "${PURE_PKGS[@]}"
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -o "$DIST/parley-server-darwin-arm64" ./cmd/parley-server
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -o "$DIST/parley-cli-darwin-arm64" ./cmd/parley-cli
}

step "dependencies (Go, build headers, fyne CLI $FYNE_VERSION)" deps
step "FyneApp.toml metadata" check_metadata
step "linux: fyne package -os linux -release" linux_package
step "windows: mingw-w64 cross compiler" windows_deps
step "windows: go build parley.exe (cgo), parley-server.exe, parley-cli.exe" windows_build
step "android/arm64: build and vet model, net, storage (no cgo)" mobile_ready android
step "ios/arm64: build model, net, storage (no cgo; vet as darwin)" mobile_ready ios
step "darwin/arm64: model, net, storage; parley-server and parley-cli" darwin_build
# Last: its cgo build with fyne's hardening flags shares no cache with the plain one.
step "windows: fyne package -os windows -release" windows_package

echo
echo "==> dist/"
ls -la "$DIST"
echo
for s in "${passed[@]}"; do echo "ok      $s"; done
for s in "${failed[@]+"${failed[@]}"}"; do echo "FAILED  $s"; done
if [ "${#failed[@]}" -gt 0 ]; then
	exit 1
fi
