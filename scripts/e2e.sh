#!/usr/bin/env bash
# End-to-end test of the real app: two app instances (profiles ada and bob) in real windows
# under Xvfb, on one embedded server that ada's instance hosts and bob's joins. xdotool types
# into each window; the other profile's store must receive the message, exactly once. Bob
# reacts to ada's message through his window's bubble menu and picker, and ada's window must
# show the chip. Then a relaunch: a profile signed in to a parley-server given by -server queues messages while
# that server is down, quits, starts again without flags and must reopen that server and
# account and deliver them, exactly once. A screenshot of each window is saved. With --screenshots the README's pictures are
# refreshed too: docs/screenshots/desktop.png from the real window, mobile.png from the
# Fyne test driver (a -tags mobile build renders black under Xvfb), and the conversation
# pictures from real windows (scripts/screenshots.sh).
#
# Needs xvfb, xdotool, imagemagick, xclip, sqlite3, curl and ss (make deps-e2e installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

update_docs=0
[ "${1:-}" = "--screenshots" ] && update_docs=1

if [ -z "${E2E_UNDER_XVFB:-}" ]; then
	export E2E_UNDER_XVFB=1
	exec xvfb-run -a -s "-screen 0 2000x700x24" "$0" "$@"
fi

work=$(mktemp -d /tmp/parley-e2e.XXXXXX)
passed=0
name=e2e
source "$root/scripts/e2e_lib.sh"

echo "e2e: building the app, the server and the CLI"
go build -o "$work/parley" .
go build -o "$work/parley-server" ./cmd/parley-server
go build -o "$work/parley-cli" ./cmd/parley-cli

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo "$1"; }
port=$(free_port 18787)
addr=127.0.0.1:$port
keep_go_caches
export HOME=$work/home LANG=en_US.UTF-8 FYNE_THEME=dark # the colours the screenshots are searched for
mkdir -p "$HOME"
appdir=$HOME/.config/fyne/chat.parley.app
db() { echo "$appdir/profiles/$1/parley.db"; }

count() { # count PROFILE TEXT: how many stored messages of general hold exactly TEXT
	sqlite3 -cmd '.timeout 2000' "$(db "$1")" "select count(*) from messages where room_id='general' and content='$2' and seq>0" 2>/dev/null || echo 0
}
has() { [ "$(count "$1" "$2")" -ge 1 ]; }

# colour_pixels FILE COLOUR [FUZZ]: how many pixels of FILE are COLOUR (within FUZZ %, default exactly).
colour_pixels() {
	convert "$1" -alpha off -fuzz "${3:-0}%" -fill black +opaque "$2" -fill white -opaque "$2" -format '%[fx:round(mean*w*h)]' info:
}
# blob FILE COLOUR: "X Y W H" of the largest patch of COLOUR in FILE (of 100 px at least; nothing when none).
blob() {
	convert "$1" -alpha off -fill black +opaque "$2" -fill white -opaque "$2" \
		-define connected-components:verbose=true -define connected-components:area-threshold=100 \
		-connected-components 8 null: |
		awk '/srgb\(255,255,255\)/ { split($2, g, /[x+]/); if ($4 > best) { best = $4; out = g[3] " " g[4] " " g[1] " " g[2] } } END { if (out != "") print out }'
}

windows_at_least() { [ "$(xdotool search --name '^Parley' 2>/dev/null | wc -l)" -ge "$1" ]; }

echo "e2e: starting ada (hosts $addr)"
"$work/parley" -profile ada -listen "$addr" >"$work/ada.log" 2>&1 &
pids+=($!)
wait_until 90 "ada's server" curl -fsS "http://$addr/healthz"
wait_until 60 "ada's window" windows_at_least 1
ada_win=$(xdotool search --name '^Parley' | head -n 1)

