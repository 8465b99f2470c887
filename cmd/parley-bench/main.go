package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed flags.
type options struct {
	serverCmd  string
	url        string
	pid        int
	killPID    int
	metricsURL string
	jsonOut    string
	workDir    string
	cpuProf    string

	duration time.Duration
	members  int
	senders  int
	rate     float64
	rooms    int
	roomRate float64
	conns    int
	window   int
	settle   time.Duration
	steady   time.Duration
	parallel int
}

const usage = `usage: parley-bench [flags] SCENARIO...
       parley-bench plot -out FILE.png REPORT.json...
       parley-bench summary REPORT.json... GOBENCH.txt...

Scenarios: fanout, rooms, acks, idle, storm (storm needs -server-cmd, or -url with
-kill-pid).
Give -server-cmd (the bench starts a fresh server per scenario, on a free loopback port
with a temporary -data and load-test limits) or -url (a running server; -pid names its
process for CPU and RSS, -metrics-url its metrics listener; it needs -register-limit 0).
With -url, storm SIGKILLs the process -kill-pid names (one node behind a load balancer)
and does not restart it: the clients must come back through -url to the others.
The table goes to stdout, the reports as JSON to -json.`

func parse(args []string) (options, []string, error) {
	var o options
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.serverCmd, "server-cmd", "", "server binary and its extra flags, e.g. ./bin/parley-server")
	fs.StringVar(&o.url, "url", "", "URL of a running server (http://127.0.0.1:8787); loopback only")
	fs.IntVar(&o.pid, "pid", 0, "with -url: the server's pid, for CPU and RSS")
	fs.IntVar(&o.killPID, "kill-pid", 0, "with -url: storm SIGKILLs this process (one node of several behind -url) instead of restarting a server of its own")
	fs.StringVar(&o.metricsURL, "metrics-url", "", "with -url: the server's metrics listener (http://127.0.0.1:9787), for its Go heap figures")
	fs.StringVar(&o.jsonOut, "json", "", "write the reports as a JSON array to this file (- for stdout)")
	fs.StringVar(&o.workDir, "workdir", "", "folder for the servers' temporary data (default: the system's temp folder)")
	fs.StringVar(&o.cpuProf, "cpuprofile", "", "write the bench's own CPU profile to this file")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario sends (at most 60s)")
	fs.IntVar(&o.members, "members", 1000, "fanout: members of the room")
	fs.IntVar(&o.senders, "senders", 10, "fanout and acks: how many members send")
	fs.Float64Var(&o.rate, "rate", 50, "fanout: messages a second, all senders together")
	fs.IntVar(&o.rooms, "rooms", 1000, "rooms: direct rooms")
	fs.Float64Var(&o.roomRate, "room-rate", 2, "rooms: messages a second in each room")
	fs.IntVar(&o.conns, "conns", 1000, "idle and storm: connections")
	fs.IntVar(&o.window, "window", 64, "acks: messages in flight per sender")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "idle: wait after the last connection before measuring")
	fs.DurationVar(&o.steady, "steady", 150*time.Second, "idle: then wait up to this long for the server's own next garbage collection and measure again (0: don't)")
	fs.IntVar(&o.parallel, "parallel", 32, "concurrent registrations and dials during set-up")
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	switch {
	case (o.serverCmd == "") == (o.url == ""):
		return o, nil, errors.New("give exactly one of -server-cmd and -url")
	case o.duration <= 0 || o.duration > time.Minute:
		return o, nil, errors.New("-duration must be in (0, 60s]")
	case o.members < 1 || o.senders < 1 || o.senders > o.members || o.rate <= 0:
		return o, nil, errors.New("fanout needs 1 <= -senders <= -members and -rate > 0")
	case o.rooms < 1 || o.roomRate <= 0 || o.conns < 1 || o.window < 1 || o.parallel < 1:
		return o, nil, errors.New("-rooms, -room-rate, -conns, -window and -parallel must be positive")
	case fs.NArg() == 0:
		return o, nil, errors.New("name at least one scenario")
	}
	if o.url != "" && !loopbackURL(o.url) {
		return o, nil, fmt.Errorf("-url %q is not a loopback address", o.url)
	}
	for _, s := range fs.Args() {
		if _, ok := scenarios[s]; !ok {
			return o, nil, fmt.Errorf("unknown scenario %q", s)
		}
		if s == "storm" && o.serverCmd == "" && o.killPID <= 0 {
			return o, nil, errors.New("storm kills a server: it needs -server-cmd, or -url with -kill-pid")
		}
	}
	switch {
	case o.killPID < 0:
		return o, nil, errors.New("-kill-pid must be a pid")
	case o.killPID > 0 && o.url == "":
		return o, nil, errors.New("-kill-pid goes with -url (with -server-cmd storm kills the server it started)")
	case o.killPID > 0 && o.killPID == os.Getpid():
		return o, nil, errors.New("-kill-pid names the bench itself")
	}
	return o, fs.Args(), nil
}

