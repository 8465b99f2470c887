package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

func TestHelloOnline(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	if alice.hello.HeartbeatSeconds != 30 || alice.hello.ServerTime.IsZero() || alice.hello.DisplayName != "alice" || len(alice.hello.Online) != 0 {
		t.Fatalf("hello = %+v", alice.hello)
	}
	bob := connect(t, in, "bob")
	if len(bob.hello.Online) != 1 || bob.hello.Online[0] != alice.auth.UserID {
		t.Fatalf("bob's hello online = %v", bob.hello.Online)
	}
	if f := alice.c.WaitType(t, model.TypeUserJoined); f.UserID != bob.auth.UserID || f.DisplayName != "bob" {
		t.Fatalf("user_joined = %+v", f)
	}
}

func TestSpoofedSenderIgnored(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	id := model.NewMessageID()
	alice.c.Send(t, model.Frame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "hi",
		SenderID: bob.auth.UserID, SenderName: "bob", Timestamp: model.NewTime(time.Unix(0, 0))})
	m := bob.c.WaitType(t, model.TypeMessage)
	if m.SenderID != alice.auth.UserID || m.SenderName != "alice" || m.Timestamp.Year() < 2000 {
		t.Fatalf("message = %+v", m)
	}
}

func TestResendGetsSameAckAndIsStoredOnce(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	id := model.NewMessageID()
	send := model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: server.GeneralRoomID, Content: "once"}
	alice.c.Send(t, send)
	first := alice.ackOf(t, id)
	alice.c.Send(t, send)
	second := alice.ackOf(t, id)
	if first.Type != model.TypeAck || first.Seq != second.Seq || !first.Timestamp.Equal(second.Timestamp.Time) {
		t.Fatalf("acks differ: %+v %+v", first, second)
	}
	// Twice in one batch too.
	id2 := model.NewMessageID()
	dup := model.SendFrame{Type: model.TypeMessage, ID: id2, RoomID: server.GeneralRoomID, Content: "twice"}
	alice.c.Send(t, dup)
	alice.c.Send(t, dup)
	a1, a2 := alice.ackOf(t, id2), alice.ackOf(t, id2)
	if a1.Seq != 2 || a2.Seq != 2 {
		t.Fatalf("acks of a doubled send: %d %d, want 2 2", a1.Seq, a2.Seq)
	}
	last := alice.send(t, server.GeneralRoomID, "marker")
	alice.ackOf(t, last)
	var got []string
	for len(got) == 0 || got[len(got)-1] != last {
		got = append(got, bob.c.WaitType(t, model.TypeMessage).ID)
	}
	if want := []string{id, id2, last}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("bob got %v, want %v", got, want)
	}
	var hist model.MessagesResponse
	in.Do(t, "GET", "/api/rooms/general/messages", bob.auth.AccessToken, nil, &hist)
	if len(hist.Messages) != 3 {
		t.Fatalf("stored %d messages, want 3", len(hist.Messages))
	}
}

func TestSyncReplaysInOrderAndPages(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	const n = 620
	var last string
	for i := 1; i <= n; i++ {
		last = alice.send(t, server.GeneralRoomID, fmt.Sprintf("m%d", i))
	}
	alice.ackOf(t, last)
	bob := connect(t, in, "bob")
	var rooms model.RoomsResponse
	in.Do(t, "GET", "/api/rooms", bob.auth.AccessToken, nil, &rooms)
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].LastSeq != n || rooms.Rooms[0].Unread != n {
		t.Fatalf("rooms = %+v", rooms)
	}
	epoch := rooms.Rooms[0].Epoch
	after := int64(0)
	pages := 0
	for {
		bob.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: after})
		count := 0
		for {
			f := bob.c.Next(t)
			if f.Type == model.TypeSynced {
				if f.Seq != n || f.Epoch != epoch || f.RoomID != server.GeneralRoomID {
					t.Fatalf("synced = %+v", f)
				}
				if f.More != (after < n) {
					t.Fatalf("synced.more = %v after %d", f.More, after)
				}
				break
			}
			if f.Type != model.TypeMessage {
				continue
			}
			count++
			if f.Seq != after+1 || f.Content != fmt.Sprintf("m%d", f.Seq) {
				t.Fatalf("replayed seq %d (%q) after %d", f.Seq, f.Content, after)
			}
			after = f.Seq
		}
		pages++
		if count > model.SyncPageSize {
			t.Fatalf("page of %d", count)
		}
		if after == n {
			break
		}
	}
	if pages != 2 {
		t.Fatalf("%d pages, want 2", pages)
	}
	bob.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: n})
	if f := bob.c.Next(t); f.Type != model.TypeSynced || f.More {
		t.Fatalf("sync at the end: %+v", f)
	}
	bob.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: -1})
	if f := bob.c.Next(t); f.Type != model.TypeError || f.Code != model.CodeInvalid {
		t.Fatalf("negative afterSeq: %+v", f)
	}
}