echo "e2e: starting bob (joins $addr)"
"$work/parley" -profile bob -listen "$addr" >"$work/bob.log" 2>&1 &
pids+=($!)
wait_until 60 "bob's window" windows_at_least 2
bob_win=$(xdotool search --name '^Parley' | grep -vx "$ada_win" | head -n 1)
xdotool windowmove "$bob_win" 1000 0
wait_until 60 "both profiles signed in and synced" bash -c "[ -s '$(db ada)' ] && [ -s '$(db bob)' ] && \
	sqlite3 -cmd '.timeout 2000' '$(db bob)' \"select count(*) from rooms where id='general'\" | grep -qx 1 && \
	sqlite3 -cmd '.timeout 2000' '$(db ada)' \"select count(*) from rooms where id='general'\" | grep -qx 1"

# type_into WINDOW TEXT: focus the window, click its composer (bottom left of the window), type, Enter.
type_into() {
	local win=$1 text=$2 x y w h
	eval "$(xdotool getwindowgeometry --shell "$win" | sed -n 's/^\(X\|Y\|WIDTH\|HEIGHT\)=/&/p')"
	x=$((X + WIDTH / 2)) y=$((Y + HEIGHT - 22))
	xdotool windowfocus "$win" 2>/dev/null || true
	xdotool mousemove "$x" "$y" click 1
	sleep 0.3
	xdotool type --delay 25 "$text"
	xdotool key Return
}

msg1="Hi Bob, the build is green"
msg2="Great, shipping it tonight"
echo "e2e: ada types: $msg1"
type_into "$ada_win" "$msg1"
wait_until 30 "bob's store to hold ada's message" has bob "$msg1"
echo "e2e: bob types: $msg2"
type_into "$bob_win" "$msg2"
wait_until 30 "ada's store to hold bob's message" has ada "$msg2"
for p in ada bob; do
	for m in "$msg1" "$msg2"; do
		wait_until 30 "$p's store to hold \"$m\"" has "$p" "$m"
		n=$(count "$p" "$m")
		[ "$n" = 1 ] || fail "$p holds \"$m\" $n times"
	done
done
# Ada's own message must be acknowledged (sent or better) in her store.
status=$(sqlite3 -cmd '.timeout 2000' "$(db ada)" "select status from messages where content='$msg1'")
case $status in sent | delivered | read) ;; *) fail "ada's message has status '$status'" ;; esac
passed=$((passed + 1)) # each store holds the other's message once

