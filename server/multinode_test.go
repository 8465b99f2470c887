package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/internal/pgtest"
	"github.com/parleychat/parley/server/servertest"
)

// sharedDB answers the DSN of the one database every node of a test cluster uses: a
// fresh PostgreSQL database (pgtest), as several nodes are deployed. It is the one
// place that chooses the multi-node tests' store.
func sharedDB(t testing.TB) string {
	return pgtest.Shared(t).NewDatabase(t)
}

// cluster is several server nodes on one database and one NATS server.
type cluster struct {
	nats  *servertest.NATS
	dsn   string
	nodes []*servertest.Instance
}

// clusterSecret signs every node's tokens, so a client can move between nodes.
var clusterSecret = []byte("cluster-test-secret-0123456789")

// startCluster starts n nodes; tweak (may be nil) adjusts each node's configuration.
func startCluster(t *testing.T, n int, tweak func(i int, cfg *server.Config)) *cluster {
	t.Helper()
	c := &cluster{nats: servertest.StartNATS(t), dsn: sharedDB(t)}
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, servertest.Start(t, c.config(i, tweak)))
	}
	return c
}

func (c *cluster) config(i int, tweak func(int, *server.Config)) server.Config {
	cfg := testConfig()
	cfg.DSN = c.dsn
	cfg.JWTSecret = clusterSecret
	cfg.NATSURL = c.nats.URL
	cfg.NodeBeat = 100 * time.Millisecond
	if tweak != nil {
		tweak(i, &cfg)
	}
	return cfg
}

// frameOf waits for the next frame of type typ about userID.
func frameOf(t testing.TB, u *user, typ, userID string) model.Frame {
	t.Helper()
	return u.c.WaitFor(t, typ+" of "+userID, func(f model.Frame) bool { return f.Type == typ && f.UserID == userID })
}

// leftNotMoved waits for u to hear user_left of gone, and fails if u hears, before it
// or with it, user_left or user_joined of moved (who changed nodes within the grace).
func leftNotMoved(t testing.TB, u *user, gone, moved string) {
	t.Helper()
	check := func(f model.Frame) {
		if f.UserID == moved && (f.Type == model.TypeUserLeft || f.Type == model.TypeUserJoined) {
			t.Fatalf("heard %s of %s, who moved within the grace", f.Type, moved)
		}
	}
	u.c.WaitFor(t, "user_left of "+gone, func(f model.Frame) bool {
		check(f)
		return f.Type == model.TypeUserLeft && f.UserID == gone
	})
	for _, f := range u.c.Drain(t) {
		check(f)
	}
}

// seesOnline waits until u knows userID is online: listed in u's hello, or a
// user_joined later.
func seesOnline(t testing.TB, u *user, userID string) {
	t.Helper()
	if !contains(u.hello.Online, userID) {
		frameOf(t, u, model.TypeUserJoined, userID)
	}
}

