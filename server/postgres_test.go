package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/internal/pgtest"
	"github.com/parleychat/parley/server/servertest"
)

// health answers /healthz's status code and body.
func health(t *testing.T, in *servertest.Instance) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(in.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("healthz body: %v", err)
	}
	return resp.StatusCode, body
}

// TestPostgresRestart stops PostgreSQL under a running server: /healthz answers 503
// "db":"unreachable", a send is answered error internal naming it (no ack, nobody
// receives it); once PostgreSQL is back, the server recovers by itself: the same id
// sent again is stored and acked once and /healthz answers ok.
func TestPostgresRestart(t *testing.T) {
	pg := pgtest.Shared(t)
	cfg := testConfig()
	cfg.DSN = pg.NewDatabase(t)
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	first := alice.send(t, server.GeneralRoomID, "before")
	if f := alice.ackOf(t, first); f.Type != model.TypeAck || f.Seq != 1 {
		t.Fatalf("first: %+v", f)
	}
	bob.c.WaitFor(t, "the first", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == first })
	if st, body := health(t, in); st != http.StatusOK || body["status"] != "ok" || body["db"] != "ok" {
		t.Fatalf("healthz before: %d %v", st, body)
	}

	pg.Stop(t)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			pg.Start(t) // for the tests after this one
		}
	})
	id := alice.send(t, server.GeneralRoomID, "while the database is away")
	if f := alice.ackOf(t, id); f.Type != model.TypeError || f.Code != model.CodeInternal || f.ID != id {
		t.Fatalf("send without the database: %+v, want error internal naming %s", f, id)
	}
	if st, body := health(t, in); st != http.StatusServiceUnavailable || body["db"] != "unreachable" || body["status"] == "ok" {
		t.Fatalf("healthz without the database: %d %v", st, body)
	}

	pg.Start(t)
	stopped = false
	if st, body := health(t, in); st != http.StatusOK || body["db"] != "ok" {
		t.Fatalf("healthz after: %d %v", st, body)
	}
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "while the database is away"})
	if f := alice.ackOf(t, id); f.Type != model.TypeAck || f.Seq != 2 {
		t.Fatalf("after the database returned: %+v, want ack seq 2", f)
	}
	if m := bob.c.WaitType(t, model.TypeMessage); m.ID != id || m.Seq != 2 {
		t.Fatalf("bob got %+v, want %s seq 2", m, id)
	}
	var r model.MessagesResponse
	if st := in.Do(t, "GET", "/api/rooms/general/messages", alice.auth.AccessToken, nil, &r); st != http.StatusOK || len(r.Messages) != 2 {
		t.Fatalf("history: %d, %d messages, want 2", st, len(r.Messages))
	}
}

// TestPostgresTwoNodesOneID runs two servers on one PostgreSQL database, each with its
// own Store (Config.Store): alice, connected to both, sends one message id to both at
// once; both answer an ack with the same seq, and the room holds it once.
func TestPostgresTwoNodesOneID(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	secret := []byte("a secret both nodes sign with....")
	var nodes []*servertest.Instance
	for range 2 {
		st, err := server.OpenStore(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() }) // after the node's own cleanup stops it
		cfg := testConfig()
		cfg.Store, cfg.JWTSecret = st, secret
		nodes = append(nodes, servertest.Start(t, cfg))
	}
	auth := nodes[0].Register(t, "alice", password)
	a, b := dialAs(t, nodes[0], auth), dialAs(t, nodes[1], auth)
	for round := range 20 {
		id := model.NewMessageID()
		send := model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "to both"}
		a.c.Send(t, send)
		b.c.Send(t, send)
		fa, fb := a.ackOf(t, id), b.ackOf(t, id)
		if fa.Type != model.TypeAck || fb.Type != model.TypeAck || fa.Seq != fb.Seq || fa.Seq != int64(round+1) {
			t.Fatalf("round %d: node A %+v, node B %+v: want both acked seq %d", round, fa, fb, round+1)
		}
	}
	var r model.MessagesResponse
	if st := nodes[1].Do(t, "GET", "/api/rooms/general/messages?limit=100", auth.AccessToken, nil, &r); st != http.StatusOK || len(r.Messages) != 20 {
		t.Fatalf("history: %d, %d messages, want 20", st, len(r.Messages))
	}
}