// loopbackURL reports whether u names a loopback host.
func loopbackURL(u string) bool {
	for _, p := range []string{"http://127.", "http://localhost:", "http://[::1]:", "https://127.", "https://localhost:", "https://[::1]:"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// scenario runs one measurement against env.
type scenario func(ctx context.Context, e *env) (Report, error)

var scenarios = map[string]scenario{
	"fanout": runFanout,
	"rooms":  runRooms,
	"acks":   runAcks,
	"idle":   runIdle,
	"storm":  runStorm,
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "plot" {
		if err := runPlot(args[1:]); err != nil {
			fmt.Fprintf(stderr, "parley-bench plot: %v\n", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 && args[0] == "summary" {
		if err := runSummary(args[1:], stdout); err != nil {
			fmt.Fprintf(stderr, "parley-bench summary: %v\n", err)
			return 1
		}
		return 0
	}
	o, names, err := parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n%s\n", err, usage)
		return 2
	}
	raiseFileLimit()
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
		}
	}
	var reports []Report
	failed := false
	for _, name := range names {
		r, err := runOne(ctx, o, name, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "parley-bench: %s: %v\n", name, err)
			failed = true
		}
		if err == nil || r.Seconds > 0 {
			reports = append(reports, r)
		}
	}
	writeTable(stdout, reports)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(reports, "", "  ")
		b = append(b, '\n')
		if o.jsonOut == "-" {
			_, _ = stdout.Write(b)
		} else if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			fmt.Fprintf(stderr, "parley-bench: %v\n", err)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// runOne starts a fresh server when the bench manages one, runs the scenario with a
// hard bound on its time, and stops the server.
func runOne(ctx context.Context, o options, name string, stderr io.Writer) (Report, error) {
	// Set-up (registering thousands of users) comes on top of the measured window.
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	e := &env{opts: o, log: stderr, prefix: fmt.Sprintf("b%s", time.Now().Format("150405.000")[:6]+fmt.Sprint(time.Now().Nanosecond()%1000))}
	e.prefix = strings.ReplaceAll(e.prefix, ".", "")
	if o.serverCmd != "" {
		p, err := startServer(ctx, o.serverCmd, o.workDir)
		if err != nil {
			return Report{}, err
		}
		defer p.cleanup()
		defer p.stop()
		e.proc = p
		e.base, e.metrics = p.url(), p.metricsURL()
	} else {
		e.base, e.metrics = strings.TrimSuffix(o.url, "/"), strings.TrimSuffix(o.metricsURL, "/")
	}
	e.api = newAPI(e.base)
	defer e.api.http.CloseIdleConnections()
	e.wsURL = "ws" + strings.TrimPrefix(e.base, "http") + "/ws"
	fmt.Fprintf(stderr, "parley-bench: %s against %s\n", name, e.base)
	r, err := scenarios[name](ctx, e)
	r.Scenario = name
	r.LoadEnd = loadAverage()
	if e.proc != nil {
		lines := e.proc.errorLines()
		r.Server.Errors = len(lines)
		for i, l := range lines {
			if i == 3 {
				fmt.Fprintf(stderr, "server: ... %d more\n", len(lines)-i)
				break
			}
			fmt.Fprintf(stderr, "server: %s\n", l)
		}
	}
	return r, err
}

// env is what a scenario runs against.
type env struct {
	opts   options
	log    io.Writer
	prefix string
	base   string
	wsURL  string
	// metrics is the server's metrics listener; empty when unknown (-url without
	// -metrics-url): the Go heap figures are then left out.
	metrics string
	api     *api
	proc    *serverProc
}

// serverPID answers the pid to read /proc of, 0 when unknown.
func (e *env) serverPID() int {
	if e.proc != nil {
		return e.proc.pid()
	}
	return e.opts.pid
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "parley-bench: "+format+"\n", args...)
}