// TestNodesShareChatPresenceTypingReceipts: users on two nodes chat in general and in
// a room made on one node, see each other come online, type, read, and sync.
func TestNodesShareChatPresenceTypingReceipts(t *testing.T) {
	c := startCluster(t, 2, nil)
	a, b := c.nodes[0], c.nodes[1]
	alice := connect(t, a, "alice")
	bob := connect(t, b, "bob")

	// Presence: alice (node A) hears of bob (node B); bob's hello lists alice.
	frameOf(t, alice, model.TypeUserJoined, bob.auth.UserID)
	seesOnline(t, bob, alice.auth.UserID)

	// Messages both ways, with gap-free seqs.
	id := alice.send(t, server.GeneralRoomID, "hi from A")
	if ack := alice.ackOf(t, id); ack.Type != model.TypeAck || ack.Seq != 1 {
		t.Fatalf("alice's ack %+v, want seq 1", ack)
	}
	if m := bob.c.WaitType(t, model.TypeMessage); m.Content != "hi from A" || m.Seq != 1 {
		t.Fatalf("bob got %q seq %d", m.Content, m.Seq)
	}
	id = bob.send(t, server.GeneralRoomID, "hi from B")
	if ack := bob.ackOf(t, id); ack.Seq != 2 {
		t.Fatalf("bob's ack %+v, want seq 2", ack)
	}
	for seq, want := range []string{1: "hi from A", 2: "hi from B"} {
		if seq == 0 {
			continue
		}
		if m := alice.c.WaitType(t, model.TypeMessage); m.Content != want || m.Seq != int64(seq) {
			t.Fatalf("alice got %q seq %d, want %q seq %d", m.Content, m.Seq, want, seq)
		}
	}

	// Typing and receipts cross nodes.
	alice.c.Send(t, model.TypingFrame{Type: model.TypeTyping, RoomID: server.GeneralRoomID})
	frameOf(t, bob, model.TypeTyping, alice.auth.UserID)
	bob.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: server.GeneralRoomID, Seq: 2})
	r := frameOf(t, alice, model.TypeReceipt, bob.auth.UserID)
	if r.ReadSeq != 2 {
		t.Fatalf("receipt %+v, want read 2 (node A knows seq 2 from B's message)", r)
	}

	// A room made on node A reaches bob on node B, and its messages follow.
	var room model.Room
	if st := a.Do(t, http.MethodPost, "/api/rooms", alice.auth.AccessToken,
		model.CreateRoomRequest{Name: "ab", MemberIDs: []string{bob.auth.UserID}}, &room); st != http.StatusCreated {
		t.Fatalf("create room: %d", st)
	}
	if f := bob.c.WaitType(t, model.TypeRoom); f.ID != room.ID {
		t.Fatalf("bob got room frame %+v, want %s", f, room.ID)
	}
	alice.send(t, room.ID, "in ab")
	if m := bob.c.WaitType(t, model.TypeMessage); m.RoomID != room.ID || m.Content != "in ab" {
		t.Fatalf("bob got %+v in the new room", m)
	}
	bob.send(t, room.ID, "back in ab")
	if m := alice.c.WaitFor(t, "bob's reply", func(f model.Frame) bool { return f.Content == "back in ab" }); m.Seq != 2 {
		t.Fatalf("reply seq %d, want 2", m.Seq)
	}

	// A user new to node B syncs what was said on node A.
	carol := connect(t, b, "carol")
	carol.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: 0})
	synced := carol.c.WaitType(t, model.TypeSynced)
	if synced.Seq != 2 {
		t.Fatalf("carol synced to %d, want 2", synced.Seq)
	}

	// bob leaves node B and comes back on node A within the grace: no one hears of it.
	bob.c.Close()
	bob2 := reconnect(t, a, bob)
	seesOnline(t, bob2, alice.auth.UserID)
	// bob leaves for good: after the grace alice and carol hear user_left, and only
	// that of all his moves.
	bob2.c.Close()
	for _, u := range []*user{alice, carol} {
		left := 0
		u.c.WaitFor(t, "bob's user_left", func(f model.Frame) bool {
			if f.UserID == bob.auth.UserID && f.Type == model.TypeUserJoined {
				t.Fatalf("%s heard bob join again during his move", u.auth.Username)
			}
			if f.UserID == bob.auth.UserID && f.Type == model.TypeUserLeft {
				left++
			}
			return left == 1
		})
		for _, f := range u.c.Drain(t) {
			if f.UserID == bob.auth.UserID && (f.Type == model.TypeUserLeft || f.Type == model.TypeUserJoined) {
				t.Fatalf("%s heard %s of bob after he left", u.auth.Username, f.Type)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// load is senders on several nodes sending to general at once, and watchers on each
// node that record what they receive.
type load struct {
	t        *testing.T
	mu       sync.Mutex
	acked    map[string]int64 // id → seq
	stop     chan struct{}
	wg       sync.WaitGroup
	watchers []*user
}

// startLoad starts one sender on each node, each sending a message every interval
// until stopLoad; each sender keeps what it sent until it is acked and resends on
// error, as the client's outbox does.
func startLoad(t *testing.T, c *cluster, interval time.Duration) *load {
	l := &load{t: t, acked: make(map[string]int64), stop: make(chan struct{})}
	for i, n := range c.nodes {
		l.watchers = append(l.watchers, connect(t, n, fmt.Sprintf("watcher%d", i)))
	}
	for i, n := range c.nodes {
		s := connect(t, n, fmt.Sprintf("sender%d", i))
		l.wg.Add(1)
		go l.send(s, i, interval)
	}
	return l
}

func (l *load) send(s *user, node int, interval time.Duration) {
	defer l.wg.Done()
	for k := 0; ; k++ {
		select {
		case <-l.stop:
			return
		case <-time.After(interval):
		}
		id := model.NewMessageID()
		err := s.c.SendErr(model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: fmt.Sprintf("n%d-%d", node, k)})
		if err != nil {
			l.t.Errorf("sender %d: %v", node, err)
			return
		}
		f, err := s.c.WaitForErr(func(f model.Frame) bool { return (f.Type == model.TypeAck || f.Type == model.TypeError) && f.ID == id }, 20*time.Second)
		if err != nil || f.Type != model.TypeAck {
			l.t.Errorf("sender %d: no ack of %s: %v %+v", node, id, err, f)
			return
		}
		l.mu.Lock()
		l.acked[id] = f.Seq
		l.mu.Unlock()
	}
}

// stopLoad stops the senders and checks that the acked seqs are gap-free and that
// every watcher got every message exactly once, in seq order.
func (l *load) stopLoad() {
	t := l.t
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	seqs := make([]int64, 0, len(l.acked))
	for _, s := range l.acked {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("acked seqs are not 1..%d: position %d has %d", len(seqs), i, s)
		}
	}
	if len(seqs) < 10 {
		t.Fatalf("only %d messages acked", len(seqs))
	}
	n := int64(len(seqs))
	for i, w := range l.watchers {
		var got []int64
		w.c.WaitFor(t, fmt.Sprintf("watcher %d's message %d", i, n), func(f model.Frame) bool {
			if f.Type == model.TypeMessage {
				got = append(got, f.Seq)
			}
			return f.Type == model.TypeMessage && f.Seq == n
		})
		for j, s := range got {
			if s != int64(j+1) {
				t.Fatalf("watcher %d on node %d: message %d has seq %d (%d messages), want every seq once in order", i, i, j, s, len(got))
			}
		}
	}
}

// TestNodesWriteOneRoomGapFree: senders on two nodes write to one room at once; the
// seqs stay gap-free and watchers on both nodes get every message once, in order.
func TestNodesWriteOneRoomGapFree(t *testing.T) {
	c := startCluster(t, 2, nil)
	l := startLoad(t, c, time.Millisecond)
	waitUntil(t, "200 messages acked", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.acked) >= 200
	})
	l.stopLoad()
}