# --- A reaction in the real windows (issue 14) ------------------------------------------
# Bob right-clicks ada's message in his window, picks React from the bubble's menu and 👍
# from the picker; ada's store must fold it and her window must show the chip. Nothing is
# where a pixel guessed for one font size would find it: the bubble, the menu and the
# picker are found in screenshots by their colours (the dark theme's, FYNE_THEME=dark),
# each the only patch of its colour on screen at that moment.
neutral_bubble='#313132' # another's bubble: bob sees ada's message (and only it) in it
menu_back='#28292E'      # the bubble menu's background
picker_back='#181D25'    # the emoji picker's (a pop-up's) background
chip_back='#282829'      # a reaction chip that is not the viewer's own
{
	reacted() { sqlite3 -cmd '.timeout 2000' "$(db ada)" "select reactions from messages where content='$msg1'" | grep -q '👍'; }
	shows_chip() {
		import -window "$ada_win" "$out/ada-chip.png" 2>/dev/null && [ "$(colour_pixels "$out/ada-chip.png" "$chip_back")" -ge 200 ]
	}
	xdotool windowfocus "$ada_win" 2>/dev/null || true
	import -window "$ada_win" "$work/ada-before.png"
	[ "$(colour_pixels "$work/ada-before.png" "$chip_back")" -lt 100 ] || fail "ada's window showed a chip's colour before any reaction"
	# find_in_bob WHAT COLOUR: the largest patch of COLOUR in bob's window, as "X Y W H" on screen.
	find_in_bob() {
		local g
		eval "$(xdotool getwindowgeometry --shell "$bob_win" | sed -n 's/^\(X\|Y\|WIDTH\|HEIGHT\)=/&/p')"
		import -window "$bob_win" "$work/bob-find.png"
		g=$(blob "$work/bob-find.png" "$2")
		[ -n "$g" ] || return 1
		set -- $g
		echo $((X + $1)) $((Y + $2)) "$3" "$4"
	}
	menu_open() { find_in_bob menu "$menu_back" >/dev/null; }
	# The bubble moves while a connection banner comes and goes over the chat: it is
	# clicked once it stands still, and again if no menu came.
	opened=0
	for attempt in 1 2 3; do
		bubble=$(find_in_bob bubble "$neutral_bubble") || { cp "$work/bob-find.png" "$out/"; fail "no bubble of ada's in bob's window (bob-find.png)"; }
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			sleep 0.5
			now=$(find_in_bob bubble "$neutral_bubble") || { cp "$work/bob-find.png" "$out/"; fail "ada's bubble left bob's window (bob-find.png)"; }
			[ "$now" = "$bubble" ] && break
			bubble=$now
		done
		read -r bx by bw bh <<<"$bubble"
		xdotool windowfocus "$bob_win" 2>/dev/null || true
		xdotool mousemove $((bx + bw / 2)) $((by + bh / 2))
		sleep 0.3
		xdotool click 3
		if wait_for 5 menu_open; then
			opened=1
			break
		fi
		xdotool key Escape
	done
	[ $opened = 1 ] || { cp "$work/bob-find.png" "$out/bob-menu.png"; fail "no bubble menu in bob's window after a right-click at $((bx + bw / 2)),$((by + bh / 2)), three times (bob-menu.png)"; }
	# The menu is Reply, React, Copy text: its keys move to React.
	xdotool key Down Down Return
	picker_open() { # the picker is a row of eight emoji: far wider than high
		local g
		g=$(find_in_bob picker "$picker_back") || return 1
		set -- $g
		[ "$3" -gt $((4 * $4)) ]
	}
	wait_until 10 "the emoji picker in bob's window (React in the bubble's menu)" picker_open
	read -r px py pw ph < <(find_in_bob picker "$picker_back")
	cp "$work/bob-find.png" "$out/bob-picker.png"
	xdotool mousemove $((px + pw / 16)) $((py + ph / 2)) click 1 # the first of eight: 👍
	wait_until 30 "ada's store to fold bob's 👍" reacted
	wait_until 30 "ada's window to show the chip of bob's 👍" shows_chip
	passed=$((passed + 1))
	echo "e2e: bob reacted 👍 in his window (bob-picker.png); ada's window shows the chip ($(colour_pixels "$out/ada-chip.png" "$chip_back") px; ada-chip.png)"
}

# Focus ada's window again: what it shows is read, and both windows paint their last frame.
xdotool windowfocus "$ada_win" 2>/dev/null || true
eval "$(xdotool getwindowgeometry --shell "$ada_win" | sed -n 's/^\(X\|Y\|WIDTH\|HEIGHT\)=/&/p')"
xdotool mousemove $((X + WIDTH / 2)) $((Y + HEIGHT / 2)) click 1
sleep 1.5
import -window "$ada_win" "$out/ada.png"
import -window "$bob_win" "$out/bob.png"
echo "e2e: screenshots in $out (ada.png, bob.png)"

