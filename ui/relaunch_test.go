package ui

import (
	"context"
	"errors"
	stdnet "net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
	"github.com/parleychat/parley/storage"
)

// offMain runs f on a goroutine of its own, as the app runs connect and the sign-in
// calls off the UI goroutine.
func offMain[T any](t *testing.T, f func() T) T {
	t.Helper()
	if fyne.CurrentDevice().IsMobile() {
		// The mobile test build has no main goroutine: there fyne.DoAndWait never waits.
		t.Skip("the app's start needs fyne.DoAndWait, which the mobile test build does not wait for")
	}
	ch := make(chan T)
	go func() { ch <- f() }()
	return <-ch
}

// freeAddr is a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRelaunchWithoutServerFlagReopensTheProfilesServer is issue 11's first item: a
// profile signed in to a server given by -server, with history and queued messages, is
// started again without flags. It must reopen that server and account (not host a
// local server and sign a new local account in, which dropped both), and the queued
// messages reach the server exactly once.
func TestRelaunchWithoutServerFlagReopensTheProfilesServer(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	root, dir, st := aliceProfile(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The relaunch: no -server, no -listen.
	a := test.NewTempApp(t)
	p := &parley{app: a, win: a.NewWindow("Parley"), store: st, opts: Options{Profile: "root"}, root: root,
		profileDir: dir, defaultListen: freeAddr(t)}
	sc := offMain(t, p.connect)
	defer p.stop()
	if sc.signIn {
		t.Fatalf("the relaunch shows the sign-in screen (%q) instead of alice's chat", sc.errText)
	}
	if p.host != nil {
		t.Errorf("the relaunch hosts a local server")
	}
	if got := p.client.ServerURL(); got != srv.URL {
		t.Errorf("the relaunch talks to %s; want the profile's server %s", got, srv.URL)
	}
	if acct, ok, _ := st.Account(); !ok || acct.Username != "alice" {
		t.Errorf("the relaunch is signed in as %+v (%v); want alice", acct, ok)
	}
	if err := p.client.Flush(ctx); err != nil {
		t.Fatalf("the queued messages do not go out: %v", err)
	}
	bob := startClient(t, srv.URL, "bob")
	drain(t, bob)
	got, err := bob.History(ctx, "general", 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range got {
		count[m.Content]++
	}
	for _, text := range []string{"before the relaunch", "queued 1", "queued 2"} {
		if count[text] != 1 {
			t.Errorf("the server holds %q %d times; want once", text, count[text])
		}
	}
	if n, _ := st.CountMessages("general"); n < 3 {
		t.Errorf("alice's history after the relaunch holds %d messages; want at least 3", n)
	}
}

// aliceProfile is the profile "root" after "parley -server url": alice created and one
// message sent, then two messages typed while the server was away, left in the outbox
// when the app quit.
func aliceProfile(t *testing.T, url string) (root, dir string, st *storage.Store) {
	t.Helper()
	root = t.TempDir()
	dir = filepath.Join(root, "profiles", "root")
	st, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := pnet.New(pnet.Config{ServerURL: url, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopFirst := context.WithCancel(ctx)
	firstDone := make(chan struct{})
	go func() { defer close(firstDone); _ = first.Run(runCtx) }()
	go func() {
		for range first.Events() {
		}
	}()
	defer func() { stopFirst(); <-firstDone }()
	if _, err := first.Register(ctx, "alice", "password123", ""); err != nil {
		t.Fatal(err)
	}
	if err := first.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Send("general", "before the relaunch"); err != nil {
		t.Fatal(err)
	}
	if err := first.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	stopFirst()
	<-firstDone
	for _, text := range []string{"queued 1", "queued 2"} {
		if _, err := st.Enqueue(model.Message{RoomID: "general", Content: text}); err != nil {
			t.Fatal(err)
		}
	}
	return root, dir, st
}

// Started with -server naming another server, the app keeps alice's account, session
// and unsent messages until the user agrees to drop them: a sign-in there is refused
// with the count, and only DiscardUnsent lets it through.
func TestSwitchServerKeepsTheOldAccountUntilTheUserAgrees(t *testing.T) {
	srvA := servertest.Start(t, server.Config{})
	srvB := servertest.Start(t, server.Config{})
	root, dir, st := aliceProfile(t, srvA.URL)
	before, _, _ := st.Account()
	dave := startClient(t, srvB.URL, "dave")
	drain(t, dave)

	a := test.NewTempApp(t)
	p := &parley{app: a, win: a.NewWindow("Parley"), store: st, opts: Options{Profile: "root", Server: srvB.URL},
		root: root, profileDir: dir, defaultListen: freeAddr(t)}
	defer p.stop()
	sc := offMain(t, p.connect)
	if !sc.signIn || sc.url != srvB.URL {
		t.Fatalf("-server %s shows %+v; want its sign-in screen", srvB.URL, sc)
	}
	signIn := func() error { return p.SignIn(srvB.URL, "dave", "password123") }
	err := offMain(t, signIn)
	var ue *storage.UnsentError
	if !errors.As(err, &ue) || ue.Count != 2 || ue.Old.Username != "alice" {
		t.Fatalf("signing in as dave = %v; want the 2 unsent messages of alice", err)
	}
	if acct, ok, _ := st.Account(); !ok || acct != before {
		t.Errorf("after the refused switch the account is %+v (%v); want alice's, session and all", acct, ok)
	}
	if n, _ := st.OutboxLen(); n != 2 {
		t.Errorf("after the refused switch the outbox holds %d; want 2", n)
	}
	if err := p.DiscardUnsent(); err != nil {
		t.Fatal(err)
	}
	if err := offMain(t, signIn); err != nil {
		t.Fatalf("signing in as dave after discarding: %v", err)
	}
	if acct, ok, _ := st.Account(); !ok || acct.Username != "dave" {
		t.Errorf("account %+v (%v); want dave", acct, ok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.client.WaitSynced(ctx); err != nil {
		t.Errorf("dave's engine does not sync: %v", err)
	}
}

func TestPlanServer(t *testing.T) {
	const def = "127.0.0.1:8787"
	remote := storage.Account{ServerURL: "http://chat.example:9101", Username: "alice"}
	localOther := storage.Account{ServerURL: "http://127.0.0.1:9000", Username: "root"}
	for _, tc := range []struct {
		name      string
		opts      Options
		last      storage.Account
		known     bool
		localAcct bool
		want      serverPlan
	}{
		{"first run hosts", Options{}, storage.Account{}, false, false, serverPlan{"http://127.0.0.1:8787", def}},
		{"-server wins", Options{Server: "http://x.test"}, remote, true, false, serverPlan{"http://x.test", ""}},
		{"remembered remote server", Options{}, remote, true, false, serverPlan{remote.ServerURL, ""}},
		{"remembered local server", Options{}, storage.Account{ServerURL: "http://127.0.0.1:8787"}, true, true,
			serverPlan{"http://127.0.0.1:8787", def}},
		{"own local server on another port", Options{}, localOther, true, true, serverPlan{localOther.ServerURL, "127.0.0.1:9000"}},
		{"someone's loopback server", Options{}, localOther, true, false, serverPlan{localOther.ServerURL, ""}},
		{"-listen hosts", Options{Listen: "127.0.0.1:9300"}, remote, true, false, serverPlan{"http://127.0.0.1:9300", "127.0.0.1:9300"}},
	} {
		if got := planServer(tc.opts, def, tc.last, tc.known, tc.localAcct); got != tc.want {
			t.Errorf("%s: planServer = %+v; want %+v", tc.name, got, tc.want)
		}
	}
}

// fakeAuth is an Authenticator whose first sign-in finds another account's unsent
// messages.
type fakeAuth struct {
	unsent    bool
	discarded int
	signIns   int
}

func (f *fakeAuth) SignIn(url, user, pass string) error {
	f.signIns++
	if f.unsent {
		return &storage.UnsentError{Count: 3, Old: storage.Account{Username: "alice", ServerURL: "http://old.test"}}
	}
	return nil
}

func (f *fakeAuth) CreateAccount(url, user, pass string) error { return errors.New("not used") }

func (f *fakeAuth) DiscardUnsent() error { f.discarded++; f.unsent = false; return nil }

// The sign-in screen never drops another account's unsent messages without asking: it
// says how many, keeps them when the user says no, and discards them only on yes.
func TestSignInAsksBeforeDroppingUnsentMessages(t *testing.T) {
	test.NewTempApp(t)
	auth := &fakeAuth{unsent: true}
	done := 0
	s := newSignInScreen(auth, inlineRunner(), "http://new.test", "bob", func() { done++ })
	var asked string
	var yes func()
	s.ask = func(ue *storage.UnsentError, what string, y func()) { asked, yes = unsentText(ue)+" / "+what, y }
	s.password.SetText("password123")
	s.submit(false)
	if !strings.Contains(asked, "3 unsent messages of alice") || yes == nil {
		t.Fatalf("asked %q; want the 3 unsent messages of alice named", asked)
	}
	if auth.discarded != 0 || done != 0 {
		t.Fatalf("before the answer: %d discards, %d sign-ins done; want none", auth.discarded, done)
	}
	if !s.errLabel.Visible() || !strings.Contains(s.errLabel.Text, "Kept 3 unsent messages") {
		t.Errorf("error line %q; want it to say the messages are kept", s.errLabel.Text)
	}
	yes()
	if auth.discarded != 1 || auth.signIns != 2 || done != 1 {
		t.Errorf("after yes: %d discards, %d sign-ins, done %d; want 1, 2, 1", auth.discarded, auth.signIns, done)
	}
}

// The sign-in screen puts the keyboard in the first empty field, so it can be used
// without a mouse: a remembered server and user leave the password.
func TestSignInFocusesTheFirstEmptyField(t *testing.T) {
	test.NewTempApp(t)
	for _, tc := range []struct {
		url, user string
		want      func(*signInScreen) fyne.Focusable
	}{
		{"", "", func(s *signInScreen) fyne.Focusable { return s.server }},
		{"http://x.test", "", func(s *signInScreen) fyne.Focusable { return s.username }},
		{"http://x.test", "alice", func(s *signInScreen) fyne.Focusable { return s.password }},
	} {
		s := newSignInScreen(&fakeAuth{}, inlineRunner(), tc.url, tc.user, nil)
		if got := s.firstEmpty(); got != tc.want(s) {
			t.Errorf("server %q user %q: focus goes to %v", tc.url, tc.user, got)
		}
	}
}

func TestUnsentTextNamesMessagesAndChanges(t *testing.T) {
	old := storage.Account{Username: "alice", ServerURL: "http://old.test"}
	for _, c := range []struct {
		ue   storage.UnsentError
		want string
	}{
		{storage.UnsentError{Count: 1, Old: old}, "1 unsent message of alice on http://old.test"},
		{storage.UnsentError{Count: 3, Changes: 1, Old: old}, "3 unsent messages and 1 unsent change of alice on http://old.test"},
		{storage.UnsentError{Changes: 2, Old: old}, "2 unsent changes of alice on http://old.test"},
	} {
		if got := unsentText(&c.ue); got != c.want {
			t.Errorf("unsentText(%+v) = %q; want %q", c.ue, got, c.want)
		}
	}
}
