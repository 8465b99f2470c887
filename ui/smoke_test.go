//go:build smoke

package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/server"
)

// TestSmokeRealWindow builds the app, runs it in a real window under Xvfb (hosting its
// own server), types a message with xdotool and checks that a second user, on the real
// engine, receives it; then that user's reply is shown and read in the window.
// Run with: go test -tags smoke -run Smoke ./ui (needs Xvfb and xdotool).
func TestSmokeRealWindow(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "parley")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	display := freeDisplay(t)
	xvfb := exec.Command("Xvfb", display, "-screen", "0", "1280x800x24")
	if err := xvfb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = xvfb.Process.Kill()
		_ = xvfb.Wait()
	})
	waitFor(t, "Xvfb", func() bool {
		_, err := os.Stat("/tmp/.X11-unix/X" + display[1:])
		return err == nil
	})

	addr := freeAddr(t)
	app := exec.Command(bin, "-listen", addr, "-profile", "ada")
	app.Env = append(os.Environ(), "HOME="+dir, "DISPLAY="+display, "LANG=en_US.UTF-8")
	logf, err := os.Create(filepath.Join(dir, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	app.Stdout, app.Stderr = logf, logf
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	t.Cleanup(func() {
		_ = app.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the app exited with %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = app.Process.Kill()
			t.Errorf("the app did not quit on SIGTERM")
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "app.log"))
			t.Logf("app log:\n%s", b)
		}
	})
	url := "http://" + addr
	waitFor(t, "the embedded server", func() bool { return probeParley(context.Background(), url) })

	bob := smokeClient(t, url, "bob")
	xdo := func(args ...string) {
		t.Helper()
		cmd := exec.Command("xdotool", args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
	}
	// The window is 960×640 at the origin; the composer runs along its bottom.
	waitFor(t, "ada's account", func() bool { return userExists(t, bob, "ada") })
	xdo("mousemove", "600", "617", "click", "1")
	xdo("type", "--delay", "20", "hello from the window")
	xdo("key", "Return")
	waitFor(t, "bob to receive ada's message", func() bool {
		ms, err := bob.Store().Latest(server.GeneralRoomID, 10)
		if err != nil {
			return false
		}
		for _, m := range ms {
			if m.Content == "hello from the window" && m.SenderName != "" {
				return true
			}
		}
		return false
	})
	// Bob answers; the window shows it and marks it read.
	m, err := bob.Send(server.GeneralRoomID, "hi ada")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ada to read bob's reply", func() bool {
		got, ok, err := bob.Store().Get(m.RoomID, m.ID)
		return err == nil && ok && got.Status == model.StatusRead
	})
}

// smokeClient is startClient with its events drained: nobody pumps them into a shell here.
func smokeClient(t *testing.T, url, user string) *pnet.Client {
	t.Helper()
	c := startClient(t, url, user)
	go func() {
		for range c.Events() {
		}
	}()
	return c
}

func userExists(t *testing.T, c *pnet.Client, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	us, err := c.SearchUsers(ctx, name)
	if err != nil {
		return false
	}
	for _, u := range us {
		if u.DisplayName == name {
			return true
		}
	}
	return false
}

// waitFor polls cond every 100 ms for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func freeDisplay(t *testing.T) string {
	for n := 90; n < 200; n++ {
		if _, err := os.Stat("/tmp/.X11-unix/X" + strconv.Itoa(n)); os.IsNotExist(err) {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); os.IsNotExist(err) {
				return ":" + strconv.Itoa(n)
			}
		}
	}
	t.Skip("no free X display")
	return ""
}