# --- A picture between the two windows (issue 15) ---------------------------------------
# Bob pastes a picture's path into his composer (the app attaches a pasted file path);
# it uploads, and Ada's window must show it inline: the picture is one colour that
# nothing else on screen has, and the screenshot must hold a picture's worth of it.
pic_colour='#FF00CC'
convert -size 400x300 "xc:$pic_colour" "$work/pink.png"
printf '%s' "$work/pink.png" | xclip -selection clipboard -loops 1 &
clip_pid=$!
eval "$(xdotool getwindowgeometry --shell "$bob_win" | sed -n 's/^\(X\|Y\|WIDTH\|HEIGHT\)=/&/p')"
xdotool windowfocus "$bob_win" 2>/dev/null || true
xdotool mousemove $((X + WIDTH / 2)) $((Y + HEIGHT - 22)) click 1
sleep 0.3
xdotool key ctrl+v
wait "$clip_pid" 2>/dev/null || true
has_picture() { # has_picture PROFILE: general holds the stored message with pink.png
	[ "$(sqlite3 -cmd '.timeout 2000' "$(db "$1")" "select count(*) from messages where room_id='general' and seq>0 and attachment like '%pink.png%'" 2>/dev/null)" = 1 ]
}
wait_until 60 "ada's store to hold bob's picture" has_picture ada
pink_pixels() { colour_pixels "$1" "$pic_colour" 5; } # the thumbnail is a JPEG: about the colour
shows_picture() {
	import -window "$ada_win" "$out/ada-picture.png" 2>/dev/null && [ "$(pink_pixels "$out/ada-picture.png")" -ge 20000 ]
}
[ "$(pink_pixels "$out/ada.png")" = 0 ] || fail "ada's window showed the picture's colour before it was sent"
wait_until 30 "ada's window to show bob's picture" shows_picture
echo "e2e: ada's window shows bob's picture ($(pink_pixels "$out/ada-picture.png") px of it; screenshot ada-picture.png)"
passed=$((passed + 1))
# A file that is not a picture comes as a chip (name, size, Save, Open): pasted the same
# way; attachments.png shows both (the README's picture, with --screenshots).
printf '%%PDF-1.4\n%% Parley e2e\n' >"$work/quarterly-report.pdf"
printf '%s' "$work/quarterly-report.pdf" | xclip -selection clipboard -loops 1 &
clip_pid=$!
xdotool windowfocus "$bob_win" 2>/dev/null || true
xdotool mousemove $((X + WIDTH / 2)) $((Y + HEIGHT - 22)) click 1
sleep 0.3
xdotool key ctrl+v
wait "$clip_pid" 2>/dev/null || true
has_file() {
	[ "$(sqlite3 -cmd '.timeout 2000' "$(db ada)" "select count(*) from messages where room_id='general' and seq>0 and attachment like '%quarterly-report.pdf%'" 2>/dev/null)" = 1 ]
}
wait_until 60 "ada's store to hold bob's file" has_file
sleep 1.5 # the chip's frame is painted
import -window "$ada_win" "$out/attachments.png"

echo "e2e: stopping both apps"
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
passed=$((passed + 1)) # the windows painted and both apps quit on SIGTERM

# --- Relaunch without -server (issue 11, item 1) ---------------------------------------
# The default profile (the OS user's) signs in to a parley-server given by -server; the
# server dies; five messages typed meanwhile wait in the outbox; the app quits (SIGTERM)
# and starts again with no flag at all. It must reopen that server and account, not host
# a local server and sign a new account in: the history stays and, once the server is
# back, the five messages are stored on it exactly once.
rport=$(free_port 18788)
raddr=127.0.0.1:$rport
rdb=$work/remote/parley.db
start_remote() {
	"$work/parley-server" -listen "$raddr" -data "$work/remote" -log-level warn >>"$work/remote.log" 2>&1 &
	remote_pid=$!
	pids+=("$remote_pid")
	wait_until 60 "the server on $raddr" curl -fsS "http://$raddr/healthz"
}
remote_count() { # remote_count TEXT: how many messages of general the server stores with TEXT
	sqlite3 -cmd '.timeout 2000' "$rdb" "select count(*) from messages where room_id='general' and content='$1'" 2>/dev/null || echo 0
}
remote_has() { [ "$(remote_count "$1")" -ge 1 ]; }
pq() { sqlite3 -cmd '.timeout 2000' "$pdb" "$1" 2>/dev/null || echo x; } # a query on the profile's store
outbox_is() { [ "$(pq 'select count(*) from outbox')" = "$1" ]; }
general_synced() { [ "$(pq "select count(*) from rooms where id='general'")" = 1 ]; }
has_window() { xdotool search --pid "$1" --name '^Parley' >/dev/null 2>&1; }
listens() { ss -Hltnp 2>/dev/null | grep -q "pid=$1,"; } # listens PID: the process serves a TCP port

echo "e2e: relaunch: parley-server on $raddr, carol registered with parley-cli"
start_remote
PARLEY_PASSWORD='carol-password' "$work/parley-cli" -home "$work/cli-carol" -server "http://$raddr" register carol >/dev/null ||
	fail "parley-cli register carol"
