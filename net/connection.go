package net

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// Connection timing.
const (
	dialTimeout    = 15 * time.Second
	helloTimeout   = 15 * time.Second
	writeTimeout   = 10 * time.Second
	closeTimeout   = time.Second
	readLimit      = 1 << 20 // generous: the server's frames are at most 64 KiB
	defaultBeatSec = 30
)

// errHeartbeat ends a connection that stayed silent after a ping.
var errHeartbeat = errors.New("no answer to ping")

// outcome is how one connection attempt ended.
type outcome struct {
	err        error
	hello      bool                 // the connection got as far as hello
	code       websocket.StatusCode // the close code, -1 when there was none
	authFailed bool                 // HTTP 401 at the handshake
	token      string               // the access token the attempt used
}

// canConnect reports whether there is an account whose tokens the server has not refused.
func (c *Client) canConnect() bool {
	c.mu.Lock()
	refused := c.signedOut
	c.mu.Unlock()
	if refused {
		return false
	}
	acct, ok, err := c.store.Account()
	if err != nil {
		c.log.Warn("read account", "err", err)
	}
	// An account of another server (a Client made for a server the profile is about to
	// sign in to) is not ours to use: its tokens would be refused here and sign it out.
	return ok && sameServerURL(acct.ServerURL, c.cfg.ServerURL)
}

// sameServerURL compares server URLs, ignoring case and a trailing slash.
func sameServerURL(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// loop connects, and after every failure waits as the protocol asks, until ctx ends.
func (c *Client) loop(ctx context.Context) {
	attempt := 0                 // failures since the last hello
	refreshed := false           // the last attempt ended in a token refresh
	c.events.setState(c.State()) // the first batch says where we start
	for ctx.Err() == nil {
		if !c.canConnect() {
			if st := c.State(); st.State != StateSignedOut {
				c.setState(StateEvent{State: StateSignedOut})
			}
			select {
			case <-c.wake:
			case <-ctx.Done():
				return
			}
			continue
		}
		c.setState(StateEvent{State: StateConnecting})
		o := c.connect(ctx)
		if ctx.Err() != nil {
			return
		}
		if o.hello {
			attempt = 0
		}
		var wait time.Duration
		switch {
		case errors.Is(o.err, ErrSignedOut):
			c.setState(StateEvent{State: StateSignedOut, Err: o.err})
			continue
		case o.code == model.CloseForbidden:
			c.mu.Lock()
			c.access = ""
			c.mu.Unlock()
			c.setState(StateEvent{State: StateSignedOut, Err: o.err})
			continue
		case o.code == model.CloseTokenExpired || o.authFailed:
			_, err := c.refresh(ctx, o.token)
			switch {
			case errors.Is(err, ErrSignedOut):
				c.setState(StateEvent{State: StateSignedOut, Err: err})
				continue
			case err != nil:
				o.err = err
				wait = Backoff(attempt, c.rand())
				attempt++
			case refreshed && !o.hello:
				// A fresh token was refused again: do not spin.
				wait = Backoff(attempt, c.rand())
				attempt++
			}
			refreshed = true
		case o.code == websocket.StatusGoingAway:
			wait = time.Duration(c.rand() * float64(GoingAwayJitter))
			refreshed = false
		default:
			wait = Backoff(attempt, c.rand())
			attempt++
			refreshed = false
		}
		c.log.Info("disconnected", "err", o.err, "wait", wait)
		c.setState(StateEvent{State: StateOffline, NextTry: c.clock.Now().Add(wait), Err: o.err})
		if wait <= 0 {
			continue
		}
		t := c.clock.NewTimer(wait)
		select {
		case <-t.C():
		case <-c.wake:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// connect makes one connection and serves it until it ends.
func (c *Client) connect(ctx context.Context) outcome {
	tok, err := c.accessToken(ctx)
	if err != nil {
		return outcome{err: err, code: -1}
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, c.api.WebSocketURL(), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: c.cfg.HTTPClient.Transport},
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return outcome{err: fmt.Errorf("dial: %w", &APIError{Status: resp.StatusCode, Code: model.CodeUnauthorized}), code: -1, authFailed: true, token: tok}
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return outcome{err: fmt.Errorf("dial: %w", &APIError{Status: resp.StatusCode}), code: -1, token: tok}
		}
		return outcome{err: fmt.Errorf("dial: %w: %w", ErrUnreachable, err), code: -1, token: tok}
	}
	conn.SetReadLimit(readLimit)
	o := newSession(c, conn).serve(ctx)
	o.token = tok
	return o
}

// sendControl hands a small frame (typing, marks) to the live connection without
// blocking; false when there is none or its queue is full.
func (c *Client) sendControl(v any) bool {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s == nil {
		return false
	}
	select {
	case s.control <- v:
		return true
	default:
		return false
	}
}

// queueOutbox hands a message just put in the outbox to the live connection's sender.
func (c *Client) queueOutbox(m storage.Outgoing) {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		s.queue(m)
	}
}

// syncRoom asks the live connection to sync a room.
func (c *Client) syncRoom(roomID string) {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		s.requestSync(roomID)
	}
}

// dropSession ends the live connection, if any.
func (c *Client) dropSession(cause error) {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		if cause == nil {
			cause = errors.New("closed by the client")
		}
		s.fail(cause)
	}
}
