#!/usr/bin/env bash
# End-to-end test of sends refused by the rate limit (issue 11, item 3): the real app in a
# real window under Xvfb, signed in to a server that takes one message a second (burst 1).
# xdotool types ten messages quickly; the server must store each exactly once, with seqs in
# the order they were typed, while the chat says the user sends too fast. A screenshot of
# the window is saved while the outbox is held back.
#
# Needs xvfb, xdotool, imagemagick and curl (make deps-e2e installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -z "${E2E_UNDER_XVFB:-}" ]; then
	export E2E_UNDER_XVFB=1
	exec xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$@"
fi

work=$(mktemp -d /tmp/parley-e2e-rl.XXXXXX)
name=e2e-ratelimit
source "$root/scripts/e2e_lib.sh"

echo "e2e-ratelimit: building the app and the server"
go build -o "$work/parley" .
go build -o "$work/parley-server" ./cmd/parley-server

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18797)
url=http://127.0.0.1:$port
"$work/parley-server" -listen "127.0.0.1:$port" -data "$work/data" -msg-rate 1 -msg-burst 1 >"$work/server.log" 2>&1 &
pids+=($!)
wait_until 30 "the server" curl -fsS "$url/healthz"
password='correct horse'
curl -fsS -X POST -d "{\"username\":\"rita\",\"password\":\"$password\"}" "$url/api/register" >/dev/null ||
	fail "register rita"

keep_go_caches
export HOME=$work/home LANG=en_US.UTF-8
mkdir -p "$HOME"
"$work/parley" -profile rita -server "$url" >"$work/app.log" 2>&1 &
pids+=($!)
wait_until 60 "the window" bash -c "xdotool search --name '^Parley' | grep -q ."
win=$(xdotool search --name '^Parley' | head -n 1)
sleep 1
geom() { eval "$(xdotool getwindowgeometry --shell "$win" | sed -n 's/^\(X\|Y\|WIDTH\|HEIGHT\)=/&/p')"; }

# The sign-in form is centred: the username and password fields sit just below the middle.
geom
xdotool mousemove $((X + WIDTH / 2 + 40)) $((Y + HEIGHT / 2 + 14)) click 1
sleep 0.3
xdotool type --delay 20 rita
xdotool mousemove $((X + WIDTH / 2 + 20)) $((Y + HEIGHT / 2 + 53)) click 1
sleep 0.3
xdotool type --delay 20 "$password"
xdotool key Return
db=$HOME/.config/fyne/chat.parley.app/profiles/rita/parley.db
wait_until 30 "signed in and synced" bash -c "[ -s '$db' ] && \
	sqlite3 -cmd '.timeout 2000' '$db' \"select count(*) from rooms where id='general'\" | grep -qx 1"
sleep 1

echo "e2e-ratelimit: typing ten messages quickly"
geom
xdotool mousemove $((X + WIDTH / 2)) $((Y + HEIGHT - 22)) click 1
sleep 0.3
for i in 1 2 3 4 5 6 7 8 9 10; do
	xdotool type --delay 5 "quick $i"
	xdotool key Return
done
sleep 1
import -window "$win" "$out/ratelimit.png"

token=$(curl -fsS -X POST -d "{\"username\":\"rita\",\"password\":\"$password\"}" "$url/api/login" |
	python3 -c 'import sys, json; print(json.load(sys.stdin)["accessToken"])')
stored() {
	curl -fsS -H "Authorization: Bearer $token" "$url/api/rooms/general/messages?limit=50" |
		python3 -c 'import sys, json; print(" ".join(m["content"].split()[1] + "@" + str(m["seq"]) for m in json.load(sys.stdin)["messages"]))'
}
want="1@1 2@2 3@3 4@4 5@5 6@6 7@7 8@8 9@9 10@10"
wait_until 60 "ten messages on the server" bash -c "[ \"\$(curl -fsS -H 'Authorization: Bearer $token' '$url/api/rooms/general/messages?limit=50' | python3 -c 'import sys, json; print(len(json.load(sys.stdin)[\"messages\"]))')\" -ge 10 ]"
got=$(stored)
[ "$got" = "$want" ] || fail "stored as '$got', want '$want' (text@seq)"

echo "e2e-ratelimit: stored once each, in the order typed; screenshot in $out/ratelimit.png"
echo "e2e-ratelimit: 1 passed, 0 failed"