"$work/parley" -server "http://$raddr" >"$work/carol.log" 2>&1 &
app_pid=$!
pids+=("$app_pid")
wait_until 60 "the app's window (-server)" has_window "$app_pid"
carol_win=$(xdotool search --pid "$app_pid" --name '^Parley' | head -n 1)
sleep 1
# The sign-in screen, keyboard only after one click: the username field is just below the
# window's middle; Tab moves to the password; Enter signs in.
eval "$(xdotool getwindowgeometry --shell "$carol_win" | sed -n 's/^\(X\|Y\|WIDTH\|HEIGHT\)=/&/p')"
xdotool windowfocus "$carol_win" 2>/dev/null || true
xdotool mousemove $((X + WIDTH / 2 + 60)) $((Y + HEIGHT / 2 + 14)) click 1
sleep 0.3
xdotool type --delay 25 carol
xdotool key Tab
xdotool type --delay 25 'carol-password'
xdotool key Return
profile=$(ls "$appdir/profiles" | grep -vx -e ada -e bob | head -n 1)
[ -n "$profile" ] || fail "no profile for the -server run"
pdb=$(db "$profile")
wait_until 60 "carol signed in and synced" general_synced
hist="Carol was here before the cut"
type_into "$carol_win" "$hist"
wait_until 30 "the server to store carol's first message" remote_has "$hist"
echo "e2e: relaunch: the server is killed; carol types five messages"
kill -KILL "$remote_pid"
wait "$remote_pid" 2>/dev/null || true
for i in 1 2 3 4 5; do type_into "$carol_win" "queued $i"; done
wait_until 30 "five rows in carol's outbox" outbox_is 5
kill -TERM "$app_pid"
wait "$app_pid" 2>/dev/null || true
outbox_is 5 || fail "the outbox lost rows when the app quit"
echo "e2e: relaunch: the app starts again with no flag"
"$work/parley" >"$work/carol2.log" 2>&1 &
app_pid=$!
pids+=("$app_pid")
wait_until 60 "the app's window (no flag)" has_window "$app_pid"
carol_win=$(xdotool search --pid "$app_pid" --name '^Parley' | head -n 1)
start_remote
for i in 1 2 3 4 5; do wait_until 60 "the server to store \"queued $i\"" remote_has "queued $i"; done
wait_until 30 "carol's outbox to empty" outbox_is 0
for i in 1 2 3 4 5; do
	n=$(remote_count "queued $i")
	[ "$n" = 1 ] || fail "the server stores \"queued $i\" $n times"
done
[ "$(remote_count "$hist")" = 1 ] || fail "the server lost or doubled \"$hist\""
[ "$(pq "select count(*) from messages where content='$hist' and seq>0")" = 1 ] ||
	fail "carol's history lost \"$hist\" at the relaunch"
[ "$(pq "select count(*) from messages where content like 'queued _' and seq>0")" = 5 ] ||
	fail "carol's store does not hold her five messages as sent"
[ "$(pq 'select username from account')" = carol ] || fail "the relaunch signed in $(pq 'select username from account'), not carol"
! listens "$app_pid" || fail "the relaunch hosts a local server"
xdotool windowfocus "$carol_win" 2>/dev/null || true
sleep 1.5
import -window "$carol_win" "$out/relaunch.png"
kill -TERM "$app_pid" "$remote_pid" 2>/dev/null || true
wait "$app_pid" "$remote_pid" 2>/dev/null || true
pids=()
passed=$((passed + 1))
echo "e2e: relaunch kept carol's history and stored her five queued messages once (screenshot relaunch.png)"

# Typed faster than the server's rate limit: stored once each, in the order typed
# (scripts/e2e_ratelimit.sh, under this same Xvfb display).
echo "e2e: typing fast into a rate-limited server (scripts/e2e_ratelimit.sh)"
E2E_OUT=$out "$root/scripts/e2e_ratelimit.sh" || fail "scripts/e2e_ratelimit.sh failed"
passed=$((passed + 1))

if [ $update_docs = 1 ]; then
	cp "$out/ada.png" docs/screenshots/desktop.png
	cp "$out/attachments.png" docs/screenshots/attachments.png
	PARLEY_SCREENSHOTS=1 go test -tags mobile -count=1 -run TestMobileLayout ./ui >/dev/null
	echo "e2e: refreshed docs/screenshots/desktop.png and mobile.png"
	"$root/scripts/screenshots.sh" || fail "scripts/screenshots.sh failed"
fi
echo "e2e: $passed passed, 0 failed"
