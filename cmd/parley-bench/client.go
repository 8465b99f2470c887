package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/model"
)

// debugDoubled prints every doubled delivery (PARLEY_BENCH_DEBUG=1).
var debugDoubled = os.Getenv("PARLEY_BENCH_DEBUG") == "1"

// benchPassword is every simulated user's password.
const benchPassword = "bench-password"

// api is the HTTP side of the protocol, as much as the scenarios need.
type api struct {
	base string
	http *http.Client
}

func newAPI(base string) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}
	return &api{base: strings.TrimSuffix(base, "/"), http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends a JSON request and decodes a 2xx answer into out.
func (a *api) do(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// register creates n users named prefix-0..n-1 with parallel requests.
func (a *api) register(ctx context.Context, prefix string, n, parallel int) ([]model.AuthResponse, error) {
	out := make([]model.AuthResponse, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				req := model.RegisterRequest{Username: fmt.Sprintf("%s-%d", prefix, i), Password: benchPassword}
				if err := a.do(ctx, "POST", "/api/register", "", req, &out[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// roomLog is what one client received in one room.
type roomLog struct {
	seen    []uint64 // bit s: seq s received (seqs are dense from 1: a bitset, not a map)
	doubled int
	top     int64 // highest seq below which every seq was received
}

// has answers whether seq was received.
func (rl *roomLog) has(seq int64) bool {
	i := seq >> 6
	return seq >= 0 && i < int64(len(rl.seen)) && rl.seen[i]&(1<<(seq&63)) != 0
}

// add records seq and answers false when it was received already.
func (rl *roomLog) add(seq int64) bool {
	if seq < 0 || rl.has(seq) {
		return false
	}
	i := int(seq >> 6)
	if i >= len(rl.seen) {
		rl.seen = append(rl.seen, make([]uint64, i+1-len(rl.seen))...)
	}
	rl.seen[i] |= 1 << (seq & 63)
	for rl.has(rl.top + 1) {
		rl.top++
	}
	return true
}

// client is one simulated user: one WebSocket, a reader goroutine, and the counters
// the scenarios read. It has no store: it keeps the seqs it received per room.
type client struct {
	auth   model.AuthResponse
	wsURL  string
	record bool // keep latencies (off during set-up)

	mu        sync.Mutex
	conn      wsConn
	rooms     map[string]*roomLog
	latencies []time.Duration
	acks      []time.Duration
	pending   map[string]time.Time // sent, not acked: id → send time
	ackedSeq  map[string][]int64   // room → seqs acked to this client
	errors    []string
	synced    map[string]model.Frame // room → last synced frame
	hellos    int

	changed chan struct{} // a non-blocking signal after every frame that matters
	ended   chan struct{} // closed when the reader of the current connection ends
	pings   atomic.Int64
}

func newClient(auth model.AuthResponse, wsURL string) *client {
	return &client{
		auth: auth, wsURL: wsURL,
		rooms: map[string]*roomLog{}, pending: map[string]time.Time{}, ackedSeq: map[string][]int64{},
		synced: map[string]model.Frame{}, changed: make(chan struct{}, 1),
	}
}

// wsConn is a client's WebSocket: coder/websocket's, or the raw one of
// rawws_linux.go whose frames an epoll loop reads.
type wsConn interface {
	Write(ctx context.Context, typ websocket.MessageType, b []byte) error
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
}

// dial connects and starts the reader; it does not wait for hello.
func (c *client) dial(ctx context.Context) error {
	if rawAvailable {
		return c.dialRaw(ctx)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.auth.AccessToken)
	conn, _, err := websocket.Dial(ctx, c.wsURL, &websocket.DialOptions{HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return fmt.Errorf("dial as %s: %w", c.auth.Username, err)
	}
	conn.SetReadLimit(16 << 20)
	ended := make(chan struct{})
	c.mu.Lock()
	c.conn = conn
	c.ended = ended
	c.mu.Unlock()
	go c.read(conn, ended)
	return nil
}

// close closes the connection normally.
func (c *client) close() {
	c.mu.Lock()
	conn, ended := c.conn, c.ended
	c.mu.Unlock()
	if conn == nil {
		return
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		_ = conn.CloseNow()
	}
}

func (c *client) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// inFrame holds the fields of the server frames the bench reads.
type inFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	RoomID  string `json:"roomId"`
	Seq     int64  `json:"seq"`
	Content string `json:"content"`
	More    bool   `json:"more"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// helloPrefix starts the hello frame.
var helloPrefix = []byte(`{"type":"hello"`)

// skipPrefixes are frames the bench counts nowhere: decoding them would only cost.
var skipPrefixes = [][]byte{[]byte(`{"type":"user_`), []byte(`{"type":"receipt"`), []byte(`{"type":"typing"`), []byte(`{"type":"stop_typing"`), []byte(`{"type":"pong"`)}

// read reads a coder/websocket connection's frames until it ends (where the epoll
// reader of rawws_linux.go is not used).
func (c *client) read(conn *websocket.Conn, ended chan struct{}) {
	defer close(ended)
	defer c.signal()
	var buf bytes.Buffer // reused: what the bench keeps of a frame it copies out
	for {
		_, r, err := conn.Reader(context.Background())
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		c.onFrame(buf.Bytes(), time.Now())
	}
}

// onFrame records one server frame, received at now; b is good only during the call.
func (c *client) onFrame(b []byte, now time.Time) {
	for _, p := range skipPrefixes {
		if bytes.HasPrefix(b, p) {
			return
		}
	}
	if bytes.HasPrefix(b, helloPrefix) {
		// hello lists every online room-mate: with everyone in general it is
		// large, and the bench needs only to know it came.
		c.mu.Lock()
		c.hellos++
		c.mu.Unlock()
		c.signal()
		return
	}
	var f inFrame
	if err := decodeFrame(b, &f); err != nil {
		c.mu.Lock()
		c.errors = append(c.errors, "undecodable frame: "+err.Error())
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	switch f.Type {
	case model.TypeHello:
		c.hellos++
	case model.TypeMessage:
		c.message(&f, now)
	case model.TypeAck:
		if t, ok := c.pending[f.ID]; ok {
			delete(c.pending, f.ID)
			if c.record {
				c.acks = append(c.acks, now.Sub(t))
			}
			c.ackedSeq[f.RoomID] = append(c.ackedSeq[f.RoomID], f.Seq)
		}
	case model.TypeSynced:
		c.synced[f.RoomID] = model.Frame{Type: f.Type, RoomID: f.RoomID, Seq: f.Seq, More: f.More}
	case model.TypeError:
		c.errors = append(c.errors, f.Code+": "+f.Message)
		delete(c.pending, f.ID)
	}
	c.mu.Unlock()
	c.signal()
}

// message records a message frame; the caller holds c.mu.
func (c *client) message(f *inFrame, now time.Time) {
	rl := c.rooms[f.RoomID]
	if rl == nil {
		rl = &roomLog{}
		c.rooms[f.RoomID] = rl
	}
	if !rl.add(f.Seq) {
		rl.doubled++
		if debugDoubled {
			fmt.Fprintf(os.Stderr, "doubled seq %d at %s (synced %v)\n", f.Seq, c.auth.Username, c.synced)
		}
		return
	}
	if c.record {
		if ns, err := strconv.ParseInt(strings.TrimPrefix(f.Content, "b"), 10, 64); err == nil {
			c.latencies = append(c.latencies, now.Sub(time.Unix(0, ns)))
		}
	}
}

// send sends one message stamped with the current time, remembering it until its ack.
func (c *client) send(ctx context.Context, roomID string) error {
	id := model.NewMessageID()
	now := time.Now()
	b, _ := json.Marshal(model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: roomID, Content: "b" + strconv.FormatInt(now.UnixNano(), 10)})
	c.mu.Lock()
	c.pending[id] = now
	conn := c.conn
	c.mu.Unlock()
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("send as %s: %w", c.auth.Username, err)
	}
	return nil
}

// writeFrame sends any client frame.
func (c *client) writeFrame(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	return conn.Write(ctx, websocket.MessageText, b)
}

// waitFor waits until cond (called under the client's lock) holds or ctx ends.
func (c *client) waitFor(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-c.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// heartbeat sends `ping` every interval until ctx ends, as a real client does.
func (c *client) heartbeat(ctx context.Context, every time.Duration) {
	// Spread the clients' pings over the interval.
	t := time.NewTimer(time.Duration(rand.Int64N(int64(every))))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if c.writeFrame(wctx, model.TypeFrame{Type: model.TypePing}) == nil {
				c.pings.Add(1)
			}
			cancel()
			t.Reset(every)
		}
	}
}

// errNotConnected reports a client without a live connection.
var errNotConnected = errors.New("not connected")
