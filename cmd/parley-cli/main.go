package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	parleynet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// Exit codes.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitQueued = 3 // send: the message waits in the outbox, not acked yet
)

const usageText = `usage: parley-cli [-profile NAME] [-server URL] [-home DIR] [-wait 5s] COMMAND [ARGS]

Flags may also stand among or after the command's arguments (history general -n 100);
everything after -- is an argument (send general -- -1 is a number).

commands:
  register USERNAME     create an account (password from PARLEY_PASSWORD or asked)
  login USERNAME        sign in (password from PARLEY_PASSWORD or asked)
  rooms                 list your rooms
  dm USERNAME           print the direct room with a user (created if needed)
  send ROOM TEXT...     send a message; exit 3 when it is still queued after -wait
                        (-attach PATH: with that file, uploaded first; TEXT may be empty)
  download URL -o FILE  save an attachment (its url as a message names it) to FILE
  listen ROOM           print messages and events until interrupted
  history ROOM          print the latest messages (-n N, at most 200)
  logout                send what is queued, sign out and have the server revoke the login
  reply ROOM MSGID TEXT...   answer a message; exit 3 when still queued after -wait
  edit ROOM MSGID TEXT...    change the text of an own message (exit 3 as reply)
  delete ROOM MSGID          delete an own message for everyone (exit 3 as reply)
  react ROOM MSGID EMOJI     react to a message (-off takes it back; exit 3 as reply)
  search QUERY...            search every room (-room ROOM: one room), the server and this profile
  public [QUERY]             list the public rooms (the directory), whose name contains QUERY
  join ROOM                  join a public room (its id, or its name in the directory)
  leave ROOM                 leave a room
  rename ROOM NAME...        rename a room
  invite ROOM USERNAME...    add users to a room

ROOM is a room id or a room name. Output: one JSON object per line.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{getenv: os.Getenv, stdin: os.Stdin}, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what the program takes from its surroundings besides arguments, so that tests
// can run it in-process.
type env struct {
	getenv func(string) string
	stdin  *os.File // a terminal to ask for the password on; nil: never ask
}

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// queuedError means the message was stored but not acked in time: exit 3.
type queuedError struct{ id string }

func (e queuedError) Error() string {
	return fmt.Sprintf("message %s not acknowledged yet; it stays queued and goes out on the next run", e.id)
}

// options are the flags.
type options struct {
	profile  string
	server   string
	home     string
	wait     time.Duration
	limit    int    // history's -n
	limitSet bool   // -n was given
	room     string // search's -room
	off      bool   // react's -off
	attach   string // send's -attach
	out      string // download's -o
}

// parseArgs parses the flags wherever they stand among the arguments (Go's flag
// package stops at the first argument): it answers the arguments in order. After
// "--" everything is an argument, so that a text can start with "-".
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, e env, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("parley-cli", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.profile, "profile", "default", "profile name (a folder under the user config dir)")
	fs.StringVar(&o.server, "server", "", "server URL (default: the profile's, else "+parleynet.DefaultServerURL+")")
	fs.StringVar(&o.home, "home", "", "profile folder (overrides -profile)")
	fs.DurationVar(&o.wait, "wait", 5*time.Second, "how long to wait for the server (acks, flushing the outbox)")
	fs.IntVar(&o.limit, "n", 50, "history: how many messages")
	fs.StringVar(&o.room, "room", "", "search: one room only")
	fs.BoolVar(&o.off, "off", false, "react: take the reaction back")
	fs.StringVar(&o.attach, "attach", "", "send: a file to attach")
	fs.StringVar(&o.out, "o", "", "download: the file to write")
	pos, err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usageText)
			return exitOK
		}
		fmt.Fprintf(stderr, "parley-cli: %v (a text that starts with - goes after --)\n%s\n", err, usageText)
		return exitUsage
	}
	var roomSet bool
	fs.Visit(func(f *flag.Flag) {
		o.limitSet = o.limitSet || f.Name == "n"
		roomSet = roomSet || f.Name == "room"
	})
	if len(pos) == 0 {
		fmt.Fprintln(stderr, usageText)
		return exitUsage
	}
	switch {
	case roomSet && pos[0] != "search":
		fmt.Fprintf(stderr, "parley-cli: -room is for search only\n")
		return exitUsage
	case o.off && pos[0] != "react":
		fmt.Fprintf(stderr, "parley-cli: -off is for react only\n")
		return exitUsage
	}
	err = dispatch(ctx, o, pos, e, stdout, stderr)
	var ue usageError
	var qe queuedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "parley-cli: %v\n", err)
		return exitUsage
	case errors.As(err, &qe):
		fmt.Fprintf(stderr, "parley-cli: %v\n", err)
		return exitQueued
	}
	fmt.Fprintf(stderr, "parley-cli: %s\n", oneLine(err))
	return exitError
}

// oneLine describes err on one line, with the engine's plain words first.
func oneLine(err error) string {
	s := err.Error()
	if msg := parleynet.UserMessage(err); msg != "" && msg != s && !strings.Contains(s, msg) {
		s = msg + " (" + s + ")"
	}
	return strings.ReplaceAll(s, "\n", " ")
}

// profileDir is where the profile's store lives.
func (o options) profileDir() (string, error) {
	if o.home != "" {
		return o.home, nil
	}
	if err := storage.CheckProfileName(o.profile); err != nil {
		return "", usageError{err.Error()}
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config folder (use -home): %w", err)
	}
	return filepath.Join(base, "parley", o.profile), nil
}

// dispatch runs one command.
func dispatch(ctx context.Context, o options, args []string, e env, stdout, stderr io.Writer) error {
	cmd, rest := args[0], args[1:]
	var want int // positional arguments the command takes; -n: at least n
	switch cmd {
	case "register", "login", "dm", "listen", "join", "leave", "download":
		want = 1
	case "rooms", "logout":
		want = 0
	case "send", "rename", "invite":
		want = -2
	case "history":
		want = 1
	case "reply", "edit":
		want = -3
	case "delete":
		want = 2
	case "react":
		want = 3
	case "search":
		want = -1
	case "public":
		want = -0 // checked below: at most one
	default:
		return usageError{fmt.Sprintf("unknown command %q\n%s", cmd, usageText)}
	}
	limit := o.limit
	switch {
	case o.limitSet && cmd != "history":
		return usageError{"-n is for history only"}
	case limit <= 0:
		return usageError{"history: -n must be positive"}
	case o.attach != "" && cmd != "send":
		return usageError{"-attach is for send only"}
	case o.out != "" && cmd != "download":
		return usageError{"-o is for download only"}
	case cmd == "download" && o.out == "":
		return usageError{"download takes -o FILE"}
	}
	switch {
	case cmd == "public":
		if len(rest) > 1 {
			return usageError{"public takes at most one QUERY"}
		}
	case want >= 0 && len(rest) != want:
		return usageError{fmt.Sprintf("%s takes %d argument(s)\n%s", cmd, want, usageText)}
	case cmd == "send" && o.attach != "" && len(rest) >= 1:
		// -attach: TEXT may be empty
	case want < 0 && len(rest) < -want:
		return usageError{fmt.Sprintf("%s takes at least %d argument(s)\n%s", cmd, -want, usageText)}
	}

	dir, err := o.profileDir()
	if err != nil {
		return err
	}
	s, err := openSession(ctx, o, dir, cmd == "register" || cmd == "login")
	if err != nil {
		return err
	}
	defer s.close()

	switch cmd {
	case "register", "login":
		err = s.signIn(ctx, cmd, rest[0], e, stderr, stdout)
	case "rooms":
		err = s.rooms(ctx, stdout)
	case "dm":
		err = s.dm(ctx, rest[0], stdout)
	case "send":
		return s.send(ctx, rest[0], "", strings.Join(rest[1:], " "), o.attach, stdout)
	case "reply":
		return s.send(ctx, rest[0], rest[1], strings.Join(rest[2:], " "), "", stdout)
	case "edit", "delete", "react":
		return s.change(ctx, cmd, rest, stdout)
	case "search":
		err = s.search(ctx, strings.Join(rest, " "), stdout, stderr)
	case "public":
		err = s.public(ctx, strings.Join(rest, " "), stdout)
	case "join":
		err = s.join(ctx, rest[0], stdout)
	case "leave":
		err = s.leave(ctx, rest[0], stdout)
	case "rename":
		err = s.rename(ctx, rest[0], strings.Join(rest[1:], " "), stdout)
	case "invite":
		err = s.invite(ctx, rest[0], rest[1:], stdout)
	case "download":
		err = s.download(ctx, rest[0], o.out, dir, stdout)
	case "listen":
		err = s.listen(ctx, rest[0], stdout)
	case "history":
		err = s.history(ctx, rest[0], limit, stdout)
	case "logout":
		return s.logout(ctx, stdout, stderr)
	}
	if err != nil {
		return err
	}
	s.flush(ctx, stderr)
	return nil
}

// readPassword takes the password from PARLEY_PASSWORD, or asks on the terminal without echo.
func readPassword(e env, stderr io.Writer) (string, error) {
	if p := e.getenv("PARLEY_PASSWORD"); p != "" {
		return p, nil
	}
	if e.stdin == nil || !term.IsTerminal(int(e.stdin.Fd())) {
		return "", errors.New("no password: set PARLEY_PASSWORD or run on a terminal")
	}
	fmt.Fprint(stderr, "Password: ")
	b, err := term.ReadPassword(int(e.stdin.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

// openStore opens the profile's store.
func openStore(dir string) (*storage.Store, error) {
	st, err := storage.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open profile %s: %w", dir, err)
	}
	return st, nil
}
