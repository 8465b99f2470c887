// Command parley is the Parley chat app. With nothing configured it hosts a chat server
// on 127.0.0.1:8787 (or joins the one already there), signs in a local account named
// after the profile and opens the room general.
package main

import (
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2/app"

	"github.com/parleychat/parley/storage"
	"github.com/parleychat/parley/ui"
)

func main() {
	var opts ui.Options
	flag.StringVar(&opts.Profile, "profile", "", "local profile: separate data and account (default: your OS user name)")
	flag.StringVar(&opts.Server, "server", "", "URL of a remote Parley server to sign in to (default: host or join one on -listen)")
	flag.StringVar(&opts.Listen, "listen", "", "address the embedded server listens on (default "+ui.DefaultListen+")")
	flag.Parse()
	if opts.Profile != "" {
		if err := storage.CheckProfileName(opts.Profile); err != nil {
			fmt.Fprintln(os.Stderr, "parley:", err)
			os.Exit(2)
		}
	}
	if err := ui.Run(app.NewWithID(ui.AppID), opts); err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}
