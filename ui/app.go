package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/assets"
	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// AppID is the app's identifier, as in FyneApp.toml.
const AppID = "chat.parley.app"

// Options are the app's command-line settings.
type Options struct {
	Profile string // the local profile (data and account); "" means the OS user's name
	Server  string // a remote server's URL: show the sign-in screen for it
	Listen  string // where the embedded server listens; "" means DefaultListen
}

// Run shows Parley in app a (made with app.NewWithID(AppID)) and returns when its window
// is closed. The caller makes the app so that this package needs no GL driver.
func Run(a fyne.App, opts Options) error {
	a.SetIcon(assets.Icon)
	a.Settings().SetTheme(newAppTheme())
	limitMemory()
	root := a.Storage().RootURI().Path()
	if opts.Profile == "" {
		opts.Profile = defaultProfile()
	}
	if err := storage.CheckProfileName(opts.Profile); err != nil {
		return err
	}
	profileDir := filepath.Join(root, "profiles", opts.Profile)
	store, err := storage.Open(profileDir)
	if err != nil {
		return fmt.Errorf("open profile %s: %w", opts.Profile, err)
	}
	defer store.Close()

	w := a.NewWindow("Parley")
	w.Resize(fyne.NewSize(960, 640))
	p := &parley{app: a, win: w, store: store, opts: opts, root: root, profileDir: profileDir,
		defaultListen: DefaultListen, mobile: fyne.CurrentDevice().IsMobile(), notes: newNotifier(a)}
	w.SetContent(container.NewCenter(widget.NewLabel("Starting Parley…")))
	a.Lifecycle().SetOnEnteredForeground(p.enteredForeground)
	a.Lifecycle().SetOnExitedForeground(p.exitedForeground)
	a.Lifecycle().SetOnStarted(func() {
		go p.notes.check()
		go p.start()
	})
	// Ctrl+C or SIGTERM quit like closing the window, so the server and engine stop cleanly.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer func() {
		signal.Stop(sig)
		close(sig)
	}()
	go func() {
		if _, ok := <-sig; ok {
			fyne.Do(a.Quit)
		}
	}()
	w.ShowAndRun()
	p.stop()
	return nil
}

// parley is the running app: the store, the engine, the embedded server if it hosts,
// and the screen shown.
type parley struct {
	app        fyne.App
	win        fyne.Window
	store      *storage.Store
	opts       Options
	root       string
	profileDir string
	mobile     bool
	// defaultListen is where the embedded server listens without -listen (DefaultListen;
	// tests use a free port).
	defaultListen string
	// remote is set by connect, before the first screen shows (read-only after), when
	// the server is not the embedded one: a remote server never gets the local account
	// signed in on it.
	remote bool
	notes  *notifier

	hostMu sync.Mutex
	host   *embeddedServer // the server we run, if we host

	serverInfo string // set by start before the first screen shows; read-only after

	// Touched on the UI goroutine only.
	client  *pnet.Client
	cancel  context.CancelFunc
	runDone chan struct{}
	shell   *shell
	// relogging is set while the local account signs itself in again.
	relogging bool
	// signingOut is closed when the last sign-out is over; nil before the first.
	signingOut chan struct{}
}

// serverPlan is the server the app uses at start.
type serverPlan struct {
	url    string // the server's base URL
	listen string // where the embedded server is hosted or joined; "" for a remote server
}

// planServer picks the server: -server when given; else the server of the account the
// profile's history belongs to (last, when known), as parley-cli remembers it, so that a
// relaunch without flags reopens it (hosting it again when it was this profile's own
// local server on another address); else, or with -listen, the embedded server.
// localAcct says whether last is the profile's local account.
func planServer(opts Options, defaultListen string, last storage.Account, known, localAcct bool) serverPlan {
	if opts.Server != "" {
		return serverPlan{url: opts.Server}
	}
	listen := opts.Listen
	if listen == "" {
		listen = defaultListen
	}
	if known && opts.Listen == "" && !sameServer(last.ServerURL, clientURL(listen)) {
		if u, err := pnet.ParseServerURL(last.ServerURL); err == nil && localAcct && u.Scheme == "http" && isLoopback(u.Hostname()) {
			return serverPlan{url: last.ServerURL, listen: u.Host}
		}
		return serverPlan{url: last.ServerURL}
	}
	return serverPlan{url: clientURL(listen), listen: listen}
}

