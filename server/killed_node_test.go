package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// nodeEnv, set to a nodeSpec in JSON, makes this test binary a server node (TestMain)
// instead of running tests: a node in a process of its own, which a test can SIGKILL.
const nodeEnv = "PARLEY_TEST_NODE"

type nodeSpec struct {
	DSN, NATSURL, DataDir string
	Secret                []byte
	Grace, Beat           time.Duration
}

// runNodeProcess serves a node as spec says until the process is killed. It prints
// "listening ADDR" when it accepts connections.
func runNodeProcess(spec string) int {
	var s nodeSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "node spec:", err)
		return 2
	}
	cfg := testConfig()
	cfg.DSN, cfg.NATSURL, cfg.DataDir, cfg.JWTSecret = s.DSN, s.NATSURL, s.DataDir, s.Secret
	cfg.PresenceGrace, cfg.NodeBeat, cfg.BcryptCost = s.Grace, s.Beat, bcrypt.MinCost
	srv, err := server.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	fmt.Printf("listening %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	return 0
}

// startNodeProcess runs a node of c in a child process; the test kills it at the end
// if it has not already.
func startNodeProcess(t *testing.T, c *cluster, grace time.Duration) (*servertest.Instance, *exec.Cmd) {
	t.Helper()
	spec, err := json.Marshal(nodeSpec{DSN: c.dsn, NATSURL: c.nats.URL, DataDir: t.TempDir(), Secret: clusterSecret,
		Grace: grace, Beat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node process: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(strings.TrimPrefix(line, "listening "))
		_, _ = bufio.NewReader(out).WriteTo(discard{})
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("node process did not start")
	}
	if a == "" {
		t.Fatal("node process failed to start")
	}
	return &servertest.Instance{URL: "http://" + a, WSURL: "ws://" + a + "/ws"}, cmd
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// outboxSender sends a message every interval as the client's outbox does: each one
// is resent, with the same id, until it is acked, and a lost connection is dialled
// again on the next node of its list. The caller closes its last client.
type outboxSender struct {
	auth  model.AuthResponse
	c     *servertest.Client
	nodes []*servertest.Instance // where to reconnect, in order
	moved chan struct{}          // closed at the first reconnect
}

func (s *outboxSender) run(l *load, node int, interval time.Duration) {
	defer l.wg.Done()
	for k := 0; ; k++ {
		select {
		case <-l.stop:
			return
		case <-time.After(interval):
		}
		id := model.NewMessageID()
		frame := model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: fmt.Sprintf("n%d-%d", node, k)}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if time.Now().After(deadline) {
				l.t.Errorf("sender %d: %s never acked", node, id)
				return
			}
			err := s.c.SendErr(frame)
			var f model.Frame
			if err == nil {
				f, err = s.c.WaitForErr(func(f model.Frame) bool {
					return (f.Type == model.TypeAck || f.Type == model.TypeError) && f.ID == id
				}, 5*time.Second)
			}
			if err == nil && f.Type == model.TypeAck {
				l.mu.Lock()
				if seq, ok := l.acked[id]; ok && seq != f.Seq {
					l.t.Errorf("%s acked as %d and as %d", id, seq, f.Seq)
				}
				l.acked[id] = f.Seq
				l.mu.Unlock()
				break
			}
			if err == nil {
				continue // an error frame: resend
			}
			s.reconnect(l)
		}
	}
}