// TestNATSRestartMidLoadLosesNothing: NATS goes away and comes back while both nodes
// take messages; every watcher still gets every message once, in order (what NATS
// lost is filled from the store after the reconnect).
func TestNATSRestartMidLoadLosesNothing(t *testing.T) {
	c := startCluster(t, 2, nil)
	l := startLoad(t, c, 2*time.Millisecond)
	acked := func(n int) func() bool {
		return func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return len(l.acked) >= n
		}
	}
	waitUntil(t, "50 messages acked", acked(50))
	c.nats.Stop()
	// While NATS is down each node still takes its own senders' messages.
	l.mu.Lock()
	before := len(l.acked)
	l.mu.Unlock()
	waitUntil(t, "acks while NATS is down", acked(before+50))
	for _, n := range c.nodes {
		var health map[string]string
		if st := n.Do(t, http.MethodGet, "/healthz", "", nil, &health); st != http.StatusServiceUnavailable ||
			health["status"] != "degraded" || health["nats"] == "ok" || health["nats"] == "" {
			t.Fatalf("healthz without NATS: %d %v, want 503 degraded with what NATS is doing", st, health)
		}
	}
	c.nats.Start(t)
	for _, n := range c.nodes {
		waitUntil(t, "healthz ok after NATS is back", func() bool {
			var health map[string]string
			return n.Do(t, http.MethodGet, "/healthz", "", nil, &health) == http.StatusOK && health["nats"] == "ok"
		})
	}
	l.mu.Lock()
	before = len(l.acked)
	l.mu.Unlock()
	waitUntil(t, "acks after NATS is back", acked(before+50))
	l.stopLoad()
}

