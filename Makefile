# Parley: `make run` starts the app on its embedded server; `make test` runs vet and the tests.
# Each target installs what is missing first.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go

# Debian packages: cgo and the OpenGL/X11 headers Fyne needs, Xvfb and xdotool for the
# end-to-end window test, ImageMagick for its screenshots, e2fsprogs (chattr) for the
# unwritable-disk test.
APT_BUILD := gcc pkg-config libgl1-mesa-dev xorg-dev
APT_E2E := xvfb xdotool imagemagick xclip sqlite3 curl e2fsprogs iproute2
# PostgreSQL for the Store's tests on it (server/internal/pgtest starts a throwaway
# cluster unless PARLEY_TEST_PG names a server), dbus-daemon for the app's notification
# tests (a private session bus).
APT_TEST := postgresql dbus-daemon
# scripts/cluster-e2e.sh and cluster-bench.sh: nodes behind nginx on Debian's NATS
# server (the Go tests run NATS in-process and need none of these).
APT_CLUSTER := nats-server nginx curl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run server test test-short vet lint e2e cluster-e2e screenshots deps deps-e2e deps-test deps-cluster bench bench-cluster fuzz package clean

run: deps
	$(GO) run .

server:
	$(GO) run ./cmd/parley-server

test: deps deps-e2e deps-test vet lint
	$(GO) test -race -count=1 ./...

# The real app in two windows under Xvfb, driven by xdotool (scripts/e2e.sh; it also
# runs scripts/e2e_ratelimit.sh: typing fast into a rate-limited server).
e2e: deps deps-e2e
	scripts/e2e.sh

# e2e, then refresh the README's screenshots.
screenshots: deps deps-e2e
	scripts/e2e.sh --screenshots

test-short: deps deps-test
	$(GO) test -race -short ./...

vet: deps
	$(GO) vet ./...

# staticcheck at a pinned version (from the module proxy; not in go.mod); its checks
# are in staticcheck.conf.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: deps
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Two nodes behind nginx, one SIGKILLed while a user sends: nothing lost or doubled.
cluster-e2e: deps deps-cluster
	scripts/cluster-e2e.sh

# Fan-out against one node and three nodes behind nginx, in one run (not run by CI).
bench-cluster: deps deps-cluster
	scripts/cluster-bench.sh

# Every fuzz target for FUZZTIME each (default 3m); new corpus entries land in each
# package's testdata/fuzz/, which the default suite replays. Not run by CI.
FUZZTIME ?= 3m
FUZZ_TARGETS := model:FuzzDecodeFrame model:FuzzCleanContent server:FuzzSessionFrames \
	server:FuzzAPIBodies server:FuzzVerifyToken net:FuzzDecodeAPIError
fuzz: deps
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg/; \
	done

# apt_install installs those of the Debian packages named that are missing, saying which.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps:
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26 (https://go.dev/dl) and run make again" >&2; exit 1; }
	$(call apt_install,$(APT_BUILD))

deps-e2e:
	$(call apt_install,$(APT_E2E))

deps-test:
	$(call apt_install,$(APT_TEST))

deps-cluster:
	$(call apt_install,$(APT_CLUSTER))

# Linux tar.xz and Windows .exe files in dist/, and the mobile-ready packages checked for
# android, ios and darwin (scripts/package.sh; it installs the fyne CLI and mingw-w64).
package:
	scripts/package.sh

clean:
	rm -rf bin dist
