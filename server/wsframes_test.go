package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// TestWebSocketPingAnswered: a client's WebSocket ping gets its pong (the server's
// reader reports it and the writer sends the pong), and the session carries on.
func TestWebSocketPingAnswered(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	for range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := alice.c.Conn.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	alice.c.Send(t, model.TypeFrame{Type: model.TypePing})
	alice.c.WaitType(t, model.TypePong)
}

// TestFragmentedMessageTaken: a frame the client sends in several WebSocket frames is
// put together (coder/websocket writes a frame per Write of a message writer).
func TestFragmentedMessageTaken(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	id := model.NewMessageID()
	content := strings.Repeat("fragmented ", 300) + "end"
	body := fmt.Sprintf(`{"type":"message","id":%q,"roomId":"general","content":%q}`, id, content)
	w, err := alice.c.Conn.Writer(t.Context(), websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{body[:5], body[5:2000], body[2000:]} {
		if _, err := io.WriteString(w, part); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if f := alice.ackOf(t, id); f.Type != model.TypeAck {
		t.Fatalf("ack: %+v", f)
	}
	if m := bob.c.WaitType(t, model.TypeMessage); m.ID != id || m.Content != content {
		t.Fatalf("bob got %+v", m)
	}
}

// TestClientCloseEchoed: a client that closes with a code gets its code back (coder's
// Close fails unless the echo carries it) and the server logs the client's reason.
func TestClientCloseEchoed(t *testing.T) {
	var logs syncBuffer
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	in := servertest.Start(t, cfg)
	a := in.Register(t, "alice", password)
	for _, code := range []websocket.StatusCode{websocket.StatusNormalClosure, websocket.StatusGoingAway, 4000} {
		conn, _, err := websocket.Dial(t.Context(), in.WSURL+"?token="+a.AccessToken, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Close(code, "bye"); err != nil {
			t.Fatalf("close %d: %v", code, err)
		}
		want := fmt.Sprintf(`reason="client closed %d: bye"`, code)
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s in the log:\n%s", want, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitMetric(t, in, "parley_connections_open 0")
}

// rawWS opens /ws over a plain TCP connection, handshake by hand, so a test can send
// frames no WebSocket library would. It answers the connection and a reader past the
// handshake's response.
func rawWS(t *testing.T, in *servertest.Instance, token string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", in.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(nc, "GET /ws?token=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", token, in.Addr())
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	return nc, br
}

// readCloseCode reads server frames until the close frame and answers its code.
func readCloseCode(t *testing.T, br *bufio.Reader) int {
	t.Helper()
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			_, _ = io.ReadFull(br, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		if h[0]&0x0f == 0x8 {
			if len(p) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

// TestBadClientFramesClose1002: an unmasked client frame, one with a reserved bit and
// one with a reserved opcode each close the connection with 1002; the server goes on
// serving the others.
func TestBadClientFramesClose1002(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	eve := in.Register(t, "eve", password)
	ping := []byte(`{"type":"ping"}`)
	masked := func(b0 byte) []byte {
		f := []byte{b0, 0x80 | byte(len(ping)), 1, 2, 3, 4}
		for i, c := range ping {
			f = append(f, c^byte(1+i%4))
		}
		return f
	}
	for name, frame := range map[string][]byte{
		"unmasked":        append([]byte{0x81, byte(len(ping))}, ping...),
		"reserved bit":    masked(0x81 | 0x40),
		"reserved opcode": masked(0x83),
	} {
		nc, br := rawWS(t, in, eve.AccessToken)
		// A good frame first: the connection works until the bad one.
		if _, err := nc.Write(masked(0x81)); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		if code := readCloseCode(t, br); code != 1002 {
			t.Errorf("%s: close %d, want 1002", name, code)
		}
		nc.Close()
	}
	alice.c.Send(t, model.TypeFrame{Type: model.TypePing})
	alice.c.WaitType(t, model.TypePong)
}