// TestMessageIDOfAnotherUser: bob resends the id of alice's message; he is answered
// error conflict naming the id, never alice's ack, and nothing is stored or delivered;
// alice's own resend is still acked with her seq.
func TestMessageIDOfAnotherUser(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	id := alice.send(t, server.GeneralRoomID, "alice's")
	if f := alice.ackOf(t, id); f.Type != model.TypeAck || f.Seq != 1 {
		t.Fatalf("alice: %+v", f)
	}
	bob.c.WaitFor(t, "alice's message", func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == id })
	bob.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "bob's"})
	if f := bob.ackOf(t, id); f.Type != model.TypeError || f.Code != model.CodeConflict || f.ID != id {
		t.Fatalf("bob's resend of alice's id: %+v, want error conflict", f)
	}
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "alice's"})
	if f := alice.ackOf(t, id); f.Type != model.TypeAck || f.Seq != 1 {
		t.Fatalf("alice's resend: %+v", f)
	}
	next := bob.send(t, server.GeneralRoomID, "bob's own")
	if f := bob.ackOf(t, next); f.Type != model.TypeAck || f.Seq != 2 {
		t.Fatalf("bob's own: %+v, want seq 2", f)
	}
	var r model.MessagesResponse
	if st := in.Do(t, "GET", "/api/rooms/general/messages", alice.auth.AccessToken, nil, &r); st != http.StatusOK ||
		len(r.Messages) != 2 || r.Messages[0].Content != "alice's" || r.Messages[1].ID != next {
		t.Fatalf("history: %d %+v, want alice's and bob's own", st, r.Messages)
	}
}

// TestHealthzReportsDB: /healthz answers the status key and the database's.
func TestHealthzReportsDB(t *testing.T) {
	in := servertest.Start(t, testConfig())
	if st, body := health(t, in); st != http.StatusOK || body["status"] != "ok" || body["db"] != "ok" {
		t.Fatalf("healthz: %d %v", st, body)
	}
}

// TestPostgresNetworkCut cuts the network between the server and PostgreSQL (an
// in-process Toxiproxy with a timeout toxic: nothing passes, nothing is closed): a send
// is answered error internal once its commit times out, instead of holding every later
// send, and /healthz answers 503; once the network is back the retry is acked.
func TestPostgresNetworkCut(t *testing.T) {
	t.Cleanup(server.SetCommitTimeout(time.Second))
	u, err := url.Parse(pgtest.Shared(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := toxiproxy.NewProxy(toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop()),
		"postgres", "127.0.0.1:0", u.Host)
	if err := proxy.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(proxy.Stop)
	u.Host = proxy.Listen
	cfg := testConfig()
	cfg.DSN = u.String()
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	first := alice.send(t, server.GeneralRoomID, "before")
	if f := alice.ackOf(t, first); f.Type != model.TypeAck || f.Seq != 1 {
		t.Fatalf("first: %+v", f)
	}

	if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(`{"name":"cut","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`)); err != nil {
		t.Fatal(err)
	}
	id := alice.send(t, server.GeneralRoomID, "across a cut network")
	if f := alice.ackOf(t, id); f.Type != model.TypeError || f.Code != model.CodeInternal || f.ID != id {
		t.Fatalf("send across the cut: %+v, want error internal naming %s", f, id)
	}
	if st, body := health(t, in); st != http.StatusServiceUnavailable || body["db"] != "unreachable" {
		t.Fatalf("healthz across the cut: %d %v", st, body)
	}

	if err := proxy.Toxics.RemoveToxic(context.Background(), "cut"); err != nil {
		t.Fatal(err)
	}
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "across a cut network"})
	if f := alice.ackOf(t, id); f.Type != model.TypeAck || f.Seq != 2 {
		t.Fatalf("after the network returned: %+v, want ack seq 2", f)
	}
	if st, body := health(t, in); st != http.StatusOK || body["db"] != "ok" {
		t.Fatalf("healthz after: %d %v", st, body)
	}
}