func TestBadFramesAnswerErrors(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	good := model.NewMessageID()
	cases := []struct {
		name  string
		frame any
		code  string
		id    string
	}{
		{"too large", model.SendFrame{Type: model.TypeMessage, ID: good, RoomID: "general", Content: strings.Repeat("é", 4001)}, model.CodeTooLarge, good},
		{"blank", model.SendFrame{Type: model.TypeMessage, ID: good, RoomID: "general", Content: " \n\t\x01"}, model.CodeInvalid, good},
		{"id not a uuid", model.SendFrame{Type: model.TypeMessage, ID: "m-1", RoomID: "general", Content: "x"}, model.CodeInvalid, "m-1"},
		{"unknown type", map[string]any{"type": "teleport"}, model.CodeInvalid, ""},
		{"no type", map[string]any{"roomId": "general"}, model.CodeInvalid, ""},
		{"wrong field type", map[string]any{"type": "sync", "afterSeq": "zero"}, model.CodeInvalid, ""},
		{"no such room", model.SendFrame{Type: model.TypeMessage, ID: good, RoomID: "nowhere", Content: "x"}, model.CodeForbidden, good},
	}
	for _, c := range cases {
		alice.c.Send(t, c.frame)
		f := alice.c.Next(t)
		if f.Type != model.TypeError || f.Code != c.code || f.ID != c.id {
			t.Errorf("%s: %+v, want error %s naming %q", c.name, f, c.code, c.id)
		}
	}
	alice.c.SendRaw(t, []byte(`{"type":"message","id":"`+good+`","roomId":"general","content":"a`+"\xff"+`b"}`))
	if f := alice.c.Next(t); f.Type != model.TypeError || f.Code != model.CodeInvalid || f.ID != good {
		t.Errorf("invalid UTF-8: %+v", f)
	}
	for _, raw := range []string{`{"type":`, `[1,2]`, `null`, ``} {
		alice.c.SendRaw(t, []byte(raw))
		if f := alice.c.Next(t); f.Type != model.TypeError || f.Code != model.CodeInvalid {
			t.Errorf("malformed %q: %+v", raw, f)
		}
	}
	// Still open, and control characters are cleaned away.
	alice.c.Send(t, model.TypeFrame{Type: model.TypePing})
	if f := alice.c.Next(t); f.Type != model.TypePong {
		t.Fatalf("ping answered %+v", f)
	}
	id := alice.send(t, server.GeneralRoomID, "a\x00b\x07c\td")
	alice.ackOf(t, id)
	if m := alice.c.WaitType(t, model.TypeMessage); m.Content != "abc\td" {
		t.Fatalf("content %q", m.Content)
	}
}

