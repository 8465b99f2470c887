package net

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// rawClient is a light WebSocket client that follows the engine's reconnect rule
// (Backoff after a failure, a random 0–GoingAwayJitter after close 1001) and keeps the
// seqs of general it received, so that thousands of them fit in one test.
type rawClient struct {
	url, token string

	mu         sync.Mutex
	seqs       map[int64]bool
	hellos     int
	online     bool        // between a hello and the end of its connection
	reconnects []time.Time // each hello after the first
	failures   int         // dials refused or broken
	changed    func()
}

// run connects until ctx ends.
func (rc *rawClient) run(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		wait, ok := rc.session(ctx)
		if ok {
			attempt = 0
		}
		if wait < 0 {
			wait = Backoff(attempt, rand.Float64())
			attempt++
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// session runs one connection. It answers the wait before the next (-1: Backoff) and
// whether a hello came.
func (rc *rawClient) session(ctx context.Context) (time.Duration, bool) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, _, err := websocket.Dial(dctx, rc.url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + rc.token}}})
	cancel()
	if err != nil {
		rc.mu.Lock()
		rc.failures++
		rc.mu.Unlock()
		return -1, false
	}
	defer conn.CloseNow()
	defer func() {
		rc.mu.Lock()
		rc.online = false
		rc.mu.Unlock()
	}()
	conn.SetReadLimit(1 << 20)
	helloed := false
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusGoingAway {
				return time.Duration(rand.Float64() * float64(GoingAwayJitter)), helloed
			}
			rc.mu.Lock()
			rc.failures++
			rc.mu.Unlock()
			return -1, helloed
		}
		f, err := model.DecodeFrame(b)
		if err != nil {
			return -1, helloed
		}
		switch f.Type {
		case model.TypeHello:
			helloed = true
			rc.mu.Lock()
			if rc.hellos > 0 {
				rc.reconnects = append(rc.reconnects, time.Now())
			}
			rc.hellos++
			rc.online = true
			after := int64(0)
			for rc.seqs[after+1] {
				after++
			}
			rc.mu.Unlock()
			rc.sync(ctx, conn, after)
		case model.TypeMessage:
			if f.RoomID == server.GeneralRoomID {
				rc.mu.Lock()
				rc.seqs[f.Seq] = true
				rc.mu.Unlock()
				rc.changed()
			}
		case model.TypeSynced:
			if f.More {
				rc.sync(ctx, conn, f.LastSeq)
			}
		}
	}
}

func (rc *rawClient) sync(ctx context.Context, conn *websocket.Conn, after int64) {
	b, _ := json.Marshal(model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: after})
	_ = conn.Write(ctx, websocket.MessageText, b)
}

// holds answers whether the client has every seq 1..n.
func (rc *rawClient) holds(n int64) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for s := int64(1); s <= n; s++ {
		if !rc.seqs[s] {
			return false
		}
	}
	return true
}

// peakPerSecond answers the most events within any one-second window.
func peakPerSecond(ts []time.Time) int {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	peak, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= time.Second {
			lo++
		}
		peak = max(peak, hi-lo+1)
	}
	return peak
}

// TestGracefulRestartManyClients restarts the server (shutdown with 1001, start again
// on the same address and data) under 200 connected raw clients (2,000 with -tags
// soak) that follow the engine's reconnect rule. Every client ends with every message,
// those sent before the restart and after. The peak of reconnects a second, spread by
// the 0–2 s jitter, is logged for docs/reliability.md.
func TestGracefulRestartManyClients(t *testing.T) {
	n := 200
	if soak {
		n = 2000
	}
	srv := startServer(t, server.Config{})
	talker := srv.Register(t, "talker", testPassword)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	progress := make(chan struct{}, 1)
	notify := func() {
		select {
		case progress <- struct{}{}:
		default:
		}
	}
	clients := make([]*rawClient, n)
	wsURL := srv.WSURL
	tokens := registerMany(t, srv, n)
	for i := range clients {
		clients[i] = &rawClient{url: wsURL, token: tokens[i], seqs: map[int64]bool{}, changed: notify}
	}
	// The first connections come in waves of 200, so that the storm measured is the
	// restart's, not the start's.
	for i, rc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc.run(ctx)
		}()
		if (i+1)%200 == 0 || i == n-1 {
			waitConns(t, srv, i+1)
		}
	}

	say := func(k int) {
		c := srv.Dial(t, talker.AccessToken)
		c.WaitType(t, model.TypeHello)
		var ids []string
		for i := range k {
			id := model.NewMessageID()
			ids = append(ids, id)
			c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: fmt.Sprintf("m%d", i)})
		}
		for _, id := range ids {
			if f := c.WaitFor(t, "ack", func(f model.Frame) bool { return f.ID == id && (f.Type == model.TypeAck || f.Type == model.TypeError) }); f.Type != model.TypeAck {
				t.Fatalf("send %s: %+v", id, f)
			}
		}
		c.Close()
	}
	waitAll := func(seq int64) {
		// A client whose tries failed while the server was down waits up to
		// BackoffMax (+30 %) before the next.
		deadline := time.Now().Add(2*waitLong + BackoffMax)
		for {
			missing, online := 0, 0
			for _, rc := range clients {
				if !rc.holds(seq) {
					missing++
					rc.mu.Lock()
					if rc.online {
						online++
					}
					rc.mu.Unlock()
				}
			}
			if missing == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d clients lack some of seqs 1..%d (%d of them connected)", missing, n, seq, online)
			}
			select {
			case <-progress:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	say(10)
	waitAll(10)

	addr := srv.Addr()
	restarted := time.Now()
	srv.Restart(t)
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, not %s", srv.Addr(), addr)
	}
	say(10)
	waitAll(20)
	waitConnsFor(t, srv, n, 2*waitLong)
	spread := time.Since(restarted)

	var times []time.Time
	failures := 0
	for _, rc := range clients {
		rc.mu.Lock()
		times = append(times, rc.reconnects...)
		failures += rc.failures
		rc.mu.Unlock()
	}
	if len(times) < n {
		t.Fatalf("%d reconnects for %d clients", len(times), n)
	}
	t.Logf("graceful restart with %d clients: %d reconnects, %d failed attempts, peak %d reconnects/s, all caught up %v after the restart",
		n, len(times), failures, peakPerSecond(times), spread.Round(time.Millisecond))
}

// registerMany registers n users with 8 workers and answers their access tokens.
func registerMany(t *testing.T, srv *servertest.Instance, n int) []string {
	t.Helper()
	tokens := make([]string, n)
	errs := make(chan error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body, _ := json.Marshal(model.RegisterRequest{Username: fmt.Sprintf("user%04d", i), Password: testPassword})
				resp, err := http.Post(srv.URL+"/api/register", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- fmt.Errorf("register %d: %w", i, err)
					continue
				}
				var a model.AuthResponse
				err = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("register %d: %d %v", i, resp.StatusCode, err)
					continue
				}
				tokens[i] = a.AccessToken
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return tokens
}
