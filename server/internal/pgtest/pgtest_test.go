package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m).Run()) }

// TestServer creates two databases, sees each answer, and stops and starts the server.
func TestServer(t *testing.T) {
	s := Shared(t)
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	if a == b {
		t.Fatalf("one DSN for two databases: %s", a)
	}
	for _, dsn := range []string{a, b} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var one int
		if err := db.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("%s: %d %v", dsn, one, err)
		}
	}
	if s.cluster == nil {
		t.Log("the server " + EnvDSN + " names is not stopped")
		return
	}
	s.Stop(t)
	db, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(context.Background()); err == nil {
		t.Fatal("stopped server answers")
	}
	s.Start(t)
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("after start: %v", err)
	}
}