// reconnect dials the first node of the list that answers.
func (s *outboxSender) reconnect(l *load) {
	s.c.Close()
	for {
		for _, n := range s.nodes {
			c, _, err := n.DialErr(s.auth.AccessToken, nil)
			if err != nil {
				continue
			}
			if _, err := c.WaitForErr(func(f model.Frame) bool { return f.Type == model.TypeHello }, 10*time.Second); err != nil {
				c.Close()
				continue
			}
			s.c = c
			select {
			case <-s.moved:
			default:
				close(s.moved)
			}
			return
		}
		select {
		case <-l.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestKilledNodeClientsMoveAndLoseNothing: node A, a process of its own, is SIGKILLed
// while its clients and node B's send; A's sender reconnects to B and resends what was
// not acked, A's watcher reconnects to B and syncs. Every message is stored once with
// gap-free seqs, B's watcher gets each once in order, A's watcher ends up with all,
// and B announces A's user who did not come back as gone after the grace.
func TestKilledNodeClientsMoveAndLoseNothing(t *testing.T) {
	c := &cluster{nats: servertest.StartNATS(t), dsn: sharedDB(t)}
	const grace = 2 * time.Second
	a, proc := startNodeProcess(t, c, grace)
	b := servertest.Start(t, c.config(1, func(_ int, cfg *server.Config) { cfg.PresenceGrace = grace }))

	l := &load{t: t, acked: make(map[string]int64), stop: make(chan struct{})}
	watcherA, watcherB := connect(t, a, "watchera"), connect(t, b, "watcherb")
	idle := connect(t, a, "idle")
	seesOnline(t, watcherB, idle.auth.UserID)
	senderA := &outboxSender{auth: a.Register(t, "sendera", password), nodes: []*servertest.Instance{b}, moved: make(chan struct{})}
	senderA.c = dialAs(t, a, senderA.auth).c
	senderB := &outboxSender{auth: b.Register(t, "senderb", password), nodes: []*servertest.Instance{b}, moved: make(chan struct{})}
	senderB.c = dialAs(t, b, senderB.auth).c
	l.wg.Add(2)
	go senderA.run(l, 0, 2*time.Millisecond)
	go senderB.run(l, 1, 2*time.Millisecond)
	acked := func(n int) func() bool {
		return func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return len(l.acked) >= n
		}
	}
	waitUntil(t, "100 acks", acked(100))
	if err := proc.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL node A: %v", err)
	}
	killed := time.Now()
	<-senderA.moved
	l.mu.Lock()
	n := len(l.acked)
	l.mu.Unlock()
	waitUntil(t, "100 acks after the kill", acked(n+100))
	close(l.stop)
	l.wg.Wait()
	t.Cleanup(func() { senderA.c.Close(); senderB.c.Close() }) // their last sockets stay open until the end

	// Every message stored once, seqs 1..N.
	l.mu.Lock()
	total := int64(len(l.acked))
	seen := make(map[int64]bool)
	for _, s := range l.acked {
		if seen[s] || s < 1 || s > total {
			t.Fatalf("acked seq %d twice or outside 1..%d", s, total)
		}
		seen[s] = true
	}
	l.mu.Unlock()

	// B's watcher: each once, in order, and of the sender who moved only the
	// user_joined of the sender's first connect.
	joined := 0
	for want := int64(1); want <= total; want++ {
		m := watcherB.c.WaitFor(t, "a message", func(f model.Frame) bool {
			if f.UserID == senderA.auth.UserID && f.Type == model.TypeUserJoined {
				joined++
			}
			if f.UserID == senderA.auth.UserID && (f.Type == model.TypeUserLeft || joined > 1) {
				t.Fatalf("watcher on B heard %s of the sender who moved within the grace", f.Type)
			}
			return f.Type == model.TypeMessage
		})
		if m.Seq != want {
			t.Fatalf("watcher on B: seq %d, want %d", m.Seq, want)
		}
	}
	// A's watcher: what came before the kill, in order, then the rest by a sync on B.
	var last int64
	for _, f := range watcherA.c.Drain(t) {
		if f.Type != model.TypeMessage {
			continue
		}
		if f.Seq != last+1 {
			t.Fatalf("watcher on A: seq %d after %d", f.Seq, last)
		}
		last = f.Seq
	}
	moved := reconnect(t, b, watcherA)
	moved.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: last})
	for last < total {
		f := moved.c.WaitFor(t, "the rest", func(f model.Frame) bool { return f.Type == model.TypeMessage || f.Type == model.TypeSynced })
		if f.Type == model.TypeSynced {
			if f.More {
				moved.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: last})
			}
			continue
		}
		if f.Seq == last+1 {
			last = f.Seq
		}
	}

	// Presence: the idle user of A is gone for B's watcher after the grace; the
	// sender who moved is not.
	leftNotMoved(t, watcherB, idle.auth.UserID, senderA.auth.UserID) // the first user_joined was taken above or is in hello
	if since := time.Since(killed); since < grace-500*time.Millisecond {
		t.Fatalf("idle left %v after the kill, before the grace", since)
	}
}
