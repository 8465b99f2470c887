package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
	"github.com/parleychat/parley/storage"
	"go.uber.org/goleak"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gorm's prepared-statement cache (the server's PrepareStmt) keeps a janitor goroutine per DB.
		goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"))
}

const password = "correct horse"

// syncBuffer is an output that the test can read while a command still writes.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output holds a line for which match is true.
func (b *syncBuffer) waitFor(t *testing.T, what string, match func(map[string]any) bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		ch := b.changed
		out := b.buf.String()
		b.mu.Unlock()
		for _, l := range lines(t, out) {
			if match(l) {
				return
			}
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("waiting for %s; output so far:\n%s", what, out)
		}
	}
}

// lines decodes JSON lines.
func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var res []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		res = append(res, m)
	}
	return res
}

var testEnv = env{getenv: func(k string) string {
	if k == "PARLEY_PASSWORD" {
		return password
	}
	return ""
}}

// cli runs the program in-process.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, testEnv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func mustCLI(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	code, out, errOut := cli(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return lines(t, out)
}

func TestEndToEnd(t *testing.T) {
	srv := servertest.Start(t, server.Config{PresenceGrace: -1})
	homeA, homeB := t.TempDir(), t.TempDir()

	acct := mustCLI(t, "-home", homeA, "-server", srv.URL, "register", "alice")
	if acct[0]["username"] != "alice" || acct[0]["server"] != srv.URL {
		t.Fatalf("register: %v", acct)
	}
	mustCLI(t, "-home", homeB, "-server", srv.URL, "register", "bob")
	rooms := mustCLI(t, "-home", homeA, "rooms")
	if len(rooms) != 1 || rooms[0]["name"] != "general" {
		t.Fatalf("rooms: %v", rooms)
	}

	// bob listens for the whole test.
	lctx, stopListen := context.WithCancel(context.Background())
	listenOut, listenErr := newSyncBuffer(), newSyncBuffer()
	listenDone := make(chan int)
	go func() {
		listenDone <- run(lctx, []string{"-home", homeB, "listen", "general"}, testEnv, listenOut, listenErr)
	}()
	listenOut.waitFor(t, "bob online", func(l map[string]any) bool { return l["event"] == "state" && l["synced"] == true })

	// The server goes down: the send stays queued (exit 3).
	srv.Stop(t)
	code, out, errOut := cli(t, "-home", homeA, "-wait", "500ms", "send", "general", "sent", "while", "down")
	if code != exitQueued {
		t.Fatalf("send while down: exit %d\n%s\n%s", code, out, errOut)
	}
	queued := lines(t, out)
	if len(queued) != 1 || queued[0]["status"] != "sending" || queued[0]["content"] != "sent while down" {
		t.Fatalf("queued: %v", queued)
	}
	id := queued[0]["id"]

	// It comes back; the next command of any kind flushes the outbox.
	srv.Restart(t)
	if code, out, errOut := cli(t, "-home", homeA, "rooms"); code != 0 || strings.Contains(errOut, "queued") {
		t.Fatalf("rooms after restart: exit %d\n%s\n%s", code, out, errOut)
	}
	st, err := storage.Open(homeA)
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.OutboxLen()
	st.Close()
	if err != nil || n != 0 {
		t.Fatalf("outbox after flush: %d %v", n, err)
	}

	listenOut.waitFor(t, "the queued message", func(l map[string]any) bool { return l["event"] == "message" && l["id"] == id })
	sent := mustCLI(t, "-home", homeA, "send", "general", "second")
	if sent[0]["status"] != "sent" && sent[0]["status"] != "delivered" {
		t.Fatalf("send: %v", sent)
	}
	listenOut.waitFor(t, "the second message", func(l map[string]any) bool { return l["event"] == "message" && l["content"] == "second" })
	stopListen()
	if code := <-listenDone; code != 0 {
		t.Fatalf("listen: exit %d: %s", code, listenErr.String())
	}
	seen := 0
	for _, l := range lines(t, listenOut.String()) {
		if l["event"] == "message" && l["id"] == id {
			seen++
			if l["seq"] != float64(1) || l["status"] != "received" || l["senderName"] != "alice" {
				t.Errorf("listened message: %v", l)
			}
		}
	}
	if seen != 1 {
		t.Fatalf("listen printed the message %d times:\n%s", seen, listenOut.String())
	}

	hist := mustCLI(t, "-home", homeB, "history", "general")
	if len(hist) != 2 || hist[0]["content"] != "sent while down" || hist[1]["content"] != "second" {
		t.Fatalf("history: %v", hist)
	}
	dm := mustCLI(t, "-home", homeA, "dm", "bob")
	if dm[0]["direct"] != true || len(dm[0]["memberIds"].([]any)) != 2 {
		t.Fatalf("dm: %v", dm)
	}
	if got := mustCLI(t, "-home", homeB, "send", dm[0]["id"].(string), "hi alice"); got[0]["status"] == "sending" {
		t.Fatalf("send by room id: %v", got)
	}
}

