//go:build (linux || openbsd || freebsd || netbsd) && !android && !ios && !mobile && !wasm && !ci && !flatpak

package ui

import (
	"bufio"
	"bytes"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/godbus/dbus/v5"
)

// fyneSend does for one notification what Fyne's Linux driver does (app/app_xdg.go):
// the shared session bus, the Notify call, and three log lines for each failure.
func fyneSend(sent *int) func(*fyne.Notification) {
	return func(n *fyne.Notification) {
		*sent++
		conn, err := dbus.SessionBus()
		if err != nil {
			fyne.LogError("Unable to connect to session D-Bus", err)
			return
		}
		call := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications").Call(
			"org.freedesktop.Notifications.Notify", 0, "test", uint32(0), "", n.Title, n.Content,
			[]string{}, map[string]dbus.Variant{}, int32(0))
		if call.Err != nil {
			fyne.LogError("Failed to send message to bus", call.Err)
		}
	}
}

// captureLog sends the standard logger (Fyne's too) to a buffer for the test.
func captureLog(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	log.SetOutput(&buf)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	return &buf
}

// floodUnfocused sends n messages from bob, one batch each, into an unfocused shell.
func floodUnfocused(t *testing.T, n int, notify func(title, body string)) {
	test.NewTempApp(t)
	eng := newFakeEngine()
	eng.rooms = []RoomItem{{ID: "general", Name: "general"}}
	w := test.NewTempWindow(t, nil)
	s := newShell(w, eng, inlineRunner(), false)
	w.SetContent(s.content)
	s.notify = notify
	s.setFocused(false)
	for i := 1; i <= n; i++ {
		r := Row{ID: fmt.Sprintf("m%d", i), RoomID: "general", Seq: int64(i), SenderID: "u-bob",
			SenderName: "bob", Text: "hello", Time: t0}
		s.apply(Update{Notify: []Row{r}})
	}
}

// Issue 11, item 6: without a session bus, 2,000 messages logged 6,000 lines.
func TestNotificationsWithoutSessionBusLogOnce(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	buf := captureLog(t)
	sent := 0
	n := &notifier{send: fyneSend(&sent), probe: notificationsAvailable, logf: log.Printf}
	floodUnfocused(t, 2000, n.notify)
	out := buf.String()
	if lines := strings.Count(out, "\n"); lines != 1 {
		t.Fatalf("%d log lines for 2,000 messages, want 1:\n%.600s", lines, out)
	}
	if !strings.Contains(out, "notifications are off") || !strings.Contains(out, "D-Bus session bus") {
		t.Errorf("the one line does not say why: %q", out)
	}
	if sent != 0 {
		t.Errorf("%d notifications sent without a bus", sent)
	}
}

// startBus runs a private dbus-daemon and points the session bus at it.
func startBus(t *testing.T) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Fatal("dbus-daemon is missing (make test installs it: Debian package dbus-daemon)")
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon address: %v", err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", strings.TrimSpace(addr))
	t.Cleanup(func() {
		if c, err := dbus.SessionBus(); err == nil {
			_ = c.Close() // the shared connection is made again for the next bus
		}
	})
}

// A session bus with no notification service (Xvfb with dbus-launch): one line too.
func TestNotificationsWithoutServiceLogOnce(t *testing.T) {
	startBus(t)
	buf := captureLog(t)
	sent := 0
	n := &notifier{send: fyneSend(&sent), probe: notificationsAvailable, logf: log.Printf}
	floodUnfocused(t, 200, n.notify)
	if lines := strings.Count(buf.String(), "\n"); lines != 1 || sent != 0 {
		t.Fatalf("%d log lines, %d sent; want 1 and 0:\n%.600s", lines, sent, buf.String())
	}
}

// notifications is a notification service for the test bus.
type notifications struct{ got chan string }

func (s *notifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "test", "parley", "1", "1.2", nil
}

func (s *notifications) Notify(app string, id uint32, icon, title, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.got <- title + ": " + body
	return 1, nil
}

// With a notification service every message is shown and nothing is logged.
func TestNotificationsWithServiceAreShown(t *testing.T) {
	startBus(t)
	srv, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	svc := &notifications{got: make(chan string, 10)}
	if err := srv.Export(svc, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if r, err := srv.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own the name: %v %v", r, err)
	}
	buf := captureLog(t)
	sent := 0
	n := &notifier{send: fyneSend(&sent), probe: notificationsAvailable, logf: log.Printf}
	floodUnfocused(t, 3, n.notify)
	for i := 0; i < 3; i++ {
		select {
		case got := <-svc.got:
			if got != "bob in general: hello" {
				t.Errorf("notification %q", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("notification %d not shown", i+1)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("logged: %s", buf.String())
	}
}
