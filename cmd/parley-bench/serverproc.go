package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverProc is a parley-server the bench started: a separate process on a free
// loopback port with a temporary data folder.
type serverProc struct {
	argv    []string
	addr    string
	metrics string // the metrics listener's host:port
	dataDir string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// freeAddr answers a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer runs command (a binary and its own flags, split on spaces) with the
// flags a load test needs, and waits until it answers /healthz.
func startServer(ctx context.Context, command, workDir string) (*serverProc, error) {
	fields := strings.Fields(command)
	if len(fields) == 0 {
		return nil, errors.New("-server-cmd is empty")
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	metrics, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp(workDir, "parley-bench-data-")
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	argv := append(fields, "-listen", addr, "-metrics-listen", metrics, "-data", dataDir,
		"-msg-rate", "1000000", "-msg-burst", "1000000", "-bcrypt-cost", "4", "-register-limit", "0", "-log-level", "warn")
	p := &serverProc{argv: argv, addr: addr, metrics: metrics, dataDir: dataDir, logPath: filepath.Join(dataDir, "server.log")}
	if err := p.start(ctx); err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, err
	}
	return p, nil
}

func (p *serverProc) start(ctx context.Context) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", p.argv[0], err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	return waitHealthy(ctx, p.url(), exited)
}

// waitHealthy polls /healthz until it answers 200, the process exits or ctx ends.
func waitHealthy(ctx context.Context, base string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("server exited before it was healthy")
		case <-ctx.Done():
			return fmt.Errorf("server not healthy: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (p *serverProc) url() string { return "http://" + p.addr }

// metricsURL is the server's metrics listener (the API port does not serve /metrics).
func (p *serverProc) metricsURL() string { return "http://" + p.metrics }

func (p *serverProc) pid() int { return p.cmd.Process.Pid }

// kill ends the server at once (SIGKILL: no graceful close, as in a crash).
func (p *serverProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop ends the server gracefully (SIGTERM), killing it if it takes too long.
func (p *serverProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

// errorLines answers the lines the server logged at level ERROR.
func (p *serverProc) errorLines() []string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "level=ERROR") || strings.Contains(sc.Text(), "panic") {
			out = append(out, sc.Text())
		}
	}
	return out
}

// cleanup removes the data folder.
func (p *serverProc) cleanup() { _ = os.RemoveAll(p.dataDir) }

// procStat is a process's CPU time and memory from /proc.
type procStat struct {
	cpu   time.Duration // user + system
	rss   int64         // bytes
	hwm   int64         // peak RSS, bytes
	read  bool
	taken time.Time
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; 100 on Linux.
const clockTicks = 100

// readProc reads /proc/PID/stat and /proc/PID/status; read is false where there is
// no such process or no /proc.
func readProc(pid int) procStat {
	st := procStat{taken: time.Now()}
	if pid <= 0 {
		return st
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st
	}
	// The command name is in parentheses and may hold spaces: split after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return st
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return st
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	st.cpu = time.Duration(ut+stt) * time.Second / clockTicks
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st
	}
	for _, line := range strings.Split(string(s), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			st.rss = kb << 10
		case "VmHWM":
			st.hwm = kb << 10
		}
	}
	st.read = true
	return st
}

// loadAverage answers the one-minute load average from /proc/loadavg, -1 if unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// goMetrics reads a few of the Go runtime's figures from the server's /metrics
// (base is its metrics listener).
func goMetrics(base string) (heapInuse, stackInuse, goroutines float64, ok bool) {
	m, ok := scrapeMetrics(base, "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines")
	return m["go_memstats_heap_inuse_bytes"], m["go_memstats_stack_inuse_bytes"], m["go_goroutines"], ok
}

// gcCount answers how many garbage collections the server has finished.
func gcCount(base string) (int64, bool) {
	m, ok := scrapeMetrics(base, "go_gc_duration_seconds_count")
	return int64(m["go_gc_duration_seconds_count"]), ok
}

// scrapeMetrics reads the named unlabelled series from the server's /metrics, and
// answers whether it found them all.
func scrapeMetrics(base string, names ...string) (map[string]float64, bool) {
	if base == "" {
		return nil, false
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out, len(out) == len(names)
}