func TestErrors(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	home := t.TempDir()
	for _, args := range [][]string{
		{},
		{"-nope"},
		{"-home", home, "frobnicate"},
		{"-home", home, "send", "general"},
		{"-home", home, "login"},
		{"-home", home, "history", "-n", "0", "general"},
		{"-home", home, "react", "general", "m1"},
		{"-home", home, "edit", "general", "m1"},
		{"-home", home, "delete", "general"},
		{"-home", home, "reply", "general", "m1"},
		{"-home", home, "search"},
		{"-home", home, "public", "a", "b"},
		{"-home", home, "rename", "general"},
		{"-home", home, "invite", "general"},
		{"-home", home, "rooms", "-room", "general"},
		{"-home", home, "send", "general", "-off", "x"},
	} {
		if code, _, errOut := cli(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if code, _, errOut := cli(t, "-home", home, "rooms"); code != exitError || !strings.Contains(errOut, "not signed in") {
		t.Errorf("rooms signed out: %d %q", code, errOut)
	}
	mustCLI(t, "-home", home, "-server", srv.URL, "register", "carol")
	code, _, errOut := cli(t, "-home", t.TempDir(), "-server", srv.URL, "register", "carol")
	if code != exitError || !strings.Contains(errOut, "username taken") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("taken: %d %q", code, errOut)
	}
	bad := env{getenv: func(k string) string { return map[string]string{"PARLEY_PASSWORD": "wrong password"}[k] }}
	var out, errBuf bytes.Buffer
	if code := run(context.Background(), []string{"-home", t.TempDir(), "-server", srv.URL, "login", "carol"}, bad, &out, &errBuf); code != exitError ||
		!strings.Contains(errBuf.String(), "wrong username or password") {
		t.Errorf("bad password: %d %q", code, errBuf.String())
	}
	if code, _, errOut := cli(t, "-home", t.TempDir(), "-server", "http://127.0.0.1:1", "login", "carol"); code != exitError ||
		!strings.Contains(errOut, "server unreachable") {
		t.Errorf("unreachable: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "-home", home, "send", "no-such-room", "x"); code != exitError || !strings.Contains(errOut, "no room") {
		t.Errorf("unknown room: %d %q", code, errOut)
	}
	noEnv := env{getenv: func(string) string { return "" }}
	errBuf.Reset()
	if code := run(context.Background(), []string{"-home", t.TempDir(), "login", "carol"}, noEnv, &out, &errBuf); code != exitError ||
		!strings.Contains(errBuf.String(), "PARLEY_PASSWORD") {
		t.Errorf("no password: %d %q", code, errBuf.String())
	}
}

// TestListenAndSendOnOneProfile runs listen and several sends on the same profile at
// once, as a tester at two terminals would: every send is stored and answered, and
// the listener stays online throughout (two stores on one file used to make its
// transaction fail with SQLITE_BUSY_SNAPSHOT and drop the connection).
func TestListenAndSendOnOneProfile(t *testing.T) {
	srv := servertest.Start(t, server.Config{PresenceGrace: -1})
	home := t.TempDir()
	mustCLI(t, "-home", home, "-server", srv.URL, "register", "alice")

	lctx, stopListen := context.WithCancel(context.Background())
	listenOut, listenErr := newSyncBuffer(), newSyncBuffer()
	listenDone := make(chan int)
	go func() {
		listenDone <- run(lctx, []string{"-home", home, "listen", "general"}, testEnv, listenOut, listenErr)
	}()
	listenOut.waitFor(t, "online", func(l map[string]any) bool { return l["event"] == "state" && l["synced"] == true })

	for i := range 8 {
		sent := mustCLI(t, "-home", home, "-wait", "1m", "send", "general", "note", string(rune('a'+i)))
		if len(sent) != 1 || (sent[0]["status"] != "sent" && sent[0]["status"] != "delivered") {
			t.Fatalf("send %d: %v", i, sent)
		}
	}
	stopListen()
	if code := <-listenDone; code != 0 {
		t.Fatalf("listen: exit %d: %s", code, listenErr.String())
	}
	for _, l := range lines(t, listenOut.String()) {
		if l["event"] == "state" && l["state"] == "offline" {
			t.Fatalf("the listener went offline while the sends ran: %v", l)
		}
	}
	hist := mustCLI(t, "-home", home, "history", "general")
	if len(hist) != 8 {
		t.Fatalf("history holds %d messages, want 8", len(hist))
	}
}

// TestFlagsAnywhere: flags may stand before, among or after a command's arguments;
// after -- everything is text, and a text that starts with - without it is a usage
// mistake that says how to send it.
func TestFlagsAnywhere(t *testing.T) {
	srv := servertest.Start(t, server.Config{PresenceGrace: -1})
	home := t.TempDir()
	mustCLI(t, "-home", home, "-server", srv.URL, "register", "alice")

	sent := mustCLI(t, "send", "general", "-wait", "2s", "hello", "-home", home)
	if len(sent) != 1 || sent[0]["content"] != "hello" || sent[0]["status"] != "sent" {
		t.Fatalf("send with flags after the room: %v", sent)
	}
	sent = mustCLI(t, "-home", home, "send", "general", "--", "-wait", "2s", "is", "text")
	if len(sent) != 1 || sent[0]["content"] != "-wait 2s is text" {
		t.Fatalf("send after --: %v", sent)
	}
	mustCLI(t, "-home", home, "send", "general", "third")
	hist := mustCLI(t, "-home", home, "history", "general", "-n", "2")
	if len(hist) != 2 || hist[0]["content"] != "-wait 2s is text" || hist[1]["content"] != "third" {
		t.Fatalf("history general -n 2: %v", hist)
	}
	hist = mustCLI(t, "history", "-n", "1", "-home", home, "general")
	if len(hist) != 1 || hist[0]["content"] != "third" {
		t.Fatalf("history -n 1 among the arguments: %v", hist)
	}
	for _, args := range [][]string{
		{"-home", home, "send", "general", "-5", "degrees"},
		{"-home", home, "rooms", "-n", "5"},
	} {
		code, _, errOut := cli(t, args...)
		if code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if args[2] == "send" && !strings.Contains(errOut, "--") {
			t.Errorf("%v: stderr does not say how to send it: %q", args, errOut)
		}
	}
}

// TestLogout: logout signs the profile out and the server revokes the login: the
// refresh token the profile held is refused, and the next command needs a login.
func TestLogout(t *testing.T) {
	srv := servertest.Start(t, server.Config{PresenceGrace: -1})
	home := t.TempDir()
	mustCLI(t, "-home", home, "-server", srv.URL, "register", "alice")
	st, err := storage.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	acct, _, _ := st.Account()
	st.Close()

	out := mustCLI(t, "-home", home, "logout")
	if len(out) != 1 || out[0]["event"] != "signed_out" || out[0]["username"] != "alice" {
		t.Fatalf("logout: %v", out)
	}
	if st := srv.Do(t, "POST", "/api/refresh", "", map[string]string{"refreshToken": acct.RefreshToken}, nil); st != 401 {
		t.Fatalf("refresh with the logged-out token: %d, want 401", st)
	}
	if code, _, errOut := cli(t, "-home", home, "rooms"); code != exitError || !strings.Contains(errOut, "not signed in") {
		t.Fatalf("rooms after logout: exit %d, %q", code, errOut)
	}
	if code, _, _ := cli(t, "-home", home, "logout", "now"); code != exitUsage {
		t.Fatalf("logout with an argument: exit %d, want 2", code)
	}
}

// TestBadProfileName: the CLI refuses a profile name by the rule the app uses
// (storage.CheckProfileName), before it touches any folder.
func TestBadProfileName(t *testing.T) {
	for _, name := range []string{"..", "../x", ".hidden", "a b", "-x"} {
		code, _, errOut := cli(t, "-profile", name, "rooms")
		if code != exitUsage || !strings.Contains(errOut, "bad profile name") {
			t.Errorf("-profile %q: exit %d, stderr %q; want 2 and a bad profile name error", name, code, errOut)
		}
	}
}

// TestLoginElsewhereKeepsUnsentMessages: signing the profile in on another server while
// it holds an unsent message is refused, and the message stays queued.
func TestLoginElsewhereKeepsUnsentMessages(t *testing.T) {
	a := servertest.Start(t, server.Config{})
	b := servertest.Start(t, server.Config{})
	home := t.TempDir()
	mustCLI(t, "-home", home, "-server", a.URL, "register", "erin")
	a.Stop(t)
	if code, _, errOut := cli(t, "-home", home, "-wait", "200ms", "send", "general", "still queued"); code != exitQueued {
		t.Fatalf("send with the server down: exit %d (%s); want %d", code, errOut, exitQueued)
	}
	code, _, errOut := cli(t, "-home", home, "-server", b.URL, "register", "erin")
	if code != exitError || !strings.Contains(errOut, "1 unsent message(s) of erin") {
		t.Fatalf("register elsewhere with an unsent message: exit %d, stderr %q; want 1 and the unsent message named", code, errOut)
	}
	st, err := storage.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if acct, ok, _ := st.Account(); !ok || acct.ServerURL != a.URL {
		t.Errorf("the profile now belongs to %+v (%v); want erin on %s", acct, ok, a.URL)
	}
	if n, _ := st.OutboxLen(); n != 1 {
		t.Errorf("outbox holds %d; want the 1 unsent message", n)
	}
}

// TestConversationsOffline: with the server down, edit and react apply to the profile
// at once, print the message as changed and exit 3 (still queued); search answers
// from the profile alone and says so.
func TestConversationsOffline(t *testing.T) {
	srv := servertest.Start(t, server.Config{PresenceGrace: -1})
	home := t.TempDir()
	mustCLI(t, "-home", home, "-server", srv.URL, "register", "alice")
	sent := mustCLI(t, "-home", home, "send", "general", "teh", "plan")
	id := sent[0]["id"].(string)
	srv.Stop(t)

	code, out, errOut := cli(t, "-home", home, "-wait", "300ms", "edit", "general", id, "the", "plan")
	got := lines(t, out)
	if code != exitQueued || len(got) != 1 || got[0]["content"] != "the plan" || got[0]["editedAt"] == nil {
		t.Fatalf("edit offline: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "-home", home, "-wait", "300ms", "react", "general", id, "👍")
	got = lines(t, out)
	if code != exitQueued || len(got) != 1 || got[0]["reactions"] == nil {
		t.Fatalf("react offline: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "-home", home, "-wait", "300ms", "search", "plan")
	got = lines(t, out)
	if code != 0 || len(got) != 1 || got[0]["id"] != id || !strings.Contains(errOut, "could not be asked") {
		t.Fatalf("search offline: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := cli(t, "-home", home, "-wait", "300ms", "search", "teh"); code != 0 || out != "" {
		t.Errorf("search finds the text before the edit: %s", out)
	}
	st, err := storage.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.OutboxLen()
	st.Close()
	if err != nil || n != 2 {
		t.Fatalf("outbox = %d, %v; want the edit and the reaction", n, err)
	}
}