// startScreen is the first screen start shows: the shell, or the sign-in screen with
// an error and, when signing in the local account would drop unsent messages, the
// question whether to.
type startScreen struct {
	signIn        bool
	url, user     string
	errText       string
	unsent        *storage.UnsentError
	retryDiscards func() error // signs the local account in after discarding
}

// start decides the server, starts the engine and shows the first screen. It runs off
// the UI goroutine.
func (p *parley) start() {
	sc := p.connect()
	fyne.Do(func() { p.show(sc) })
}

// connect picks the server (planServer), hosts or joins the embedded one, starts the
// engine and signs the local account in when the server is the embedded one.
func (p *parley) connect() startScreen {
	last, known, _ := p.store.LastAccount()
	localUser := foldUsername(p.opts.Profile)
	_, pwErr := os.Stat(filepath.Join(p.profileDir, passwordFile))
	plan := planServer(p.opts, p.defaultListen, last, known, known && last.Username == localUser && pwErr == nil)
	url := plan.url
	p.remote = plan.listen == ""
	if !p.remote {
		if probeParley(context.Background(), url) {
			p.serverInfo = "Connected to " + strings.TrimPrefix(url, "http://")
		} else if h, err := startServer(plan.listen, filepath.Join(p.root, "server")); err != nil {
			return startScreen{signIn: true, url: url, errText: "Could not start the local server: " + err.Error()}
		} else {
			p.hostMu.Lock()
			p.host = h
			p.hostMu.Unlock()
			p.serverInfo = "Hosting on " + plan.listen
		}
	} else {
		p.serverInfo = "Connected to " + url
	}
	var err error
	var c *pnet.Client
	fyne.DoAndWait(func() {
		if err = p.startClient(url); err == nil {
			c = p.client
		}
	})
	if err == nil && c == nil {
		err = errors.New("the app's event loop is not running")
	}
	if err != nil {
		return startScreen{signIn: true, url: url, errText: err.Error()}
	}
	if acct, ok, _ := c.Account(); ok && sameServer(acct.ServerURL, c.ServerURL()) {
		return startScreen{}
	}
	if p.remote {
		user := ""
		if known && sameServer(last.ServerURL, url) {
			user = last.Username
		}
		return startScreen{signIn: true, url: url, user: user}
	}
	err = p.localAccount(c, localUser)
	var ue *storage.UnsentError
	if errors.As(err, &ue) {
		return startScreen{signIn: true, url: ue.Old.ServerURL, user: ue.Old.Username, unsent: ue,
			errText: keptText(ue), retryDiscards: func() error {
				if err := p.store.DiscardHistory(); err != nil {
					return err
				}
				return p.localAccount(c, localUser)
			}}
	}
	if err != nil {
		return startScreen{signIn: true, url: url, user: localUser, errText: err.Error()}
	}
	return startScreen{}
}

// show shows the first screen connect chose.
func (p *parley) show(sc startScreen) {
	if !sc.signIn {
		p.showShell()
		return
	}
	p.showSignIn(sc.url, sc.user, sc.errText)
	if sc.unsent != nil {
		p.askDiscard(sc.unsent, "sign in the local account "+foldUsername(p.opts.Profile), func() {
			go func() {
				err := sc.retryDiscards()
				fyne.Do(func() {
					if err != nil {
						p.showSignIn(sc.url, sc.user, capitalize(errText(err)))
						return
					}
					p.showShell()
				})
			}()
		})
	}
}

