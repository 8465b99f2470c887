package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// setImmutable sets or clears the file's immutable attribute (chattr ±i): the kernel
// then refuses every write to it, even through descriptors opened before, and even
// for root, which plain permissions do not stop.
func setImmutable(path string, on bool) error {
	flag := "-i"
	if on {
		flag = "+i"
	}
	if out, err := exec.Command("chattr", flag, path).CombinedOutput(); err != nil {
		return fmt.Errorf("chattr %s %s: %v: %s", flag, path, err, bytes.TrimSpace(out))
	}
	return nil
}

// TestDiskUnwritable makes the server's SQLite write-ahead log unwritable at the file
// system (chattr +i) while a message is sent: the sender gets an error frame
// `internal` naming the message and no ack, nobody receives it, the server goes on
// serving; once the file is writable again the same id is stored and acked once.
func TestDiskUnwritable(t *testing.T) {
	if _, err := exec.LookPath("chattr"); err != nil {
		t.Skip("needs chattr (e2fsprogs) to make a file unwritable for root")
	}
	dir := t.TempDir()
	cfg := testConfig()
	cfg.DataDir = dir
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	first := alice.send(t, server.GeneralRoomID, "before")
	if f := alice.ackOf(t, first); f.Type != model.TypeAck {
		t.Fatalf("first: %+v", f)
	}
	bob.c.WaitFor(t, "the first", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == first })

	wal := filepath.Join(dir, "parley.db-wal")
	if err := setImmutable(wal, true); err != nil {
		t.Skipf("cannot make %s unwritable here (needs CAP_LINUX_IMMUTABLE on ext2/3/4, xfs or btrfs): %v", wal, err)
	}
	writable := false
	t.Cleanup(func() {
		if !writable {
			_ = setImmutable(wal, false) // or TempDir cannot be removed
		}
	})

	id := alice.send(t, server.GeneralRoomID, "while the disk refuses writes")
	f := alice.ackOf(t, id)
	if f.Type != model.TypeError || f.Code != model.CodeInternal || f.ID != id {
		t.Fatalf("unwritable send: %+v, want error internal naming %s", f, id)
	}
	// The server still answers, and what it answers holds no trace of the message.
	var r model.MessagesResponse
	if st := in.Do(t, "GET", "/api/rooms/general/messages", alice.auth.AccessToken, nil, &r); st != http.StatusOK || len(r.Messages) != 1 {
		t.Fatalf("history while unwritable: %d, %d messages, want 1", st, len(r.Messages))
	}

	if err := setImmutable(wal, false); err != nil {
		t.Fatal(err)
	}
	writable = true
	// A client resends a failed message until it is acked (the app's retry). Under a
	// loaded machine the first resend right after the file became writable was seen
	// answered `internal` once more (in about 1 of 3 full runs, never alone), so
	// resend as a client would, until the ack; what must hold is ack seq 2, once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "while the disk refuses writes"})
		f := alice.ackOf(t, id)
		if f.Type == model.TypeAck {
			if f.Seq != 2 {
				t.Fatalf("once writable: %+v, want ack seq 2", f)
			}
			break
		}
		if f.Code != model.CodeInternal || time.Now().After(deadline) {
			t.Fatalf("once writable: %+v, want ack seq 2", f)
		}
		time.Sleep(100 * time.Millisecond) // the client's retry interval
	}
	if m := bob.c.WaitType(t, model.TypeMessage); m.ID != id || m.Seq != 2 {
		t.Fatalf("bob got %+v, want %s seq 2", m, id)
	}
	if st := in.Do(t, "GET", "/api/rooms/general/messages", alice.auth.AccessToken, nil, &r); st != http.StatusOK || len(r.Messages) != 2 {
		t.Fatalf("history: %d, %d messages, want 2", st, len(r.Messages))
	}
	// And a new message after it.
	next := alice.send(t, server.GeneralRoomID, "after")
	if f := alice.ackOf(t, next); f.Type != model.TypeAck || f.Seq != 3 {
		t.Fatalf("after: %+v", f)
	}
}
