package server_test

import (
	"testing"

	"github.com/coder/websocket"

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

func TestAttachmentTravelsAndIsStored(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	att := &model.Attachment{URL: "/uploads/abc.png", Name: "cat.png", Size: 1234, MIME: "image/png", Width: 40, Height: 30}
	id := model.NewMessageID()
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "", Attachment: att})
	if f := alice.ackOf(t, id); f.Type != model.TypeAck {
		t.Fatalf("attachment-only message: %+v", f)
	}
	m := bob.c.WaitType(t, model.TypeMessage)
	if m.Attachment == nil || *m.Attachment != *att {
		t.Fatalf("delivered attachment %+v", m.Attachment)
	}
	var hist model.MessagesResponse
	in.Do(t, "GET", "/api/rooms/general/messages", bob.auth.AccessToken, nil, &hist)
	if len(hist.Messages) != 1 || hist.Messages[0].Attachment == nil || *hist.Messages[0].Attachment != *att {
		t.Fatalf("stored %+v", hist.Messages)
	}
	bad := model.NewMessageID()
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: bad, RoomID: server.GeneralRoomID, Content: "x", Attachment: &model.Attachment{Name: "no url"}})
	if f := alice.ackOf(t, bad); f.Type != model.TypeError || f.Code != model.CodeInvalid {
		t.Fatalf("attachment without url: %+v", f)
	}
	// Binary frames are not part of the protocol.
	if err := alice.c.Conn.Write(t.Context(), websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if f := alice.c.WaitType(t, model.TypeError); f.Code != model.CodeInvalid {
		t.Fatalf("binary frame: %+v", f)
	}
}
