package net

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	stdnet "net"

	"github.com/parleychat/parley/model"
)

var (
	binDir    string // holds binaries built for the tests; removed by TestMain
	buildOnce sync.Once
	serverBin string
	buildErr  error
)

// buildServer builds ./cmd/parley-server once per test binary.
func buildServer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "parley-net-test-")
		if buildErr != nil {
			return
		}
		serverBin = filepath.Join(binDir, "parley-server")
		out, err := exec.Command("go", "build", "-o", serverBin, "github.com/parleychat/parley/cmd/parley-server").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build parley-server: %v", buildErr)
	}
	return serverBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// serverProc is a parley-server process on a fixed loopback address and data folder.
type serverProc struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startServerProc(t *testing.T) *serverProc {
	t.Helper()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &serverProc{t: t, bin: buildServer(t), dir: t.TempDir(), addr: addr}
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *serverProc) url() string { return "http://" + p.addr }

// start runs the server and waits until /healthz answers.
func (p *serverProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "-listen", p.addr, "-data", p.dir, "-msg-rate", "1000", "-msg-burst", "1000",
		"-presence-grace", "0", "-metrics-listen", "", "-register-limit", "0", "-log-level", "error")
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start server: %v", err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(p.cmd, p.done)
	deadline := time.Now().Add(waitLong)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(p.url() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("server exited at start")
		case <-time.After(20 * time.Millisecond): // polling a process that cannot tell us it is ready
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("server not ready: %v", err)
		}
	}
}

// kill ends the server with SIGKILL and waits for it.
func (p *serverProc) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// TestServerKilled kills the server process with SIGKILL while a client sends 500
// messages, then starts it again: the server holds each exactly once, the sender shows
// every one sent, the receiver holds all of them in order.
func TestServerKilled(t *testing.T) {
	srv := startServerProc(t)
	fast := func(c *Config) { c.Rand = func() float64 { return 0 } }
	a := startClient(t, srv.url(), "", fast)
	b := startClient(t, srv.url(), "", fast)
	register(t, a, "alice")
	register(t, b, "bob")
	room := a.generalRoom()

	n := 500
	if testing.Short() {
		n = 200
	}
	ids := sendN(t, a, room, n)
	b.waitUntil("some messages", func() bool { return len(b.order) >= n/5 })
	srv.kill()
	a.waitUntil("alice offline", func() bool { return a.State().State == StateOffline })
	srv.start()
	a.Nudge()
	b.Nudge()

	flush(t, a)
	a.waitUntil("all sent", func() bool { return a.countStatus(model.StatusSending) == 0 && len(a.msgs) == n })
	b.waitUntil("all received", func() bool { return len(b.order) == n })
	checkExactlyOnce(t, b, room, ids)
	checkExactlyOnce(t, a, room, ids)

	// The server itself: its history holds each message once, in order.
	var got []string
	var before int64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		page, err := a.API().Messages(ctx, a.mustToken(t), room, before, model.HistoryMaxLimit)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		ids := make([]string, len(page))
		for i, m := range page {
			ids[i] = m.ID
		}
		got = append(ids, got...)
		before = page[0].Seq
	}
	if len(got) != n {
		t.Fatalf("server holds %d messages, want %d", len(got), n)
	}
	for i := range got {
		if got[i] != ids[i] {
			t.Fatalf("server message %d is %s, want %s", i, got[i], ids[i])
		}
	}
}

// mustToken returns the client's access token.
func (tc *tclient) mustToken(t *testing.T) string {
	t.Helper()
	tok, err := tc.accessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