func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MsgRate, cfg.MsgBurst = 0.001, 2
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	ids := []string{alice.send(t, "general", "1"), alice.send(t, "general", "2"), alice.send(t, "general", "3")}
	// The refusal is immediate and the ack waits for the commit: they may come in
	// either order.
	got := map[string]model.Frame{}
	for len(got) < 2 {
		f := alice.c.WaitFor(t, "the answers to the second and third", func(f model.Frame) bool {
			return (f.Type == model.TypeAck || f.Type == model.TypeError) && (f.ID == ids[1] || f.ID == ids[2])
		})
		got[f.ID] = f
	}
	if f := got[ids[2]]; f.Type != model.TypeError || f.Code != model.CodeRateLimited {
		t.Fatalf("third send: %+v", f)
	}
	if f := got[ids[1]]; f.Type != model.TypeAck {
		t.Fatalf("second send: %+v", f)
	}
	// 200 refusals within a minute close the connection.
	for i := 0; i < 199; i++ {
		alice.send(t, "general", "more")
	}
	if st := alice.c.WaitClosed(t); st != websocket.StatusPolicyViolation {
		t.Fatalf("close %d, want 1008", st)
	}
	// The count is the user's, not the connection's: coming back within the minute,
	// the first refusal closes again.
	again := reconnect(t, in, alice)
	id := again.send(t, "general", "once more")
	if f := again.ackOf(t, id); f.Type != model.TypeError || f.Code != model.CodeRateLimited {
		t.Fatalf("after reconnecting: %+v", f)
	}
	if st := again.c.WaitClosed(t); st != websocket.StatusPolicyViolation {
		t.Fatalf("after reconnecting: close %d, want 1008", st)
	}
}

func TestHugeFrameCloses1009(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	big := fmt.Sprintf(`{"type":"message","id":%q,"roomId":"general","content":%q}`, model.NewMessageID(), strings.Repeat("x", 100<<10))
	alice.c.SendRaw(t, []byte(big))
	if st := alice.c.WaitClosed(t); st != websocket.StatusMessageTooBig {
		t.Fatalf("close %d, want 1009", st)
	}
}

func TestNonMemberRefused(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	carol := connect(t, in, "carol")
	var room model.Room
	if st := in.Do(t, "POST", "/api/rooms", alice.auth.AccessToken, model.CreateRoomRequest{Name: "secret", MemberIDs: []string{bob.auth.UserID}}, &room); st != 201 {
		t.Fatalf("create: %d", st)
	}
	id := carol.send(t, room.ID, "let me in")
	if f := carol.ackOf(t, id); f.Type != model.TypeError || f.Code != model.CodeForbidden {
		t.Fatalf("send: %+v", f)
	}
	for _, fr := range []any{
		model.SyncFrame{Type: model.TypeSync, RoomID: room.ID},
		model.MarkFrame{Type: model.TypeRead, RoomID: room.ID, Seq: 1},
		model.MarkFrame{Type: model.TypeDelivered, RoomID: room.ID, Seq: 1},
		model.RoomOnlyFrame{Type: model.TypeTyping, RoomID: room.ID},
	} {
		carol.c.Send(t, fr)
		if f := carol.c.WaitFor(t, "error", func(f model.Frame) bool { return f.Type == model.TypeError }); f.Code != model.CodeForbidden {
			t.Fatalf("%+v: %+v", fr, f)
		}
	}
	if st := in.Do(t, "GET", "/api/rooms/"+room.ID+"/messages", carol.auth.AccessToken, nil, nil); st != 403 {
		t.Fatalf("history: %d, want 403", st)
	}
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/join", carol.auth.AccessToken, nil, nil); st != 403 {
		t.Fatalf("join private: %d, want 403", st)
	}
}

func TestReceiptsReachOtherMembers(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, alice.send(t, "general", "hi"))
	}
	alice.ackOf(t, ids[2])
	bob.c.Send(t, model.MarkFrame{Type: model.TypeDelivered, RoomID: "general", Seq: 3})
	r := alice.c.WaitType(t, model.TypeReceipt)
	if r.UserID != bob.auth.UserID || r.RoomID != "general" || r.DeliveredSeq != 3 || r.ReadSeq != 0 {
		t.Fatalf("receipt %+v", r)
	}
	// Backwards marks are ignored; a read beyond the room's end is clamped.
	bob.c.Send(t, model.MarkFrame{Type: model.TypeDelivered, RoomID: "general", Seq: 1})
	bob.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: "general", Seq: 2})
	r = alice.c.WaitType(t, model.TypeReceipt)
	if r.DeliveredSeq != 3 || r.ReadSeq != 2 {
		t.Fatalf("receipt %+v, want delivered 3 read 2", r)
	}
	bob.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: "general", Seq: 99})
	r = alice.c.WaitType(t, model.TypeReceipt)
	if r.DeliveredSeq != 3 || r.ReadSeq != 3 {
		t.Fatalf("receipt %+v, want read 3", r)
	}
	var rooms model.RoomsResponse
	in.Do(t, "GET", "/api/rooms", bob.auth.AccessToken, nil, &rooms)
	if rooms.Rooms[0].Unread != 0 {
		t.Fatalf("bob's unread %d", rooms.Rooms[0].Unread)
	}
	in.Do(t, "GET", "/api/rooms", alice.auth.AccessToken, nil, &rooms)
	if rooms.Rooms[0].Unread != 0 {
		t.Fatalf("alice's unread %d, want 0: her own messages are never unread", rooms.Rooms[0].Unread)
	}
}