// unsentText says how many unsent messages of whom would be lost.
func unsentText(ue *storage.UnsentError) string {
	var parts []string
	if ue.Count > 0 || ue.Changes == 0 {
		parts = append(parts, plural(ue.Count, "unsent message"))
	}
	if ue.Changes > 0 {
		parts = append(parts, plural(ue.Changes, "unsent change"))
	}
	return fmt.Sprintf("%s of %s on %s", strings.Join(parts, " and "), ue.Old.Username, ue.Old.ServerURL)
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// keptText tells the user their unsent messages were kept, and how to send them.
func keptText(ue *storage.UnsentError) string {
	return "Kept " + unsentText(ue) + ": sign in as " + ue.Old.Username + " there to send them."
}

// askDiscard asks whether to drop the unsent messages of ue in order to do what; yes
// runs only when the user agrees.
func (p *parley) askDiscard(ue *storage.UnsentError, what string, yes func()) {
	d := dialog.NewConfirm("Unsent messages",
		capitalize(unsentText(ue))+" would be lost if you "+what+".\nDiscard them?",
		func(ok bool) {
			if ok {
				yes()
			}
		}, p.win)
	d.SetConfirmImportance(widget.DangerImportance)
	d.SetConfirmText("Discard " + strconv.Itoa(ue.Count+ue.Changes))
	d.SetDismissText("Keep them")
	d.Show()
}

// errText is what the user is shown for an error of the engine or the store.
func errText(err error) string {
	var ue *storage.UnsentError
	if errors.As(err, &ue) {
		return keptText(ue)
	}
	if msg := pnet.UserMessage(err); msg != "" {
		return msg
	}
	return err.Error()
}

func sameServer(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// localAccount signs in the profile's local account, creating it the first time.
func (p *parley) localAccount(c *pnet.Client, user string) error {
	pw, err := localPassword(p.profileDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	_, err = c.Login(ctx, user, pw)
	if pnet.ErrorCode(err) == model.CodeBadCreds {
		_, err = c.Register(ctx, user, pw, p.opts.Profile)
		if pnet.ErrorCode(err) == model.CodeUsernameTaken {
			return fmt.Errorf("the name %q is taken on this server by someone else: sign in or pick another profile", user)
		}
	}
	if errors.Is(err, storage.ErrUnsent) {
		return err
	}
	if err != nil {
		return errors.New(pnet.UserMessage(err))
	}
	return nil
}

// startClient (re)starts the engine for url, with its event bridge. The engine leaves
// an account of another server alone (it never spends its tokens on url), so a profile
// stays signed in to its server until someone signs in on url.
func (p *parley) startClient(url string) error {
	if p.cancel != nil {
		p.cancel()
		<-p.runDone
	}
	c, err := pnet.New(pnet.Config{ServerURL: url, Store: p.store})
	if err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b := &bridge{eng: newClientEngine(c), apply: p.apply, tick: p.tick, signedOut: p.signedOut}
	go b.run(ctx, c.Events())
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	p.client, p.cancel, p.runDone = c, cancel, done
	return nil
}

func (p *parley) apply(u Update) {
	if p.shell != nil {
		p.shell.apply(u)
	}
}

func (p *parley) tick() {
	if p.shell != nil {
		p.shell.tick()
	}
}

// showShell shows the rooms and the chat, and opens general once the rooms are in.
func (p *parley) showShell() {
	c := p.client
	eng := newClientEngine(c)
	s := newShell(p.win, eng, goRunner(), p.mobile)
	s.setServerInfo(p.serverInfo)
	s.onSignOut = p.signOut
	s.onUnread = p.setTray
	s.notify = p.notes.notify
	st := connStateOf(c.State())
	s.apply(Update{Conn: &st})
	p.shell = s
	p.win.SetContent(s.content)
	p.setMenu(true)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		_, _ = c.FetchRooms(ctx)
		rooms, _ := eng.Rooms()
		open := ""
		for _, r := range rooms {
			if r.ID == "general" || r.Name == "general" {
				open = r.ID
			}
		}
		fyne.Do(func() {
			if p.shell == s {
				s.loadRooms(open)
			}
		})
	}()
}

// showSignIn shows the sign-in screen with an optional error.
func (p *parley) showSignIn(url, user, errText string) {
	p.shell = nil
	s := newSignInScreen(p, goRunner(), url, user, p.showShell)
	s.ask = p.askDiscard
	if errText != "" {
		s.showError(errText)
	}
	p.win.SetContent(s.content)
	p.win.Canvas().Focus(s.firstEmpty()) // typing starts at once; Tab moves on
	p.setMenu(false)
}

// SignIn implements Authenticator for the sign-in screen.
func (p *parley) SignIn(url, user, pass string) error {
	return p.auth(url, func(ctx context.Context, c *pnet.Client) error {
		_, err := c.Login(ctx, user, pass)
		return err
	})
}

// CreateAccount implements Authenticator for the sign-in screen.
func (p *parley) CreateAccount(url, user, pass string) error {
	return p.auth(url, func(ctx context.Context, c *pnet.Client) error {
		_, err := c.Register(ctx, user, pass, "")
		return err
	})
}

func (p *parley) auth(url string, call func(context.Context, *pnet.Client) error) error {
	if _, err := pnet.ParseServerURL(url); err != nil {
		return fmt.Errorf("server address: %w", err)
	}
	var pending chan struct{}
	fyne.DoAndWait(func() { pending = p.signingOut })
	if pending != nil {
		<-pending // a sign-in must not race the sign-out before it
	}
	c := p.currentClient()
	if c == nil || !sameServer(c.ServerURL(), url) {
		done := make(chan error, 1)
		fyne.DoAndWait(func() { done <- p.startClient(url) })
		if err := <-done; err != nil {
			return err
		}
		c = p.currentClient()
	}
	if c == nil {
		return errors.New("the app's event loop is not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	if err := call(ctx, c); err != nil {
		if errors.Is(err, storage.ErrUnsent) {
			return err
		}
		return errors.New(capitalize(pnet.UserMessage(err)))
	}
	return nil
}

// DiscardUnsent implements Authenticator: it drops the history and the unsent messages
// of the account the profile held, once the user agreed.
func (p *parley) DiscardUnsent() error { return p.store.DiscardHistory() }

func (p *parley) currentClient() *pnet.Client {
	var c *pnet.Client
	fyne.DoAndWait(func() { c = p.client })
	return c
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// signOut forgets the session, shows the sign-in screen and has the server revoke
// the login. The engine's sign-out waits for the server (a network call), so it runs
// on a goroutine; a sign-in started meanwhile waits for it (auth).
func (p *parley) signOut() {
	c := p.client
	acct, _, _ := c.Account()
	done := make(chan struct{})
	p.signingOut = done
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		if err := c.SignOut(ctx); err != nil {
			fyne.LogError("sign out", err)
		}
	}()
	p.showSignIn(c.ServerURL(), acct.Username, "")
}

// signedOut follows the engine when the server no longer accepts the session.
func (p *parley) signedOut(reason string) {
	if p.shell == nil {
		return
	}
	acct, _, _ := p.client.Account()
	if !p.remote && !p.relogging {
		// The local account signs itself in again (the server's data may have been reset).
		p.relogging = true
		c, user := p.client, foldUsername(p.opts.Profile)
		go func() {
			err := p.localAccount(c, user)
			fyne.Do(func() {
				p.relogging = false
				if err != nil {
					p.showSignIn(c.ServerURL(), user, "You were signed out: "+errText(err))
					return
				}
				p.showShell() // afresh: signing in again may have dropped the old history

			})
		}()
		return
	}
	msg := "You were signed out"
	if reason != "" && reason != "signed out" {
		msg += ": " + reason
	}
	p.showSignIn(p.client.ServerURL(), acct.Username, msg)
}

// setMenu gives the desktop window a menu with Sign out while signed in.
func (p *parley) setMenu(signedIn bool) {
	if p.mobile {
		return
	}
	items := []*fyne.MenuItem{}
	if signedIn {
		items = append(items, &fyne.MenuItem{Label: "Sign out", Action: p.signOut})
	}
	p.win.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("Account", items...)))
	p.setTray(0)
}

// setTray puts the unread total and Show Parley in the system tray menu (desktop).
func (p *parley) setTray(unread int64) {
	d, ok := p.app.(desktop.App)
	if !ok || !trayAvailable() {
		return
	}
	label := "No unread messages"
	if unread > 0 {
		label = strconv.FormatInt(unread, 10) + " unread"
	}
	d.SetSystemTrayMenu(fyne.NewMenu("Parley", &fyne.MenuItem{Label: label, Disabled: true},
		&fyne.MenuItem{Label: "Show Parley", Action: func() { p.win.Show(); p.win.RequestFocus() }}))
}

func (p *parley) enteredForeground() {
	if p.shell != nil {
		p.shell.setFocused(true)
	}
	if p.client != nil {
		p.client.Nudge()
	}
}

func (p *parley) exitedForeground() {
	if p.shell != nil {
		p.shell.setFocused(false)
	}
}

// stop ends the engine and the embedded server.
func (p *parley) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.runDone
	}
	p.hostMu.Lock()
	defer p.hostMu.Unlock()
	if p.host != nil {
		_ = p.host.stop()
	}
}

// trayAvailable reports whether a system tray can be used: on Linux and BSD the tray
// talks D-Bus, and Fyne's tray crashes on quit without a session bus (Xvfb, CI).
func trayAvailable() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		return os.Getenv("DBUS_SESSION_BUS_ADDRESS") != ""
	}
	return true
}
