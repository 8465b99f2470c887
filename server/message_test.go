package server_test

import (
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

func TestSendAckDeliver(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")

	id := alice.send(t, server.GeneralRoomID, "hello bob")
	ack := alice.ackOf(t, id)
	if ack.Type != model.TypeAck || ack.Seq != 1 || ack.RoomID != server.GeneralRoomID || ack.Timestamp.IsZero() {
		t.Fatalf("ack = %+v", ack)
	}
	m := bob.c.WaitType(t, model.TypeMessage)
	if m.ID != id || m.Seq != 1 || m.Content != "hello bob" || m.SenderID != alice.auth.UserID || m.SenderName != "alice" {
		t.Fatalf("message = %+v", m)
	}
}
