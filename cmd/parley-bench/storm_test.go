package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// proxyEnv, set to a host:port, makes the test binary a TCP proxy to it that prints
// its own address and serves until it is killed: the node TestStormKillPID kills.
const proxyEnv = "PARLEY_BENCH_TEST_PROXY"

// runTestProxy is the test binary's life as a proxy process (see TestMain).
func runTestProxy(target string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	f := &forwarder{dial: func(bool) (net.Conn, error) { return net.Dial("tcp", target) }}
	f.serve(ln)
	os.Exit(0)
}

// forwarder copies each connection a listener accepts to one dial answers (told
// whether the connection asks for /ws): a load balancer at the TCP level, as nginx
// is in front of the nodes.
type forwarder struct {
	dial  func(ws bool) (net.Conn, error)
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func (f *forwarder) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(c)
		head, _ := br.Peek(len("GET /ws"))
		up, err := f.dial(string(head) == "GET /ws")
		if err != nil {
			_ = c.Close()
			continue
		}
		f.mu.Lock()
		if f.conns == nil {
			f.conns = map[net.Conn]bool{}
		}
		f.conns[c], f.conns[up] = true, true
		f.mu.Unlock()
		f.wg.Add(2)
		pipe := func(dst, src net.Conn, from io.Reader) {
			defer f.wg.Done()
			_, _ = io.Copy(dst, from)
			_ = dst.Close()
			_ = src.Close()
			f.mu.Lock()
			delete(f.conns, dst)
			delete(f.conns, src)
			f.mu.Unlock()
		}
		go pipe(c, up, up)
		go pipe(up, c, br)
	}
}

// close ends every connection and waits for the copies.
func (f *forwarder) close() {
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// TestStormKillPID: storm with -url and -kill-pid against a front that sends every
// connection to a "node" process (a proxy to the in-process server) while it lives
// and to the server directly once it is dead. The bench SIGKILLs the node; every
// client comes back through the front, none of the 30 messages is lost or doubled,
// and the node process is dead. The first client is connected to the server
// directly (a client of a node that lives on): the bench must not wait for it to
// drop, and it must hold every message too.
func TestStormKillPID(t *testing.T) {
	in := servertest.Start(t, server.Config{MsgRate: 1e6, MsgBurst: 1e6, PresenceGrace: -1})
	target := strings.TrimPrefix(in.URL, "http://")

	node := exec.Command(os.Args[0], "-test.run=^$")
	node.Env = append(os.Environ(), proxyEnv+"="+target)
	node.Stderr = os.Stderr
	out, err := node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = node.Wait(); close(exited) }()
	t.Cleanup(func() { _ = node.Process.Kill(); <-exited })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("node proxy: %v", err)
	}
	nodeAddr := strings.TrimSpace(line)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wsConns atomic.Int64
	front := &forwarder{dial: func(ws bool) (net.Conn, error) {
		// The first client's WebSocket goes to the server directly, as to a node
		// that lives on; all else to the node while it lives.
		if !ws || wsConns.Add(1) > 1 {
			if c, err := net.Dial("tcp", nodeAddr); err == nil {
				return c, nil
			}
		}
		return net.Dial("tcp", target)
	}}
	served := make(chan struct{})
	go func() { defer close(served); front.serve(ln) }()
	t.Cleanup(func() { _ = ln.Close(); <-served; front.close() })

	jsonOut := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"-url", "http://" + ln.Addr().String(), "-kill-pid", strconv.Itoa(node.Process.Pid),
		"-conns", "5", "-parallel", "5", "-json", jsonOut, "storm"}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	select {
	case <-exited:
	default:
		t.Fatalf("the bench answered, yet node pid %d is alive\n%s", node.Process.Pid, stderr.String())
	}
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var reports []Report
	if err := json.Unmarshal(b, &reports); err != nil || len(reports) != 1 {
		t.Fatalf("reports %v: %s", err, b)
	}
	r := reports[0]
	if r.Reconnected != 5 || r.Dropped != 4 || r.Sent != stormBefore+stormAfter || r.Lost != 0 || r.Doubled != 0 {
		t.Fatalf("reconnected %d of 5, dropped %d of 4, sent %d, lost %d, doubled %d\n%s", r.Reconnected, r.Dropped, r.Sent, r.Lost, r.Doubled, stderr.String())
	}
}

// TestParseKillPID: -kill-pid lets storm run with -url, and only there.
func TestParseKillPID(t *testing.T) {
	if _, _, err := parse([]string{"-url", "http://127.0.0.1:1", "-kill-pid", "4242", "storm"}); err != nil {
		t.Fatalf("-url with -kill-pid refused: %v", err)
	}
	for _, args := range [][]string{
		{"-server-cmd", "bin/parley-server", "-kill-pid", "4242", "storm"},
		{"-url", "http://127.0.0.1:1", "-kill-pid", "-3", "storm"},
		{"-url", "http://127.0.0.1:1", "-kill-pid", strconv.Itoa(os.Getpid()), "storm"},
	} {
		if _, _, err := parse(args); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}
