package ui

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/parleychat/parley/storage"
)

// Authenticator signs a user in to a server, or creates the account first. Its errors
// are shown as they are, so they should read well ("Wrong username or password"),
// except an *storage.UnsentError: the profile holds another account's unsent messages,
// which DiscardUnsent drops once the user agrees.
type Authenticator interface {
	SignIn(serverURL, username, password string) error
	CreateAccount(serverURL, username, password string) error
	DiscardUnsent() error
}

// signInScreen asks for the server, the username and the password, and shows what went
// wrong in place.
type signInScreen struct {
	auth Authenticator
	run  runner
	done func()
	// ask asks whether to drop unsent messages in order to do what, and runs yes if the
	// user agrees; nil keeps them.
	ask func(ue *storage.UnsentError, what string, yes func())

	server   *widget.Entry
	username *widget.Entry
	password *widget.Entry
	signIn   *widget.Button
	create   *widget.Button
	errLabel *widget.Label
	busy     *widget.ProgressBarInfinite
	content  fyne.CanvasObject
}

func newSignInScreen(auth Authenticator, run runner, serverURL, username string, done func()) *signInScreen {
	s := &signInScreen{auth: auth, run: run, done: done}
	s.server = &widget.Entry{Text: serverURL, PlaceHolder: "http://127.0.0.1:8787"}
	s.username = &widget.Entry{Text: username, PlaceHolder: "username"}
	s.password = &widget.Entry{Password: true, PlaceHolder: "at least 8 characters"}
	s.server.ExtendBaseWidget(s.server)
	s.username.ExtendBaseWidget(s.username)
	s.password.ExtendBaseWidget(s.password)
	s.password.OnSubmitted = func(string) { s.submit(false) }
	s.signIn = &widget.Button{Text: "Sign in", Importance: widget.HighImportance, OnTapped: func() { s.submit(false) }}
	s.create = &widget.Button{Text: "Create account", OnTapped: func() { s.submit(true) }}
	s.errLabel = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	s.errLabel.Hide()
	s.busy = widget.NewProgressBarInfinite()
	s.busy.Stop()
	s.busy.Hide()
	form := widget.NewForm(
		widget.NewFormItem("Server", s.server),
		widget.NewFormItem("Username", s.username),
		widget.NewFormItem("Password", s.password))
	title := &widget.Label{Text: "Sign in to Parley", TextStyle: fyne.TextStyle{Bold: true}, Alignment: fyne.TextAlignCenter}
	box := container.NewVBox(title, form, s.errLabel, s.busy, container.NewGridWithColumns(2, s.create, s.signIn))
	s.content = container.NewCenter(container.New(&minWidthLayout{width: 340}, box))
	return s
}

// firstEmpty is the field to type in first: the first one still empty, else the password.
func (s *signInScreen) firstEmpty() fyne.Focusable {
	switch {
	case strings.TrimSpace(s.server.Text) == "":
		return s.server
	case strings.TrimSpace(s.username.Text) == "":
		return s.username
	}
	return s.password
}

// submit signs in (or creates the account) off the UI goroutine.
func (s *signInScreen) submit(create bool) {
	server, user, pass := strings.TrimSpace(s.server.Text), strings.TrimSpace(s.username.Text), s.password.Text
	switch {
	case server == "":
		s.showError("Enter the server's address")
		return
	case user == "":
		s.showError("Enter your username")
		return
	case pass == "":
		s.showError("Enter your password")
		return
	}
	s.authenticate(create, false, server, user, pass)
}

// authenticate signs in off the UI goroutine, first dropping the profile's unsent messages when
// discard is set. When signing in would drop them, it asks first.
func (s *signInScreen) authenticate(create, discard bool, server, user, pass string) {
	s.setBusy(true)
	s.run.bg(func() {
		var err error
		if discard {
			err = s.auth.DiscardUnsent()
		}
		if err == nil && create {
			err = s.auth.CreateAccount(server, user, pass)
		} else if err == nil {
			err = s.auth.SignIn(server, user, pass)
		}
		s.run.ui(func() {
			s.setBusy(false)
			var ue *storage.UnsentError
			if errors.As(err, &ue) {
				s.showError(keptText(ue))
				if s.ask != nil {
					s.ask(ue, "sign in as "+user+" on "+server, func() { s.authenticate(create, true, server, user, pass) })
				}
				return
			}
			if err != nil {
				s.showError(err.Error())
				return
			}
			s.errLabel.Hide()
			if s.done != nil {
				s.done()
			}
		})
	})
}

func (s *signInScreen) setBusy(b bool) {
	if b {
		s.errLabel.Hide()
		s.busy.Show()
		s.busy.Start()
		s.signIn.Disable()
		s.create.Disable()
		return
	}
	s.busy.Stop()
	s.busy.Hide()
	s.signIn.Enable()
	s.create.Enable()
}

func (s *signInScreen) showError(msg string) {
	s.errLabel.SetText(msg)
	s.errLabel.Show()
}

// minWidthLayout stacks its objects and asks for at least width.
type minWidthLayout struct{ width float32 }

func (m *minWidthLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	for _, o := range objs {
		o.Resize(s)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (m *minWidthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	min := layout.NewStackLayout().MinSize(objs)
	return min.Max(fyne.NewSize(m.width, 0))
}
