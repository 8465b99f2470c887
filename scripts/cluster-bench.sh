#!/usr/bin/env bash
# Fan-out against one node and against three nodes behind nginx, in the same run
# (docs/benchmarks.md, "Several nodes"). The three nodes share one database and one
# NATS server (Debian's nats-server); nginx (Debian's) balances them with
# deploy/nginx.conf. DB names the shared database: empty, one SQLite file; a
# postgres:// DSN for PostgreSQL (give each run a fresh database).
# SCENARIO names the parley-bench scenario (default fanout; rooms works too). With
# SCENARIO=storm the one node is killed and restarted, and of the three node 1 is
# SIGKILLed (-kill-pid) and not restarted: its clients come back through nginx to
# nodes 2 and 3.
# Usage: [SCENARIO=rooms] scripts/cluster-bench.sh [parley-bench flags...]; not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# Thousands of connections: nginx holds two for each, a node a thousand or more.
ulimit -n "$(ulimit -Hn)"
ARGS=("$@")
SCENARIO=${SCENARIO:-fanout}
if [ ${#ARGS[@]} -eq 0 ]; then
	case $SCENARIO in
	fanout) ARGS=(-members 1000 -senders 10 -rate 50 -duration 20s) ;;
	storm) ARGS=(-conns 2000) ;;
	*) ARGS=(-duration 20s) ;;
	esac
fi
go build -o bin/parley-server ./cmd/parley-server
go build -o bin/parley-bench ./cmd/parley-bench
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== one node"
bin/parley-bench -server-cmd bin/parley-server "${ARGS[@]}" "$SCENARIO"

echo "== three nodes behind nginx"
# Ports of their own (PORT, default 18780: NATS on PORT, the nodes on PORT+1..3,
# nginx on PORT+80), so that nothing else on the machine answers for a node.
port=${PORT:-18780}
nats-server -a 127.0.0.1 -p "$port" >"$work/nats.log" 2>&1 &
pids+=($!)
db=${DB:-file:$work/shared.db}
secret=cluster-bench-secret-0123456789
# One after another: nodes that migrate a fresh database at the same moment race
# to create its tables.
for i in 1 2 3; do
	bin/parley-server -listen 127.0.0.1:$((port + i)) -metrics-listen 127.0.0.1:$((port + 100 + i)) -data "$work/node$i" -db "$db" -nats nats://127.0.0.1:$port \
		-jwt-secret "$secret" -msg-rate 1000000 -msg-burst 1000000 -bcrypt-cost 4 -register-limit 0 -log-level warn -drain 0 \
		2>"$work/node$i.log" &
	pids+=($!)
	ok=
	for _ in $(seq 300); do
		if [ "$(curl -sf "127.0.0.1:$((port + i))/healthz" || true)" = '{"db":"ok","nats":"ok","status":"ok"}' ]; then ok=1; break; fi
		sleep 0.1
	done
	[ -n "$ok" ] || { echo "node $i did not come up healthy:" >&2; cat "$work/node$i.log" >&2; exit 1; }
done
mkdir -p "$work/nginx"
sed -e "s/127.0.0.1:8781/127.0.0.1:$((port + 1))/; s/127.0.0.1:8782/127.0.0.1:$((port + 2))/; s/127.0.0.1:8783/127.0.0.1:$((port + 3))/" \
	-e "s/listen 8080;/listen 127.0.0.1:$((port + 80));/" deploy/nginx.conf >"$work/nginx/parley.conf"
cat >"$work/nginx/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/nginx/error.log;
worker_processes 1;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
	uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
	include $work/nginx/parley.conf;
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"
for _ in $(seq 100); do curl -sf 127.0.0.1:$((port + 80))/healthz >/dev/null && break; sleep 0.1; done
nodes=(1 2 3)
kill=()
if [ "$SCENARIO" = storm ]; then
	kill=(-kill-pid "${pids[1]}")
	nodes=(2 3)
fi
bin/parley-bench -url http://127.0.0.1:$((port + 80)) "${kill[@]}" "${ARGS[@]}" "$SCENARIO"
for i in "${nodes[@]}"; do
	m=$(curl -sf 127.0.0.1:$((port + 100 + i))/metrics) || { echo "node $i is gone:" >&2; cat "$work/node$i.log" >&2; exit 1; }
	echo "node $i: $(grep -E '^parley_(gap_filled_total|duplicate_events_total) ' <<<"$m" | tr '\n' ' ')"
done
