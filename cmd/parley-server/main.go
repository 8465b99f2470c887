package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/server"
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 4500 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed flags.
type options struct {
	cfg      server.Config
	secret   string
	origins  string
	logLevel string
	cpuProf  string
	memProf  string
	memTrim  time.Duration
	proxies  string
	metrics  string
	drain    time.Duration
}

// parse reads flags, then fills every flag not given from its PARLEY_ variable.
func parse(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("parley-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.cfg.Listen, "listen", "127.0.0.1:8787", "address to serve on")
	fs.StringVar(&o.metrics, "metrics-listen", "127.0.0.1:9787", "address of the operator's listener for /metrics (never served on -listen); empty: none")
	fs.StringVar(&o.cfg.DataDir, "data", "./parley-data", "folder for the SQLite file and generated secrets")
	fs.StringVar(&o.cfg.DSN, "db", "", "database: a postgres:// URL, or a SQLite path or file: DSN; empty means SQLite in -data")
	fs.StringVar(&o.cfg.NATSURL, "nats", "", "NATS URL (nats://host:4222) shared by several nodes; empty: one node, events in memory")
	fs.DurationVar(&o.drain, "drain", 10*time.Second, "at SIGTERM, close the WebSockets (1001) spread over this long, so clients move to other nodes gradually")
	fs.StringVar(&o.secret, "jwt-secret", "", "secret that signs access tokens (at least 16 bytes); empty: generated once and kept in -data")
	fs.DurationVar(&o.cfg.AccessTTL, "access-ttl", 15*time.Minute, "access token lifetime")
	fs.DurationVar(&o.cfg.RefreshTTL, "refresh-ttl", 720*time.Hour, "refresh token lifetime")
	fs.DurationVar(&o.cfg.PresenceGrace, "presence-grace", 12*time.Second, "how long a user stays online after the last connection closes")
	fs.Float64Var(&o.cfg.MsgRate, "msg-rate", 10, "messages a second per user")
	fs.IntVar(&o.cfg.MsgBurst, "msg-burst", 20, "message burst per user")
	fs.StringVar(&o.origins, "allowed-origins", "", "comma-separated browser Origins allowed on /ws (full origins or host patterns)")
	fs.StringVar(&o.cfg.TLSCert, "tls-cert", "", "TLS certificate file (with -tls-key: serve HTTPS)")
	fs.StringVar(&o.cfg.TLSKey, "tls-key", "", "TLS key file")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile to this file until shutdown (for load tests)")
	fs.StringVar(&o.memProf, "memprofile", "", "write a heap profile to this file at shutdown (for load tests)")
	fs.DurationVar(&o.memTrim, "mem-trim", 30*time.Second, "how often to give free heap memory (32 MiB or more) back to the system; 0: never")
	fs.IntVar(&o.cfg.RegisterLimit, "register-limit", 10, "registrations a minute per address (and 100 times that of all addresses) before 429; 0: no limit (load tools)")
	fs.StringVar(&o.proxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client, for the limits and logs")
	fs.Int64Var(&o.cfg.UploadMax, "upload-max", 25<<20, "largest upload in bytes; larger ones are refused with 413 and not read on")
	fs.Int64Var(&o.cfg.UploadQuota, "upload-quota", 1<<30, "bytes one user may upload in 24 hours")
	fs.IntVar(&o.cfg.SendQueueBytes, "send-queue-bytes", 1<<20, "bytes of frames a connection may have waiting to be written; past it the connection is closed 1013 (it reconnects and syncs)")
	fs.IntVar(&o.cfg.BcryptCost, "bcrypt-cost", 0, "password hashing cost, for load tests only (4 registers thousands of users quickly); 0 means the safe default")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		env := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %v", env, e)
			}
		}
	})
	if err != nil {
		return o, err
	}
	return o, o.check()
}

