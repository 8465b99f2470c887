//go:build (linux || openbsd || freebsd || netbsd) && !android && !ios && !mobile && !wasm && !ci && !flatpak

package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// probeTimeout bounds the question to the notification service.
const probeTimeout = 2 * time.Second

// notificationsAvailable reports whether Fyne's notifications can be delivered: like
// Fyne's driver, it uses the shared session bus, and it asks the notification service
// for its name (which also starts a service that is activated on demand).
func notificationsAvailable() error {
	conn, err := dbus.SessionBus() // shared with Fyne: not closed
	if err != nil {
		return fmt.Errorf("no D-Bus session bus: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var name, vendor, version, spec string
	call := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications").
		CallWithContext(ctx, "org.freedesktop.Notifications.GetServerInformation", 0)
	if err := call.Store(&name, &vendor, &version, &spec); err != nil {
		return fmt.Errorf("no notification service on the session bus: %w", err)
	}
	return nil
}
