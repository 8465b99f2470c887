package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // the "sqlite" driver, to hold a lock on the server's file
	"go.uber.org/goleak"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestDatabaseLocked holds an exclusive lock on the server's SQLite file from another
// connection (BEGIN EXCLUSIVE) while a message is sent: the sender gets an error frame
// `internal` naming the message and no ack; once the lock is released, the same id
// sent again is stored and acked, once.
func TestDatabaseLocked(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.DataDir = dir
	path := filepath.Join(dir, "parley.db")
	// A short busy timeout so the locked write fails quickly.
	cfg.DSN = "file:" + filepath.ToSlash(path) + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(200)&_pragma=foreign_keys(1)&_txlock=immediate"
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	first := alice.send(t, server.GeneralRoomID, "before the lock")
	if f := alice.ackOf(t, first); f.Type != model.TypeAck {
		t.Fatalf("first: %+v", f)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("begin exclusive: %v", err)
	}

	id := alice.send(t, server.GeneralRoomID, "while locked")
	f := alice.ackOf(t, id)
	if f.Type != model.TypeError || f.Code != model.CodeInternal || f.ID != id {
		t.Fatalf("locked send: %+v, want error internal naming %s", f, id)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("rollback: %v", err)
	}

	// Recovery: the same id again.
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "while locked"})
	if f := alice.ackOf(t, id); f.Type != model.TypeAck || f.Seq != 2 {
		t.Fatalf("after unlock: %+v, want ack seq 2", f)
	}
	bob.c.WaitFor(t, "the first", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == first })
	if m := bob.c.WaitType(t, model.TypeMessage); m.ID != id || m.Seq != 2 {
		t.Fatalf("bob got %+v", m)
	}
	var r model.MessagesResponse
	if st := in.Do(t, "GET", "/api/rooms/general/messages", alice.auth.AccessToken, nil, &r); st != http.StatusOK || len(r.Messages) != 2 {
		t.Fatalf("history: %d %d messages, want 2", st, len(r.Messages))
	}
}

// TestConnectCycles connects and disconnects one user over and over (200 times here,
// 1,000 with -tags soak): the server's open-connections gauge goes back to 0, no
// goroutine is left behind, and the heap does not grow with the cycles.
func TestConnectCycles(t *testing.T) {
	in := servertest.Start(t, testConfig())
	a := in.Register(t, "alice", password)
	warm := in.Dial(t, a.AccessToken)
	warm.WaitType(t, model.TypeHello)
	warm.Close()
	waitMetric(t, in, "parley_connections_open 0")
	ignore := goleak.IgnoreCurrent()
	before := heapAfterGC()

	cycles := 200
	if soak {
		cycles = 1000
	}
	for i := range cycles {
		c, _, err := in.DialErr(a.AccessToken, nil)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if b, err := c.NextRaw(servertest.DefaultWait); err != nil || len(b) == 0 {
			t.Fatalf("cycle %d: hello: %v", i, err)
		}
		if i%2 == 0 {
			c.Close()
		} else {
			_ = c.Conn.CloseNow() // an abrupt end, no close handshake
		}
	}
	waitMetric(t, in, "parley_connections_open 0")
	deadline := time.Now().Add(servertest.DefaultWait)
	for {
		err := goleak.Find(ignore)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after %d cycles: %v", cycles, err)
		}
		time.Sleep(20 * time.Millisecond) // polling: goroutines end without telling anyone
	}
	after := heapAfterGC()
	t.Logf("%d connect/disconnect cycles: heap %d KiB before, %d KiB after", cycles, before>>10, after>>10)
	if after > before+16<<20 {
		t.Fatalf("heap grew from %d to %d bytes over %d cycles", before, after, cycles)
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