// check validates the values flags cannot.
func (o *options) check() error {
	c := &o.cfg
	switch {
	case c.AccessTTL <= 0 || c.RefreshTTL <= 0:
		return errors.New("-access-ttl and -refresh-ttl must be positive")
	case c.PresenceGrace < 0:
		return errors.New("-presence-grace must not be negative")
	case c.MsgRate <= 0 || c.MsgBurst <= 0:
		return errors.New("-msg-rate and -msg-burst must be positive")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("-tls-cert and -tls-key go together")
	case o.secret != "" && len(o.secret) < 16:
		return errors.New("-jwt-secret must be at least 16 bytes")
	case o.memTrim < 0:
		return errors.New("-mem-trim must not be negative")
	case o.drain < 0:
		return errors.New("-drain must not be negative")
	case c.SendQueueBytes < 0:
		return errors.New("-send-queue-bytes must not be negative")
	case c.NATSURL != "" && !strings.HasPrefix(c.NATSURL, "nats://") && !strings.HasPrefix(c.NATSURL, "tls://"):
		return fmt.Errorf("-nats %q: want nats://host:port", c.NATSURL)
	case c.DataDir == "":
		return errors.New("-data must name a folder")
	case c.UploadMax <= 0 || c.UploadQuota <= 0:
		return errors.New("-upload-max and -upload-quota must be positive")
	case c.RegisterLimit < 0:
		return errors.New("-register-limit must not be negative")
	case c.BcryptCost != 0 && (c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost):
		return fmt.Errorf("-bcrypt-cost must be 0 or between %d and %d", bcrypt.MinCost, bcrypt.MaxCost)
	}
	if c.PresenceGrace == 0 {
		c.PresenceGrace = -1 // zero in Config means the default; here it means none
	}
	if c.RegisterLimit == 0 {
		c.RegisterLimit = -1 // the same: here zero turns the limit off
	}
	proxies, err := server.ParseProxies(o.proxies)
	if err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	c.TrustedProxies = proxies
	if o.secret != "" {
		c.JWTSecret = []byte(o.secret)
	}
	for _, p := range strings.Split(o.origins, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, p)
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", o.logLevel)
	}
	return nil
}

// run is the whole program: it serves until ctx ends and answers the exit code:
// 0 after a graceful shutdown, 2 for bad flags or an unusable data folder, 1 otherwise.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	o, err := parse(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "usage: parley-server [flags]; see README.md for the flags and their PARLEY_ variables")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley-server: %v\n", err)
		return 2
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(o.logLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	o.cfg.Logger = log
	stopProfiles, err := startProfiles(o.cpuProf, o.memProf)
	if err != nil {
		fmt.Fprintf(stderr, "parley-server: %v\n", err)
		return 2
	}
	defer stopProfiles()

	srv, err := server.New(o.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "parley-server: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", o.cfg.Listen)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		fmt.Fprintf(stderr, "parley-server: %v\n", err)
		return 2
	}
	var mln net.Listener
	if o.metrics != "" {
		if mln, err = net.Listen("tcp", o.metrics); err != nil {
			_ = ln.Close()
			_ = srv.Shutdown(context.Background())
			fmt.Fprintf(stderr, "parley-server: metrics: %v\n", err)
			return 2
		}
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	if mln != nil {
		go func() {
			if err := srv.ServeMetrics(mln); err != nil {
				served <- err
			}
		}()
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	if o.memTrim > 0 {
		tctx, stopTrim := context.WithCancel(ctx)
		defer stopTrim()
		go trimMemory(tctx, o.memTrim, log)
	}
	log.Info("serving", "url", srv.URL(ln), "data", o.cfg.DataDir)

	select {
	case <-ctx.Done():
		log.Info("draining", "over", o.drain)
		dctx, cancel := context.WithTimeout(context.Background(), o.drain+shutdownTimeout)
		if err := srv.Drain(dctx, o.drain); err != nil {
			log.Warn("drain", "err", err)
		}
		cancel()
		log.Info("shutting down")
	case err := <-served:
		log.Error("serve", "err", err)
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if err := <-served; err != nil {
		log.Warn("serve", "err", err)
	}
	log.Info("stopped")
	return 0
}
