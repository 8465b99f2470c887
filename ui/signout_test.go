package ui

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestAccountMenuSignOutRevokes: the Account menu's Sign out shows the sign-in screen
// and has the server revoke the login: the refresh token the profile held is refused.
func TestAccountMenuSignOutRevokes(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	alice := startClient(t, srv.URL, "alice")
	acct, _, _ := alice.Account()
	a := test.NewTempApp(t)
	win := test.NewTempWindow(t, nil)
	p := &parley{app: a, win: win, client: alice, shell: &shell{}}
	p.setMenu(true)
	var signOut *fyne.MenuItem
	for _, m := range win.MainMenu().Items {
		for _, it := range m.Items {
			if m.Label == "Account" && it.Label == "Sign out" {
				signOut = it
			}
		}
	}
	if signOut == nil {
		t.Fatal("no Account › Sign out")
	}
	signOut.Action()
	if p.shell != nil {
		t.Fatalf("the shell is still shown after sign-out")
	}
	api, err := pnet.NewAPI(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.signingOut:
	case <-time.After(30 * time.Second):
		t.Fatal("the sign-out never finished")
	}
	// One try only: a refresh that succeeded would spend the token, and the next
	// would be refused as a reuse.
	_, err = api.Refresh(t.Context(), acct.RefreshToken)
	var ae *pnet.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("refresh with the signed-out login's token: %v, want 401", err)
	}
	if _, ok, _ := alice.Account(); ok {
		t.Fatalf("account kept after sign-out")
	}
}
