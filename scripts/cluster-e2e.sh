#!/usr/bin/env bash
# Two nodes behind nginx, one SIGKILLed while a user sends: the real client engine
# (parley-cli, its outbox on disk) reconnects through nginx to the other node and
# nothing is lost or doubled, for the sender and for a listener. The nodes share one
# SQLite file (DB= takes another DSN) and Debian's nats-server; nginx uses
# deploy/nginx.conf. Not run by CI (make cluster-e2e installs what it needs).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/parley-server ./cmd/parley-server
go build -o bin/parley-cli ./cmd/parley-cli
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "cluster-e2e: FAIL: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -5 "$f" >&2; done; exit 1; }

port=${PORT:-18880}
nats-server -a 127.0.0.1 -p "$port" >"$work/nats.log" 2>&1 &
pids+=($!)
db=${DB:-file:$work/shared.db}
node_pid=()
for i in 1 2; do
	bin/parley-server -listen 127.0.0.1:$((port + i)) -metrics-listen 127.0.0.1:$((port + 100 + i)) -data "$work/node$i" -db "$db" -nats nats://127.0.0.1:$port \
		-jwt-secret cluster-e2e-secret-0123456789 -bcrypt-cost 4 -presence-grace 3s -log-level warn -drain 0 \
		2>"$work/node$i.log" &
	pids+=($!)
	node_pid[$i]=$!
	for _ in $(seq 300); do curl -sf 127.0.0.1:$((port + i))/healthz >/dev/null && break; sleep 0.1; done
	curl -sf 127.0.0.1:$((port + i))/healthz >/dev/null || fail "node $i did not start"
done
mkdir -p "$work/nginx"
sed -e "s/127.0.0.1:8781/127.0.0.1:$((port + 1))/; s/127.0.0.1:8782/127.0.0.1:$((port + 2))/; /127.0.0.1:8783/d" \
	-e "s/listen 8080;/listen 127.0.0.1:$((port + 80));/" deploy/nginx.conf >"$work/nginx/parley.conf"
cat >"$work/nginx/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
	access_log off;
	client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
	uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
	include $work/nginx/parley.conf;
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"
url=http://127.0.0.1:$((port + 80))
export PARLEY_PASSWORD="cluster e2e password"
cli() { local who=$1; shift; bin/parley-cli -home "$work/$who" -server "$url" -wait 10s "$@"; }
cli alice register alice >/dev/null || fail "register alice"
cli bob register bob >/dev/null || fail "register bob"
cli bob listen general >"$work/bob.out" 2>"$work/bob.log" &
pids+=($!)

# The node to kill is the listener's (the one long-lived WebSocket).
victim=
for _ in $(seq 100); do
	for i in 1 2; do
		open=$(curl -sf 127.0.0.1:$((port + 100 + i))/metrics | awk '$1 == "parley_connections_open" { print $2 }')
		[ "${open:-0}" = 1 ] && victim=$i
	done
	[ -n "$victim" ] && break
	sleep 0.1
done
[ -n "$victim" ] || fail "the listener is on no node"

n=30
for i in $(seq $n); do
	if [ "$i" = 11 ]; then
		kill -9 "${node_pid[$victim]}"
		echo "cluster-e2e: node $victim (the listener's) SIGKILLed after 10 sends"
	fi
	# Exit 3: still queued (the outbox on disk keeps it for the next run).
	cli alice send general "m$i" >/dev/null 2>>"$work/alice.log" || [ $? = 3 ] || fail "send m$i"
done
# Whatever is still queued goes out with the next run.
for _ in $(seq 10); do cli alice send general "end" >/dev/null 2>>"$work/alice.log" && break; sleep 1; done

count() { grep -o "\"content\":\"m[0-9]*\"" "$1" | sort | uniq -c | awk -v n="$n" '$1 != 1 { bad++ } END { print NR, bad + 0 }'; }
cli carol register carol >/dev/null || fail "register carol"
cli carol history -n 200 general >"$work/history.out" || fail "history"
read -r stored doubled < <(count "$work/history.out")
[ "$stored" = "$n" ] && [ "$doubled" = 0 ] || fail "stored $stored of $n messages, $doubled more than once"
for _ in $(seq 100); do grep -q '"content":"end"' "$work/bob.out" && break; sleep 0.1; done
read -r heard doubled < <(count "$work/bob.out")
[ "$heard" = "$n" ] && [ "$doubled" = 0 ] || fail "the listener heard $heard of $n messages, $doubled more than once"
echo "cluster-e2e: ok: $n of $n stored once and heard once by the listener, through nginx, with node $victim killed"
