#!/usr/bin/env bash
# The README's pictures of conversations (issue 14), from the real app in a real window
# under Xvfb: a parley-server, three accounts (ada, bob, carol) whose messages, reply,
# edit, delete and reactions are made with parley-cli, and the app signed in as ada,
# driven with xdotool to open the bubble menu, the reply bar, the rooms directory, the
# room settings and a search. Each picture is the window alone (import -window), in
# docs/screenshots/ (SHOTS_DIR overrides). make screenshots runs it after scripts/e2e.sh.
#
# Needs xvfb, xdotool, imagemagick, sqlite3 and curl (make deps-e2e installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -z "${E2E_UNDER_XVFB:-}" ]; then
	export E2E_UNDER_XVFB=1
	exec xvfb-run -a -s "-screen 0 1200x800x24" "$0" "$@"
fi

work=$(mktemp -d /tmp/parley-shots.XXXXXX)
name=screenshots
source "$root/scripts/e2e_lib.sh"
dest=${SHOTS_DIR:-$root/docs/screenshots}
mkdir -p "$dest"

echo "screenshots: building the app, the server and the CLI"
go build -o "$work/parley" .
go build -o "$work/parley-server" ./cmd/parley-server
go build -o "$work/parley-cli" ./cmd/parley-cli
keep_go_caches
export HOME=$work/home LANG=en_US.UTF-8 FYNE_THEME=dark
mkdir -p "$HOME"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
"$work/parley-server" -listen "127.0.0.1:$port" -data "$work/server" -metrics-listen '' -presence-grace 0 -log-level warn >"$work/server.log" 2>&1 &
pids+=($!)
wait_until 60 "the server" curl -fsS "$url/healthz"

cli() { # cli USER COMMAND...: parley-cli as USER (password USER-password)
	local who=$1
	shift
	PARLEY_PASSWORD="$who-password" "$work/parley-cli" -home "$work/cli-$who" -server "$url" "$@"
}
field() { python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }
for u in ada bob carol; do cli "$u" register "$u" >/dev/null; done

echo "screenshots: a conversation with a reply, an edit, a delete and reactions"
q=$(cli bob send general "Shall we ship the search tonight?" | field id)
t=$(cli ada send general "Tests are green on all three nodes" | field id)
cli carol send general "Staging ships the new build too" >/dev/null
r=$(cli ada reply general "$q" "Yes — after the benchmark run" | field id)
cli ada edit general "$r" "Yes — right after the benchmark run" >/dev/null
o=$(cli bob send general "Wrong window, sorry" | field id)
cli bob delete general "$o" >/dev/null
cli bob react general "$t" "👍" >/dev/null
cli carol react general "$t" "👍" >/dev/null
cli bob react general "$t" "🎉" >/dev/null
cli ada react general "$q" "👍" >/dev/null

# Public rooms for the directory, made by bob through the API.
token=$(curl -fsS "$url/api/login" -d '{"username":"bob","password":"bob-password"}' | field accessToken)
public_room() { # public_room NAME TOPIC
	local id
	id=$(curl -fsS -H "Authorization: Bearer $token" "$url/api/rooms" -d "{\"name\":\"$1\",\"public\":true}" | field id)
	[ -z "$2" ] || curl -fsS -X PATCH -H "Authorization: Bearer $token" "$url/api/rooms/$id" -d "{\"topic\":\"$2\"}" >/dev/null
}
public_room "Book club" "One novel a month, talked over on Fridays"
public_room "Release train" "Ship dates and freeze windows"
public_room "Chess" ""

echo "screenshots: the app, signed in as ada"
"$work/parley" -server "$url" >"$work/app.log" 2>&1 &
app_pid=$!
pids+=("$app_pid")
has_window() { xdotool search --all --pid "$app_pid" --name '^Parley' >/dev/null 2>&1; }
wait_until 60 "the app's window" has_window
win=$(xdotool search --all --pid "$app_pid" --name '^Parley' | head -n 1)
xdotool windowmove "$win" 0 0
sleep 1
geometry() { eval "$(xdotool getwindowgeometry --shell "$win" | sed -n 's/^\(X\|Y\|WIDTH\|HEIGHT\)=/&/p')"; }
geometry
# The sign-in screen (as in scripts/e2e.sh): the username field is below the middle.
xdotool mousemove $((X + WIDTH / 2 + 60)) $((Y + HEIGHT / 2 + 14)) click 1
sleep 0.3
xdotool type --delay 20 ada
xdotool key Tab
xdotool type --delay 20 ada-password
xdotool key Return
appdir=$HOME/.config/fyne/chat.parley.app/profiles
synced() {
	local p
	p=$(ls "$appdir" 2>/dev/null | head -n 1)
	[ -n "$p" ] && [ "$(sqlite3 -cmd '.timeout 2000' "$appdir/$p/parley.db" "select count(*) from messages where room_id='general' and seq>0 and reactions like '%🎉%'" 2>/dev/null)" = 1 ]
}
wait_until 60 "ada's app to sync general" synced
sleep 2 # the chat's frame after the sync

shot() { # shot NAME: the window, as docs/screenshots/NAME
	sleep 0.8
	import -window "$win" "$work/$1"
	convert "$work/$1" -strip -define png:compression-level=9 "$dest/$1"
	echo "screenshots: $dest/$1"
}
# blob COLOUR: "X Y W H" on screen of the largest patch of COLOUR in the window.
blob() {
	geometry
	import -window "$win" "$work/find.png"
	convert "$work/find.png" -alpha off -fill black +opaque "$1" -fill white -opaque "$1" \
		-define connected-components:verbose=true -define connected-components:area-threshold=100 \
		-connected-components 8 null: |
		awk -v x="$X" -v y="$Y" '/srgb\(255,255,255\)/ { split($2, g, /[x+]/); if ($4 > best) { best = $4; out = (x + g[3]) " " (y + g[4]) " " g[1] " " g[2] } } END { if (out != "") print out }'
}
own_bubble='#23415A' # the dark theme's own bubble (the accent mixed into the background)

# The bubble menu of ada's own message (the largest own bubble): Reply, React, Copy text, Edit, Delete.
read -r bx by bw bh < <(blob "$own_bubble") || fail "no own bubble in the window"
xdotool mousemove $((bx + bw / 2)) $((by + bh / 2))
sleep 0.3
xdotool click 3
shot bubble-menu.png
# Reply (the menu's first item): the bar over the composer; then the whole conversation.
xdotool key Down Return
shot reply-reactions.png
xdotool key Escape

# The room settings (the gear at the chat header's right end), a search over the rooms
# (the magnifier in the rooms header) and the rooms directory (Join): at the places the
# default 960×640 window has them. Escape closes each.
geometry
xdotool mousemove $((X + WIDTH - 23)) $((Y + 49)) click 1
shot room-settings.png
xdotool key Escape
sleep 0.5
xdotool mousemove $((X + 247)) $((Y + 88)) click 1
sleep 0.5
xdotool type --delay 20 ship
shot search.png
xdotool key Escape
sleep 0.5
xdotool mousemove $((X + 273)) $((Y + 49)) click 1
shot directory.png
xdotool key Escape
echo "screenshots: done"
