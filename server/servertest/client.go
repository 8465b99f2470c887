package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/model"
)

// DefaultWait is how long Client waits for an expected frame.
const DefaultWait = 60 * time.Second

// Client is a raw WebSocket client for tests. A goroutine reads continuously (so pings
// are answered) and keeps every frame until the test takes it.
type Client struct {
	Conn *websocket.Conn

	mu     sync.Mutex
	frames [][]byte
	notify chan struct{}
	err    error // the read error once the connection ended
	ended  chan struct{}
}

// Dial opens /ws with an Authorization header; it fails the test when the upgrade fails.
func (in *Instance) Dial(t testing.TB, token string) *Client {
	t.Helper()
	c, resp, err := in.DialErr(token, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("servertest: dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// DialErr opens /ws with the token (when not empty) and extra headers, and answers the
// handshake response when it fails. The caller closes the client.
func (in *Instance) DialErr(token string, header http.Header) (*Client, *http.Response, error) {
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, in.WSURL, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	c := &Client{Conn: conn, notify: make(chan struct{}, 1), ended: make(chan struct{})}
	go c.read()
	return c, resp, nil
}

func (c *Client) read() {
	defer close(c.ended)
	for {
		_, b, err := c.Conn.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.err = err
		} else {
			c.frames = append(c.frames, b)
		}
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// Close closes the connection normally and waits for the reader.
func (c *Client) Close() {
	_ = c.Conn.Close(websocket.StatusNormalClosure, "")
	<-c.ended
}

// Send encodes v as one text frame.
func (c *Client) Send(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	check(t, err, "encode frame")
	c.SendRaw(t, b)
}

// SendRaw sends b as one text frame.
func (c *Client) SendRaw(t testing.TB, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check(t, c.Conn.Write(ctx, websocket.MessageText, b), "send frame")
}

// NextRaw waits up to d for the next frame and answers it, or an error when the
// connection ended or nothing came.
func (c *Client) NextRaw(d time.Duration) ([]byte, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if len(c.frames) > 0 {
			b := c.frames[0]
			c.frames[0] = nil
			c.frames = c.frames[1:]
			c.mu.Unlock()
			return b, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			return nil, errNoFrame
		}
	}
}

// Next waits for the next frame and decodes it.
func (c *Client) Next(t testing.TB) model.Frame {
	t.Helper()
	b, err := c.NextRaw(DefaultWait)
	check(t, err, "next frame")
	f, err := model.DecodeFrame(b)
	check(t, err, "decode "+describe(b))
	return f
}

// WaitFor skips frames until one satisfies match, and answers it.
func (c *Client) WaitFor(t testing.TB, what string, match func(model.Frame) bool) model.Frame {
	t.Helper()
	deadline := time.Now().Add(DefaultWait)
	for {
		b, err := c.NextRaw(time.Until(deadline))
		if err != nil {
			t.Fatalf("servertest: waiting for %s: %v", what, err)
		}
		f, err := model.DecodeFrame(b)
		check(t, err, "decode "+describe(b))
		if match(f) {
			return f
		}
	}
}

// WaitType skips frames until one of type typ.
func (c *Client) WaitType(t testing.TB, typ string) model.Frame {
	t.Helper()
	return c.WaitFor(t, typ, func(f model.Frame) bool { return f.Type == typ })
}

// Pending answers how many frames are waiting.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// WaitClosed skips frames until the connection ends and answers its close status
// (-1 when it ended without a close frame).
func (c *Client) WaitClosed(t testing.TB) websocket.StatusCode {
	t.Helper()
	select {
	case <-c.ended:
	case <-time.After(DefaultWait):
		t.Fatalf("servertest: connection still open")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return websocket.CloseStatus(c.err)
}

// CloseReason answers the reason of the close frame once the connection ended.
func (c *Client) CloseReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ce websocket.CloseError
	if errors.As(c.err, &ce) {
		return ce.Reason
	}
	return ""
}

// SendErr is Send for goroutines other than the test's: it answers the error.
func (c *Client) SendErr(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Conn.Write(ctx, websocket.MessageText, b)
}

// WaitForErr is WaitFor for goroutines other than the test's: it waits up to d and
// answers an error instead of failing the test.
func (c *Client) WaitForErr(match func(model.Frame) bool, d time.Duration) (model.Frame, error) {
	deadline := time.Now().Add(d)
	for {
		b, err := c.NextRaw(time.Until(deadline))
		if err != nil {
			return model.Frame{}, err
		}
		f, err := model.DecodeFrame(b)
		if err != nil {
			return model.Frame{}, fmt.Errorf("decode %s: %w", describe(b), err)
		}
		if match(f) {
			return f, nil
		}
	}
}

// Drain takes every frame that has come and not been taken yet, without waiting.
func (c *Client) Drain(t testing.TB) []model.Frame {
	t.Helper()
	c.mu.Lock()
	raw := c.frames
	c.frames = nil
	c.mu.Unlock()
	out := make([]model.Frame, 0, len(raw))
	for _, b := range raw {
		f, err := model.DecodeFrame(b)
		check(t, err, "decode "+describe(b))
		out = append(out, f)
	}
	return out
}

// Ended is closed when the connection has ended.
func (c *Client) Ended() <-chan struct{} { return c.ended }