// cutBroker is a real Broker whose link to the other nodes can be cut, as a node's
// death or a lost event looks to the others: while cut (or for the events drop
// chooses) nothing from the other nodes reaches this node's subscribers.
type cutBroker struct {
	server.Broker
	mu   sync.Mutex
	cut  bool
	drop func(server.Event) bool // drops an incoming event of another node
	node string                  // this node's id, learned from its first event
}

func (b *cutBroker) Subscribe(fn func(server.Event)) func() {
	return b.Broker.Subscribe(func(ev server.Event) {
		b.mu.Lock()
		skip := ev.Node != b.node && (b.cut || (b.drop != nil && b.drop(ev)))
		b.mu.Unlock()
		if !skip {
			fn(ev)
		}
	})
}

func (b *cutBroker) Publish(ctx context.Context, ev server.Event) error {
	b.mu.Lock()
	cut := b.cut
	b.node = ev.Node // the hub publishes as its node
	b.mu.Unlock()
	if cut {
		return nil
	}
	return b.Broker.Publish(ctx, ev)
}

// TestNodeFillsLostMessagesFromStore: node B loses some of node A's message events,
// the last one too; B's members still get every message once, in order: the gap
// from the store when the next message comes, the last one from A's next beat.
func TestNodeFillsLostMessagesFromStore(t *testing.T) {
	ns := servertest.StartNATS(t)
	lossy := &cutBroker{Broker: dialNATS(t, ns, "b"), drop: func(ev server.Event) bool {
		return ev.Type == model.TypeMessage && (ev.Seq == 2 || ev.Seq == 3 || ev.Seq == 5)
	}}
	c := &cluster{nats: ns, dsn: sharedDB(t)}
	c.nodes = append(c.nodes, servertest.Start(t, c.config(0, nil)))
	c.nodes = append(c.nodes, servertest.Start(t, c.config(1, func(_ int, cfg *server.Config) { cfg.Broker = lossy })))
	alice := connect(t, c.nodes[0], "alice")
	bob := connect(t, c.nodes[1], "bob")
	frameOf(t, alice, model.TypeUserJoined, bob.auth.UserID) // B is subscribed
	for i := 1; i <= 5; i++ {
		alice.ackOf(t, alice.send(t, server.GeneralRoomID, fmt.Sprintf("m%d", i)))
	}
	for i := 1; i <= 5; i++ {
		m := bob.c.WaitType(t, model.TypeMessage)
		if m.Seq != int64(i) || m.Content != fmt.Sprintf("m%d", i) {
			t.Fatalf("bob's message %d: seq %d %q", i, m.Seq, m.Content)
		}
	}
	alice.ackOf(t, alice.send(t, server.GeneralRoomID, "m6"))
	if m := bob.c.WaitType(t, model.TypeMessage); m.Seq != 6 {
		t.Fatalf("after the filled ones bob got seq %d, want 6 once", m.Seq)
	}
}

// TestSilentNodeUsersLeaveAfterGrace: node A falls silent (as a killed node does);
// its user who moves to node B within the grace stays online for everyone, and the
// one who does not is announced gone by node B after the grace.
func TestSilentNodeUsersLeaveAfterGrace(t *testing.T) {
	ns := servertest.StartNATS(t)
	cut := &cutBroker{Broker: dialNATS(t, ns, "a")}
	c := &cluster{nats: ns, dsn: sharedDB(t)}
	grace := func(_ int, cfg *server.Config) { cfg.PresenceGrace = 2 * time.Second }
	c.nodes = append(c.nodes, servertest.Start(t, c.config(0, func(i int, cfg *server.Config) { grace(i, cfg); cfg.Broker = cut })))
	c.nodes = append(c.nodes, servertest.Start(t, c.config(1, grace)))
	a, b := c.nodes[0], c.nodes[1]
	alice := connect(t, a, "alice")
	carol := connect(t, a, "carol")
	bob := connect(t, b, "bob")
	seesOnline(t, bob, alice.auth.UserID)
	seesOnline(t, bob, carol.auth.UserID)

	cut.mu.Lock()
	cut.cut = true // node A is gone for node B
	cut.mu.Unlock()
	start := time.Now()
	alice.c.Close()
	carol.c.Close()
	alice2 := reconnect(t, b, alice) // alice's client finds node B
	leftNotMoved(t, bob, carol.auth.UserID, alice.auth.UserID)
	if since := time.Since(start); since < 2*time.Second {
		t.Fatalf("carol left after %v, before the grace", since)
	}
	// bob's own up may still wait in B's fan-out when alice's hello is made: then
	// user_joined follows it.
	seesOnline(t, alice2, bob.auth.UserID)
}

