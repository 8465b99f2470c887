package ui

import (
	"log"
	"sync"

	"fyne.io/fyne/v2"
)

// notifier raises desktop notifications when the system can show them. Where it cannot
// (no D-Bus session bus or no notification service: Xvfb, CI, a bare window manager),
// Fyne logs three lines for every notification it fails to send; the notifier asks the
// system once instead, says once that notifications are off, and then stays quiet.
type notifier struct {
	send  func(*fyne.Notification) // the app's SendNotification
	probe func() error             // nil when notifications can be shown
	logf  func(format string, args ...any)

	once sync.Once
	err  error
}

// newNotifier sends through a's notifications, after the system's check.
func newNotifier(a fyne.App) *notifier {
	return &notifier{send: a.SendNotification, probe: notificationsAvailable, logf: log.Printf}
}

// check asks the system, the first time only, whether notifications can be shown. It
// may wait on D-Bus for a moment: the app calls it off the UI goroutine at
// start, so that the first notification does not wait.
func (n *notifier) check() error {
	n.once.Do(func() {
		n.err = n.probe()
		if n.err != nil {
			n.logf("Parley: desktop notifications are off: %v", n.err)
		}
	})
	return n.err
}

// notify shows one notification, or nothing when the system cannot show it.
func (n *notifier) notify(title, body string) {
	if n.check() != nil {
		return
	}
	n.send(fyne.NewNotification(title, body))
}
