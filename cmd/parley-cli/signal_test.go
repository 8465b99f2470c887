package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestBinaryListenSIGTERM builds the real binary: `listen` prints JSON lines and exits 0
// on SIGTERM.
func TestBinaryListenSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "parley-cli")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv := servertest.Start(t, server.Config{})
	home := t.TempDir()
	mustCLI(t, "-home", home, "-server", srv.URL, "register", "dora")

	cmd := exec.Command(bin, "-home", home, "listen", "general")
	cmd.Env = append(os.Environ(), "PARLEY_PASSWORD=unused")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(30 * time.Second)
	for online := false; !online; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("listen ended early")
			}
			online = strings.Contains(l, `"synced":true`)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("listen never synced")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("listen after SIGTERM: %v", err)
	}
}
