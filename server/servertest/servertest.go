package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/internal/pgtest"
)

// Instance is a running test server.
type Instance struct {
	URL   string // http://127.0.0.1:port
	WSURL string // ws://127.0.0.1:port/ws
	// MetricsURL is the metrics listener's http://127.0.0.1:port: GET MetricsURL+"/metrics"
	// (the public listener does not serve it).
	MetricsURL string
	DataDir    string
	Config     server.Config // as passed to server.New (DataDir filled in)
	Server     *server.Server

	mu      sync.Mutex
	ln      net.Listener
	served  chan error
	metrics chan error
	stopped bool
}

// EnvDB names the environment variable that, set to "postgres", puts every server
// Start runs without a DSN or Store of its own on a fresh PostgreSQL database (pgtest),
// so that a package's whole suite runs on PostgreSQL:
// PARLEY_TEST_SERVER_DB=postgres go test ./server. The package's TestMain wraps its m
// in pgtest.Main.
const EnvDB = "PARLEY_TEST_SERVER_DB"

// Start runs a server with cfg on 127.0.0.1:0 until the test ends. An empty DataDir
// becomes t.TempDir(); a zero BcryptCost becomes bcrypt.MinCost so registration is
// fast; a zero RegisterLimit turns the registration limit off (tests register many
// users from one address; a test of the limit sets it). The JWT secret, unless given,
// is generated and kept in the data folder, so tokens survive Restart.
func Start(t testing.TB, cfg server.Config) *Instance {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	switch db := os.Getenv(EnvDB); {
	case db == "postgres" && cfg.DSN == "" && cfg.Store == nil:
		cfg.DSN = pgtest.Shared(t).NewDatabase(t)
	case db != "" && db != "postgres" && db != "sqlite":
		t.Fatalf("servertest: %s=%q: want postgres or sqlite", EnvDB, db)
	}
	in, err := Run(cfg)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	t.Cleanup(func() { in.Stop(t) })
	return in
}

// Run is Start for a caller without a testing.TB (a runnable Example): cfg.DataDir
// must name a folder, and the caller stops the server with Close.
func Run(cfg server.Config) (*Instance, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("servertest: Run needs a DataDir")
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.MinCost
	}
	if cfg.RegisterLimit == 0 {
		cfg.RegisterLimit = -1
	}
	in := &Instance{DataDir: cfg.DataDir, Config: cfg}
	if err := in.start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *Instance) start(addr string) error {
	srv, err := server.New(in.Config)
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && addr != "127.0.0.1:0" {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = ln.Close()
		_ = srv.Shutdown(context.Background())
		return fmt.Errorf("listen for metrics: %w", err)
	}
	served, metrics := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() { metrics <- srv.ServeMetrics(mln) }()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.Server, in.ln, in.served, in.metrics, in.stopped = srv, ln, served, metrics, false
	in.MetricsURL = "http://" + mln.Addr().String()
	in.URL = "http://" + ln.Addr().String()
	in.WSURL = "ws://" + ln.Addr().String() + "/ws"
	return nil
}

// Addr is the server's host:port.
func (in *Instance) Addr() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ln.Addr().String()
}

// Stop shuts the server down (closing every socket with 1001) and waits for it.
// Stopping twice is harmless.
func (in *Instance) Stop(t testing.TB) {
	t.Helper()
	if err := in.Close(); err != nil {
		t.Errorf("servertest: %v", err)
	}
}

// Close is Stop for a caller without a testing.TB.
func (in *Instance) Close() error {
	in.mu.Lock()
	if in.stopped {
		in.mu.Unlock()
		return nil
	}
	in.stopped = true
	srv, served, metrics := in.Server, in.served, in.metrics
	in.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	if err := <-served; err != nil {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	if err := <-metrics; err != nil {
		errs = append(errs, fmt.Errorf("serve metrics: %w", err))
	}
	return errors.Join(errs...)
}

// Restart stops the server and starts it again on the same data folder, on the same
// address when it is still free.
func (in *Instance) Restart(t testing.TB) {
	t.Helper()
	addr := in.Addr()
	in.Stop(t)
	if err := in.start(addr); err != nil {
		t.Fatalf("servertest: restart: %v", err)
	}
}

// Do sends a JSON request (body may be nil) with an optional bearer token and decodes
// a JSON answer into out (may be nil). It answers the status code.
func (in *Instance) Do(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("servertest: encode body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.URL+path, rd)
	if err != nil {
		t.Fatalf("servertest: request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("servertest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("servertest: read %s %s: %v", method, path, err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("servertest: decode %s %s (%d %s): %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// Register creates an account (display name = username) and answers its tokens.
func (in *Instance) Register(t testing.TB, username, password string) model.AuthResponse {
	t.Helper()
	var out model.AuthResponse
	st := in.Do(t, http.MethodPost, "/api/register", "", model.RegisterRequest{Username: username, Password: password, DisplayName: username}, &out)
	if st != http.StatusCreated {
		t.Fatalf("servertest: register %s: status %d", username, st)
	}
	return out
}

// Login logs in and answers the tokens.
func (in *Instance) Login(t testing.TB, username, password string) model.AuthResponse {
	t.Helper()
	var out model.AuthResponse
	if st := in.Do(t, http.MethodPost, "/api/login", "", model.LoginRequest{Username: username, Password: password}, &out); st != http.StatusOK {
		t.Fatalf("servertest: login %s: status %d", username, st)
	}
	return out
}

// errNoFrame is what Next reports when no frame came in time.
var errNoFrame = errors.New("no frame before the deadline")

// describe shortens a raw frame for failure messages.
func describe(b []byte) string {
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.TrimSpace(s)
}

// check is used by Client to report failures; kept here so both files share it.
func check(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("servertest: %s: %v", what, err)
	}
}
