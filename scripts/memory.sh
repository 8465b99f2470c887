#!/usr/bin/env bash
# The app's memory in a flood (docs/benchmarks.md): the real app in a real window under
# Xvfb, joined to a parley-server of its own, flooded through scripts/memflood with N
# messages into the open room at RATE a second; RSS and its parts from /proc before,
# right after, and 20 s and 60 s after.
#
#   scripts/memory.sh [N] [RATE]     # defaults 10000 and 300
#
# PARLEY_APP=path runs that build of the app instead (to compare with an older one).
# Needs xvfb and xdotool (make deps-e2e installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
RATE=${2:-300}

if [ -z "${MEMORY_UNDER_XVFB:-}" ]; then
	export MEMORY_UNDER_XVFB=1
	exec xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$@"
fi

work=$(mktemp -d /tmp/parley-memory.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${PARLEY_APP:-}" ]; then
	cp "$PARLEY_APP" "$work/parley"
else
	go build -o "$work/parley" .
fi
go build -o "$work/parley-server" ./cmd/parley-server
go build -o "$work/memflood" ./scripts/memflood

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HOME=$work/home LANG=en_US.UTF-8
mkdir -p "$HOME"
"$work/parley-server" -listen "127.0.0.1:$port" -data "$work/srv" -msg-rate 5000 -msg-burst 5000 \
	-log-level warn >"$work/server.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 30))
until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null; do
	[ $SECONDS -lt $deadline ] || { echo "memory: the server did not start" >&2; exit 1; }
	sleep 0.2
done
# Without -server the app finds the Parley on its -listen address and joins it.
"$work/parley" -listen "127.0.0.1:$port" >"$work/app.log" 2>&1 &
app=$!
pids+=($app)
deadline=$((SECONDS + 60))
until xdotool search --name Parley >/dev/null 2>&1; do
	kill -0 $app 2>/dev/null || { echo "memory: the app exited:" >&2; tail -5 "$work/app.log" >&2; exit 1; }
	[ $SECONDS -lt $deadline ] || { echo "memory: no window after 60 s" >&2; exit 1; }
	sleep 0.2
done
sleep 3 # signed in, general open

mem() { # RSS and its parts, in MB
	awk '/^Rss:/{r=$2} /^Anonymous:/{a=$2} END{printf "RSS %.0f MB (anonymous %.0f MB", r/1024, a/1024}' "/proc/$app/smaps_rollup"
	awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6} /^Rss:/{ if (name=="[heap]") h+=$2; else if (name ~ /^\//) f+=$2 }
		END{printf ", C heap %.0f MB, mapped files %.0f MB)\n", h/1024, f/1024}' "/proc/$app/smaps"
}
echo "memory: before the flood: $(mem)"
"$work/memflood" -server "http://127.0.0.1:$port" -n "$N" -rate "$RATE" &
flood=$!
peak=0
while kill -0 $flood 2>/dev/null; do
	r=$(awk '/^VmRSS/{print $2}' "/proc/$app/status")
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.5
done
wait $flood
echo "memory: right after $N messages: $(mem); peak RSS $((peak / 1024)) MB"
sleep 20
echo "memory: 20 s after: $(mem)"
sleep 40
echo "memory: 60 s after: $(mem)"
stored=$(sqlite3 "$HOME/.config/fyne/chat.parley.app/profiles/$(id -un)/parley.db" \
	"select count(*) from messages" 2>/dev/null || echo "?")
echo "memory: the app's store holds $stored messages"
