#!/usr/bin/env bash
# Regenerates the figures of docs/benchmarks.md: builds the server and the load tool,
# runs fanout, rooms and acks RUNS times and idle and storm HEAVY_RUNS times (each
# bounded in time, on loopback, against a fresh server per run), the Go benchmarks of the hot paths and of the client (storage, net,
# ui when it has them), draws the fan-out plot and rewrites the results section of
# docs/benchmarks.md between its markers. Not run by CI: it takes about 15 minutes on a quiet machine.
#
#   scripts/bench.sh              # everything: RUNS=3, HEAVY_RUNS=1
#   RUNS=1 QUICK=1 scripts/bench.sh   # one short run each, smaller scales (a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
QUICK=${QUICK:-}
OUT=${OUT:-$(mktemp -d /tmp/parley-bench.XXXXXX)}
BIN=$OUT/bin
mkdir -p "$BIN"
echo "reports in $OUT"

go build -o "$BIN/parley-server" ./cmd/parley-server
go build -o "$BIN/parley-bench" ./cmd/parley-bench
# 10,000 connections need as many descriptors on both sides (the server inherits this):
# 20,000 is enough when 65,536 is not allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

MEMBERS=1000 ROOMS=1000 CONNS=${CONNS:-10000} STORM=${STORM:-5000} DUR=20s
if [ -n "$QUICK" ]; then
	MEMBERS=100 ROOMS=100 CONNS=500 STORM=200 DUR=3s
fi
bench() { timeout 600 "$BIN/parley-bench" -server-cmd "$BIN/parley-server" "$@"; }

# idle and storm connect thousands of users who all share `general`: their set-up takes
# minutes (every connect tells every online user), so they run HEAVY_RUNS times.
for i in $(seq 1 "${HEAVY_RUNS:-1}"); do
	bench -conns "$CONNS" -settle 10s -duration 10s -json "$OUT/idle-$i.json" idle || true
	bench -conns "$STORM" -json "$OUT/storm-$i.json" storm || true # a failed storm still reports
done

for i in $(seq 1 "$RUNS"); do
	bench -members "$MEMBERS" -senders 10 -rate 50 -duration "$DUR" -json "$OUT/fanout-$i.json" fanout || true
	bench -rooms "$ROOMS" -room-rate 2 -duration "$DUR" -json "$OUT/rooms-$i.json" rooms || true
	bench -senders 50 -window 64 -duration 10s -json "$OUT/acks-$i.json" acks || true
done
# Fan-out latency against load, for the plot (one run per rate).
for rate in 10 25 50 100 200; do
	bench -members "$MEMBERS" -senders 10 -rate "$rate" -duration 10s -json "$OUT/sweep-$rate.json" fanout || true
done
"$BIN/parley-bench" plot -out docs/fanout-latency.png -title "Fan-out to $MEMBERS members: send→receive latency against load" "$OUT"/sweep-*.json

# The hot paths and the client, with Go's benchmarks (count = RUNS).
gobench() { go test -run '^$' -count "$RUNS" "$@" 2>&1 | tee -a "$OUT/gobench.txt" | grep -E '^(Benchmark|ok|FAIL)' || true; }
gobench -bench 'BenchmarkAppendMessages' -benchtime 20x ./server/
gobench -bench 'BenchmarkLatest100k|BenchmarkBefore100k' -benchtime 50x ./storage/
gobench -bench 'BenchmarkIngest10k' -benchtime 3x ./net/
if grep -qs 'func BenchmarkOpenRoom' ui/*_test.go; then
	gobench -bench 'BenchmarkOpenRoom|BenchmarkScrollStep' -benchtime 20x ./ui/
fi
go test -run 'TestBurst10k$' -count 1 -v ./net/ 2>&1 | grep -E 'messages in' | tee -a "$OUT/gobench.txt" || true

# The results section of docs/benchmarks.md.
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/bench.sh\` (RUNS=$RUNS${QUICK:+, QUICK})."
	echo
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'),"
	echo "$(free -g | awk '/^Mem:/ {print $2}') GiB of memory, $(go version | cut -d' ' -f3); the load tool and the server share it."
	echo
	"$BIN/parley-bench" summary "$OUT"/fanout-*.json "$OUT"/rooms-*.json "$OUT"/acks-*.json \
		"$OUT"/idle-*.json "$OUT"/storm-*.json "$OUT/gobench.txt"
} >"$OUT/results.md"
awk -v results="$OUT/results.md" '
	/<!-- results:begin -->/ { print; while ((getline line < results) > 0) print line; skip = 1; next }
	/<!-- results:end -->/ { skip = 0 }
	!skip { print }
' docs/benchmarks.md >"$OUT/benchmarks.md" && cp "$OUT/benchmarks.md" docs/benchmarks.md
cat "$OUT/results.md"