// TestOwnMarksReachOtherSessions (1.1): a user's read mark from one session reaches
// the user's other sessions as a receipt with the user's own id, not the session that
// sent it; GET /api/rooms answers unread from the same mark; a sync replay ends with
// the marks a device cannot have heard while away (its user's own and the other
// members' furthest), before synced.
func TestOwnMarksReachOtherSessions(t *testing.T) {
	in := servertest.Start(t, testConfig())
	phone := connect(t, in, "alice")
	laptop := reconnect(t, in, phone)
	bob := connect(t, in, "bob")
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, bob.send(t, "general", "hi"))
	}
	bob.ackOf(t, ids[2])
	var rooms model.RoomsResponse
	in.Do(t, "GET", "/api/rooms", phone.auth.AccessToken, nil, &rooms)
	if rooms.Rooms[0].Unread != 3 {
		t.Fatalf("alice's unread %d, want 3", rooms.Rooms[0].Unread)
	}
	phone.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: "general", Seq: 3})
	r := laptop.c.WaitType(t, model.TypeReceipt)
	if r.UserID != phone.auth.UserID || r.RoomID != "general" || r.ReadSeq != 3 {
		t.Fatalf("the laptop got %+v, want alice's own read 3", r)
	}
	if r := bob.c.WaitType(t, model.TypeReceipt); r.UserID != phone.auth.UserID || r.ReadSeq != 3 {
		t.Fatalf("bob got %+v", r)
	}
	// The phone that sent the mark hears nothing back: its next frame is the pong.
	phone.c.Send(t, model.TypeFrame{Type: model.TypePing})
	if f := phone.c.WaitFor(t, "pong or receipt", func(f model.Frame) bool {
		return f.Type == model.TypePong || f.Type == model.TypeReceipt
	}); f.Type != model.TypePong {
		t.Fatalf("the sending session got %+v", f)
	}
	in.Do(t, "GET", "/api/rooms", laptop.auth.AccessToken, nil, &rooms)
	if rooms.Rooms[0].Unread != 0 {
		t.Fatalf("unread %d after the read on the phone", rooms.Rooms[0].Unread)
	}

	// bob delivered and read up to 2 on another device; a new device of bob's syncs.
	bob.c.Send(t, model.MarkFrame{Type: model.TypeDelivered, RoomID: "general", Seq: 3})
	bob.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: "general", Seq: 2})
	phone.c.WaitFor(t, "bob's read", func(f model.Frame) bool { return f.Type == model.TypeReceipt && f.ReadSeq == 2 })
	tablet := reconnect(t, in, phone)
	tablet.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: "general", AfterSeq: 0})
	marks := map[string]model.Frame{}
	for {
		f := tablet.c.WaitFor(t, "the replay", func(f model.Frame) bool {
			return f.Type == model.TypeReceipt || f.Type == model.TypeSynced
		})
		if f.Type == model.TypeSynced {
			break
		}
		marks[f.UserID] = f
	}
	if m := marks[phone.auth.UserID]; m.ReadSeq != 3 {
		t.Fatalf("the replay's own mark: %+v", m)
	}
	if m := marks[bob.auth.UserID]; m.ReadSeq != 2 || m.DeliveredSeq != 3 {
		t.Fatalf("the replay's mark of bob: %+v (all %v)", m, marks)
	}
}

func TestTypingRelayAndExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.TypingExpiry = 300 * time.Millisecond
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	isTyping := func(f model.Frame) bool { return f.Type == model.TypeTyping || f.Type == model.TypeStopTyping }
	alice.c.Send(t, model.RoomOnlyFrame{Type: model.TypeTyping, RoomID: "general"})
	alice.c.Send(t, model.RoomOnlyFrame{Type: model.TypeTyping, RoomID: "general"})
	alice.c.Send(t, model.RoomOnlyFrame{Type: model.TypeStopTyping, RoomID: "general"})
	f := bob.c.WaitFor(t, "typing", isTyping)
	if f.Type != model.TypeTyping || f.UserID != alice.auth.UserID || f.DisplayName != "alice" || f.RoomID != "general" {
		t.Fatalf("typing %+v", f)
	}
	// The second typing within a second was dropped; stop_typing always comes.
	if f := bob.c.WaitFor(t, "stop_typing", isTyping); f.Type != model.TypeStopTyping {
		t.Fatalf("after typing: %+v", f)
	}
	// Without a refresh the server ends the mark itself.
	bob.c.Send(t, model.RoomOnlyFrame{Type: model.TypeTyping, RoomID: "general"})
	if f := alice.c.WaitFor(t, "typing", isTyping); f.Type != model.TypeTyping || f.UserID != bob.auth.UserID {
		t.Fatalf("typing %+v", f)
	}
	if f := alice.c.WaitFor(t, "expiry", isTyping); f.Type != model.TypeStopTyping || f.UserID != bob.auth.UserID {
		t.Fatalf("expiry %+v", f)
	}
}

func TestPresenceGrace(t *testing.T) {
	cfg := testConfig()
	cfg.PresenceGrace = 2 * time.Second
	in := servertest.Start(t, cfg)
	bob := connect(t, in, "bob")
	alice := connect(t, in, "alice")
	isPresence := func(f model.Frame) bool {
		return f.Type == model.TypeUserJoined || f.Type == model.TypeUserLeft || f.Type == model.TypeMessage
	}
	if f := bob.c.WaitFor(t, "user_joined", isPresence); f.Type != model.TypeUserJoined || f.UserID != alice.auth.UserID {
		t.Fatalf("%+v", f)
	}
	// A reconnect within the grace shows neither user_left nor user_joined.
	alice.c.Close()
	c2 := in.Dial(t, alice.auth.AccessToken)
	if h := c2.Next(t); h.Type != model.TypeHello {
		t.Fatalf("%+v", h)
	}
	id := model.NewMessageID()
	c2.Send(t, model.SendFrame{Type: model.TypeMessage, ID: id, RoomID: "general", Content: "back"})
	if f := bob.c.WaitFor(t, "marker", isPresence); f.Type != model.TypeMessage || f.ID != id {
		t.Fatalf("after reconnect bob got %+v", f)
	}
	c2.Close()
	if f := bob.c.WaitFor(t, "user_left", isPresence); f.Type != model.TypeUserLeft || f.UserID != alice.auth.UserID {
		t.Fatalf("%+v", f)
	}
	var users model.UsersResponse
	in.Do(t, "GET", "/api/users?query=", bob.auth.AccessToken, nil, &users)
	for _, u := range users.Users {
		if u.Online != (u.UserID == bob.auth.UserID) {
			t.Fatalf("users %+v", users.Users)
		}
	}
}