// TestNodeRechecksLostMembership: bob joins a room through node A and node B loses
// the event; bob, connected to B, can still send there (B asks the store when its
// cache says no) and the room's member on B gets the message.
func TestNodeRechecksLostMembership(t *testing.T) {
	ns := servertest.StartNATS(t)
	var bobID string
	var mu sync.Mutex
	lossy := &cutBroker{Broker: dialNATS(t, ns, "b"), drop: func(ev server.Event) bool {
		mu.Lock()
		defer mu.Unlock()
		return bobID != "" && contains(ev.Joined, bobID)
	}}
	c := &cluster{nats: ns, dsn: sharedDB(t)}
	c.nodes = append(c.nodes, servertest.Start(t, c.config(0, nil)))
	c.nodes = append(c.nodes, servertest.Start(t, c.config(1, func(_ int, cfg *server.Config) { cfg.Broker = lossy })))
	a, b := c.nodes[0], c.nodes[1]
	alice := connect(t, a, "alice")
	carol := connect(t, b, "carol")
	bob := connect(t, b, "bob")
	mu.Lock()
	bobID = bob.auth.UserID
	mu.Unlock()

	var room model.Room
	if st := a.Do(t, http.MethodPost, "/api/rooms", alice.auth.AccessToken,
		model.CreateRoomRequest{Name: "pub", Public: true, MemberIDs: []string{carol.auth.UserID}}, &room); st != http.StatusCreated {
		t.Fatalf("create room: %d", st)
	}
	carol.c.WaitFor(t, "the room on B", func(f model.Frame) bool { return f.Type == model.TypeRoom && f.ID == room.ID })
	if st := a.Do(t, http.MethodPost, "/api/rooms/"+room.ID+"/join", bob.auth.AccessToken, nil, nil); st != http.StatusOK {
		t.Fatalf("join through A: %d", st)
	}
	id := bob.send(t, room.ID, "joined elsewhere")
	if f := bob.ackOf(t, id); f.Type != model.TypeAck {
		t.Fatalf("bob's send on B after joining on A: %+v", f)
	}
	if m := carol.c.WaitType(t, model.TypeMessage); m.Content != "joined elsewhere" {
		t.Fatalf("carol got %q", m.Content)
	}
}

// TestRestartedNodeLearnsPresence: node A restarts; its user moves to node B within
// the grace and no one hears of it; the new A learns from the beats who is online, so
// a user who connects to it sees everyone online.
func TestRestartedNodeLearnsPresence(t *testing.T) {
	c := startCluster(t, 2, func(_ int, cfg *server.Config) { cfg.PresenceGrace = 2 * time.Second })
	a, b := c.nodes[0], c.nodes[1]
	alice := connect(t, a, "alice")
	bob := connect(t, b, "bob")
	seesOnline(t, bob, alice.auth.UserID)
	carolAuth := b.Register(t, "carol", password)

	a.Restart(t)
	alice.c.WaitClosed(t)
	reconnect(t, b, alice)
	carol := dialAs(t, a, carolAuth)
	seesOnline(t, carol, alice.auth.UserID)
	seesOnline(t, carol, bob.auth.UserID)

	// carol leaves: her user_left comes after the grace, by when alice's would have.
	carol.c.Close()
	leftNotMoved(t, bob, carolAuth.UserID, alice.auth.UserID)
}
