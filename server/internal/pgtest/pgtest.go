package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvDSN names the environment variable with the DSN of an existing PostgreSQL server
// to test against (its user may create databases); unset, a throwaway cluster is started.
const EnvDSN = "PARLEY_TEST_PG"

// Server is a PostgreSQL server that tests create databases in.
type Server struct {
	base    *url.URL // the DSN of the maintenance database
	cluster *cluster // nil for the server EnvDSN names
	seq     atomic.Int64
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared answers the process's server, starting it at the first call. When no server
// can be had, t fails with the reason: PostgreSQL tests are never skipped silently.
// A package that calls it wraps its TestMain's m in Main, which stops the cluster; a
// test process that dies leaves the cluster's postgres a SIGINT (its temporary folder
// stays).
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = start() })
	if shared.err != nil {
		t.Fatalf("pgtest: no PostgreSQL server: %v", shared.err)
	}
	return shared.srv
}

// Main wraps m so that its Run stops the shared server after the tests:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }
func Main(m interface{ Run() int }) interface{ Run() int } { return mainM{m} }

type mainM struct{ m interface{ Run() int } }

func (w mainM) Run() int {
	code := w.m.Run()
	if shared.srv != nil && shared.srv.cluster != nil {
		if err := shared.srv.cluster.remove(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop PostgreSQL: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

func start() (*Server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvDSN, err)
		}
		s := &Server{base: u}
		return s, s.ping()
	}
	c, err := newCluster()
	if err != nil {
		return nil, err
	}
	s := &Server{base: c.dsn(), cluster: c}
	if err := s.ping(); err != nil {
		_ = c.remove()
		return nil, err
	}
	return s, nil
}

// admin opens the maintenance database.
func (s *Server) admin() (*sql.DB, error) {
	db, err := sql.Open("pgx", s.base.String())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.base.Redacted(), err)
	}
	return db, nil
}

func (s *Server) ping() error {
	db, err := s.admin()
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", s.base.Redacted(), err)
	}
	return nil
}

// NewDatabase creates an empty database for t, dropped when t ends, and answers its
// DSN. Close what uses it in a cleanup registered after this call.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("parley_test_%d_%d", os.Getpid(), s.seq.Add(1))
	db, err := s.admin()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = db.Close()
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *s.base
	u.Path = "/" + name
	return u.String()
}

// Stop shuts the server down (fast: open connections are cut) and waits for it, for
// tests of a database that goes away; Start brings it back. Every test of the process
// shares the server, so a test calling them must not run in parallel with others. A
// test calling them fails when the server is not this package's own (EnvDSN names one).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.own(); err != nil {
		t.Fatal(err)
	}
	if err := s.cluster.stop(); err != nil {
		t.Fatalf("pgtest: stop PostgreSQL: %v", err)
	}
}

// Start starts the server that Stop stopped, on the same port, and waits until it
// accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.own(); err != nil {
		t.Fatal(err)
	}
	if err := s.cluster.start(); err != nil {
		t.Fatalf("pgtest: start PostgreSQL: %v", err)
	}
	if err := s.ping(); err != nil {
		t.Fatalf("pgtest: after start: %v", err)
	}
}

func (s *Server) own() error {
	if s.cluster == nil {
		return errors.New("pgtest: the server " + EnvDSN + " names is not this test's to stop: unset " + EnvDSN + " to run this test")
	}
	return nil
}

// tail answers the last lines of s, for error messages quoting a log.
func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
