package server_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

const password = "correct horse"

// testConfig is a configuration with short durations for tests.
func testConfig() server.Config {
	return server.Config{
		PresenceGrace: 300 * time.Millisecond,
		MsgRate:       1000,
		MsgBurst:      1000,
	}
}

// user is a registered user with a connected client that has read its hello.
type user struct {
	auth  model.AuthResponse
	c     *servertest.Client
	hello model.Frame
}

func connect(t testing.TB, in *servertest.Instance, name string) *user {
	t.Helper()
	return dialAs(t, in, in.Register(t, name, password))
}

// reconnect dials again with u's token and reads the hello.
func reconnect(t testing.TB, in *servertest.Instance, u *user) *user {
	t.Helper()
	return dialAs(t, in, u.auth)
}

// dialAs opens a WebSocket with a's token and reads the hello.
func dialAs(t testing.TB, in *servertest.Instance, a model.AuthResponse) *user {
	t.Helper()
	c := in.Dial(t, a.AccessToken)
	h := c.Next(t)
	if h.Type != model.TypeHello {
		t.Fatalf("first frame %q, want hello", h.Type)
	}
	return &user{auth: a, c: c, hello: h}
}

// send sends a message and answers its id.
func (u *user) send(t testing.TB, roomID, content string) string {
	t.Helper()
	id := model.NewMessageID()
	u.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: roomID, Content: content})
	return id
}

// ackOf waits for the ack (or error) naming id.
func (u *user) ackOf(t testing.TB, id string) model.Frame {
	t.Helper()
	return u.c.WaitFor(t, "ack of "+id, func(f model.Frame) bool {
		return (f.Type == model.TypeAck || f.Type == model.TypeError) && f.ID == id
	})
}

// waitUntil polls cond, for state that announces no event (a store, a folder, the
// hub), until it holds; the test fails after servertest.DefaultWait.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(servertest.DefaultWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
