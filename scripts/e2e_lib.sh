# Shared by scripts/e2e.sh and scripts/e2e_ratelimit.sh (sourced, not run): the run's
# folders, the processes to stop at exit, fail and wait_until. The sourcing script sets
# name (its log prefix) and work (its temporary folder) first.

out=${E2E_OUT:-$root/e2e-out}
mkdir -p "$out"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "$name: FAIL: $*" >&2
	for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2; done
	exit 1
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; false when it did not in time.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds, else fail.
wait_until() {
	local secs=$1 what=$2
	shift 2
	wait_for "$secs" "$@" || fail "timed out after ${secs}s waiting for $what"
}

# keep_go_caches keeps the Go caches where they are when HOME moves to a folder of the
# run (the apps' profiles live under HOME).
keep_go_caches() {
	export GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$(go env GOPATH)"
}
