package net

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parleychat/parley/model"
)

// renewShare is the share of an access token's life after which the session gets a
// new one (protocol 1.1's `auth` frame): early enough that a slow refresh still makes it.
const renewShare = 0.8

// renewRetryMin bounds how soon a failed refresh is tried again.
const renewRetryMin = 100 * time.Millisecond

// tokenLife describes the access token in memory: when it was received and when the
// server will stop accepting it (zero when unknown).
type tokenLife struct {
	token    string
	received time.Time
	expires  time.Time
}

// setAccess keeps a new access token with its life; the caller holds c.mu. The
// expiry comes from the token's own exp claim (what the server enforces: JWT times
// are whole seconds), else from the answer's expiresAt.
func (c *Client) setAccessLocked(tok string, expiresAt time.Time) {
	c.access = tok
	exp, ok := jwtExpiry(tok)
	if !ok {
		exp = expiresAt
	}
	c.life = tokenLife{token: tok, received: c.clock.Now(), expires: exp}
}

// accessLife returns the access token in memory and its life.
func (c *Client) accessLife() tokenLife {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.life.token != c.access {
		return tokenLife{token: c.access}
	}
	return c.life
}

// jwtExpiry reads the exp claim of a JWT without verifying it (the server does).
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}, false
	}
	sec, err := claims.Exp.Float64()
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(sec*float64(time.Second))), true
}

// renewToken keeps a 1.1 session's token fresh: at renewShare of the access token's
// life it spends the refresh token (POST /api/refresh) and hands the new access token
// to the open socket in an `auth` frame, so the session is never closed 4001 and the
// connection stays up. A refresh that fails is tried again while the old token
// lasts; after that the server closes 4001 and the reconnect path refreshes as in 1.0.
func (s *session) renewToken() {
	c := s.c
	for {
		life := c.accessLife()
		if life.token == "" || life.expires.IsZero() {
			return // nothing to renew by: the 1.0 way
		}
		at := life.received.Add(time.Duration(float64(life.expires.Sub(life.received)) * renewShare))
		if !s.sleepUntil(at) {
			return
		}
		tok, err := c.refresh(s.ctx, life.token)
		if err != nil {
			if errors.Is(err, ErrSignedOut) || s.ctx.Err() != nil {
				return
			}
			left := life.expires.Sub(c.clock.Now())
			if left <= 0 {
				return
			}
			c.log.Warn("renew token", "err", err)
			if !s.sleepUntil(c.clock.Now().Add(max(renewRetryMin, left/4))) {
				return
			}
			continue
		}
		if !s.write(model.AuthFrame{Type: model.TypeAuth, Token: tok}) {
			return
		}
	}
}

// sleepUntil waits until the Client's clock reaches at; false when the session ends first.
func (s *session) sleepUntil(at time.Time) bool {
	d := at.Sub(s.c.clock.Now())
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := s.c.clock.NewTimer(d)
	select {
	case <-t.C():
		return true
	case <-s.ctx.Done():
		t.Stop()
		return false
	}
}