func TestServerPingDropsSilentClient(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval, cfg.PingTimeout = 50*time.Millisecond, 200*time.Millisecond
	in := servertest.Start(t, cfg)
	a := in.Register(t, "alice", password)
	// A live client answers pings (its reader runs) and stays.
	live := in.Dial(t, a.AccessToken)
	live.Next(t)
	// A raw connection that never reads never answers a ping.
	conn, _, err := websocket.Dial(t.Context(), in.WSURL+"?token="+a.AccessToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	waitMetric(t, in, "parley_connections_open 1")
	live.Send(t, model.TypeFrame{Type: model.TypePing})
	if f := live.WaitType(t, model.TypePong); f.Type != model.TypePong {
		t.Fatal(f)
	}
}

// TestHeartbeatingClientNotPinged: a client that sends its heartbeats shows it is
// alive, so the server does not ping it. The client here never reads, so a server
// ping would go unanswered and close it after PingTimeout; it is still open after
// five times that, and its pongs are all there when it reads.
func TestHeartbeatingClientNotPinged(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval, cfg.PingTimeout = 50*time.Millisecond, 200*time.Millisecond
	in := servertest.Start(t, cfg)
	a := in.Register(t, "alice", password)
	conn, _, err := websocket.Dial(t.Context(), in.WSURL+"?token="+a.AccessToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	const beats = 20
	for range beats {
		if err := conn.Write(t.Context(), websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
		time.Sleep(cfg.PingTimeout / 4) // the client's heartbeat period, short for the test
	}
	pongs := 0
	for pongs < beats {
		_, b, err := conn.Read(t.Context())
		if err != nil {
			t.Fatalf("after %d pongs: %v (the server pinged a client that keeps its heartbeat)", pongs, err)
		}
		var f model.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type == model.TypePong {
			pongs++
		}
	}
}

func TestSlowConsumerClosedOthersUnaffected(t *testing.T) {
	cfg := testConfig()
	cfg.SendQueue = 64
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	b := in.Register(t, "bob", password)
	// Bob never reads: once the socket buffers are full his queue fills.
	conn, _, err := websocket.Dial(t.Context(), in.WSURL+"?token="+b.AccessToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	big := strings.Repeat("x", 3900)
	deadline := time.Now().Add(30 * time.Second)
	for round := 0; !hasMetric(t, in, "parley_slow_consumers_total 1"); round++ {
		if time.Now().After(deadline) {
			t.Fatal("slow consumer never closed")
		}
		for k := 0; k < 20; k++ {
			var last string
			for i := 0; i < 10; i++ {
				last = alice.send(t, "general", big)
			}
			if f := alice.ackOf(t, last); f.Type != model.TypeAck {
				t.Fatalf("alice's send: %+v", f)
			}
		}
	}
	waitMetric(t, in, "parley_connections_open 1")
	// Alice is still served.
	if f := alice.ackOf(t, alice.send(t, "general", "still here")); f.Type != model.TypeAck {
		t.Fatalf("%+v", f)
	}
}

func TestShutdownClosesWith1001(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	in.Stop(t)
	if st := alice.c.WaitClosed(t); st != websocket.StatusGoingAway {
		t.Fatalf("close %d, want 1001", st)
	}
}

// TestFrameSizesAroundTheSmallBuffer: the reader keeps frames of up to 16 bytes in a
// buffer of the session's own and reads bigger ones into a buffer each; frames on
// either side of that size are answered alike, in order, and a message sent right
// after them arrives whole.
func TestFrameSizesAroundTheSmallBuffer(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	for _, raw := range []string{
		`{"type":"ping"}`,   // 15 bytes: the heartbeat
		`{"type":"ping"} `,  // 16
		`{"type":"ping"}  `, // 17
		" \n" + `{"type":"ping"}` + strings.Repeat(" ", 600), // more than the first buffer
	} {
		alice.c.SendRaw(t, []byte(raw))
		if f := alice.c.Next(t); f.Type != model.TypePong {
			t.Fatalf("%d bytes: %s, want pong", len(raw), f.Type)
		}
	}
	for _, raw := range []string{`{"type":"x"}`, `{"type":"xyz1"}`, `{"type":"wxyz1"}`, `{}`} {
		alice.c.SendRaw(t, []byte(raw))
		if f := alice.c.Next(t); f.Type != model.TypeError || f.Code != model.CodeInvalid {
			t.Fatalf("%q: %s %s, want error invalid", raw, f.Type, f.Code)
		}
	}
	content := strings.Repeat("é", 300)
	id := alice.send(t, server.GeneralRoomID, content)
	if f := alice.c.WaitType(t, model.TypeMessage); f.ID != id || f.Content != content {
		t.Fatalf("message %q with %d bytes, want %q with %d", f.ID, len(f.Content), id, len(content))
	}
}

// TestRateLimitKeepsConnectionOrder: behind a message refused for the rate limit, the
// connection's later messages to the room are refused as well, even when a token is
// free again, until the refused one is sent again: one connection's messages take
// seqs in the order they were sent.
func TestRateLimitKeepsConnectionOrder(t *testing.T) {
	in, advance := oneASecond(t)
	alice := connect(t, in, "alice")
	one := alice.send(t, "general", "1")
	if f := alice.ackOf(t, one); f.Type != model.TypeAck || f.Seq != 1 {
		t.Fatalf("first: %+v", f)
	}
	two := alice.send(t, "general", "2")
	if f := alice.ackOf(t, two); f.Type != model.TypeError || f.Code != model.CodeRateLimited {
		t.Fatalf("second: %+v", f)
	}
	advance(time.Second) // a token is free again
	three := alice.send(t, "general", "3")
	if f := alice.ackOf(t, three); f.Type != model.TypeError || f.Code != model.CodeRateLimited {
		t.Fatalf("third, behind the refused second: %+v", f)
	}
	// The held message passes; then the third waits for its own token.
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: two, RoomID: "general", Content: "2"})
	if f := alice.ackOf(t, two); f.Type != model.TypeAck || f.Seq != 2 {
		t.Fatalf("second again: %+v", f)
	}
	advance(time.Second)
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: three, RoomID: "general", Content: "3"})
	if f := alice.ackOf(t, three); f.Type != model.TypeAck || f.Seq != 3 {
		t.Fatalf("third again: %+v", f)
	}
}

