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
	_, up, _ := upload(t, in, alice.auth.AccessToken, "cat.png", pngOf(t, 40, 30))
	att := &model.Attachment{URL: up.URL, Name: "cat.png", Size: up.Size, MIME: "image/png", Width: 40, Height: 30, ThumbURL: up.ThumbURL}
	id := model.NewMessageID()
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "", Attachment: &model.Attachment{URL: up.URL}})
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