// oneASecond starts a server that takes one message or update a second (burst 1) on
// a fake clock that only advance moves.
func oneASecond(t *testing.T) (in *servertest.Instance, advance func(time.Duration)) {
	t.Helper()
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.MsgRate, cfg.MsgBurst = 1, 1
	cfg.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	return servertest.Start(t, cfg), func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
}

// TestRateLimitHoldsUpdatesAndMessages: messages and updates share the hold of
// TestRateLimitKeepsConnectionOrder. Behind an edit refused for the rate limit a
// later message waits, and behind a refused message a later reaction, until the
// refused one is sent again: the connection's frames take seqs in the order sent.
func TestRateLimitHoldsUpdatesAndMessages(t *testing.T) {
	in, advanceBy := oneASecond(t)
	advance := func() { advanceBy(time.Second) } // a token is free again
	alice := connect(t, in, "alice")
	m1 := alice.send(t, "general", "1")
	if f := alice.wantAck(t, m1); f.Seq != 1 {
		t.Fatalf("first: %+v", f)
	}
	edit := editFrame("general", m1, "1, edited")
	edit.ID = alice.sendUpdate(t, edit)
	alice.wantError(t, edit.ID, model.CodeRateLimited)
	advance()
	m2 := alice.send(t, "general", "2")
	alice.wantError(t, m2, model.CodeRateLimited) // behind the edit
	alice.c.Send(t, edit)
	if f := alice.wantAck(t, edit.ID); f.Seq != 2 {
		t.Fatalf("the edit again: %+v", f)
	}
	advance()
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: m2, RoomID: "general", Content: "2"})
	if f := alice.wantAck(t, m2); f.Seq != 3 {
		t.Fatalf("the second message again: %+v", f)
	}

	m3 := alice.send(t, "general", "3")
	alice.wantError(t, m3, model.CodeRateLimited)
	advance()
	react := reactFrame("general", m1, "👍", true)
	react.ID = alice.sendUpdate(t, react)
	alice.wantError(t, react.ID, model.CodeRateLimited) // behind the third message
	alice.c.Send(t, model.SendFrame{Type: model.TypeMessage, ID: m3, RoomID: "general", Content: "3"})
	if f := alice.wantAck(t, m3); f.Seq != 4 {
		t.Fatalf("the third message again: %+v", f)
	}
	advance()
	alice.c.Send(t, react)
	if f := alice.wantAck(t, react.ID); f.Seq != 5 {
		t.Fatalf("the reaction again: %+v", f)
	}
}
