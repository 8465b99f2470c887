package server_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestHostileTokens adds the token attacks auth_test.go does not cover: an RS256 token
// (algorithm confusion), a valid token whose payload was changed, and an HS256 token
// signed with the RSA public key's bytes. Each is refused on the API and at the handshake.
func TestHostileTokens(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	cfg := testConfig()
	cfg.JWTSecret = secret
	in := servertest.Start(t, cfg)
	alice := in.Register(t, "alice", password)
	bob := in.Register(t, "bob", password)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := jwt.MapClaims{"sub": alice.UserID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	pub, err := json.Marshal(key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	// Tampered: alice's real token with bob's id in the payload, the signature kept.
	parts := strings.Split(alice.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(payload, []byte(alice.UserID), []byte(bob.UserID), 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
	// Header changed to none, signature kept.
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]

	bad := map[string]string{
		"RS256":                  sign(t, jwt.SigningMethodRS256, key, claims),
		"HS256 with public key":  sign(t, jwt.SigningMethodHS256, pub, claims),
		"tampered payload":       tampered,
		"header swapped to none": noneHeader,
		"signature stripped":     parts[0] + "." + parts[1] + ".",
	}
	for name, tok := range bad {
		if st := in.Do(t, "GET", "/api/rooms", tok, nil, nil); st != http.StatusUnauthorized {
			t.Errorf("API with %s token: %d, want 401", name, st)
		}
		c, resp, err := in.DialErr(tok, nil)
		if err == nil {
			c.Close()
			t.Errorf("%s: upgraded", name)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %v, want HTTP 401", name, err)
		}
	}
	// The real token still works.
	if st := in.Do(t, "GET", "/api/rooms", alice.AccessToken, nil, nil); st != http.StatusOK {
		t.Fatalf("real token: %d", st)
	}
}

// TestHostileFrames sends frames the other tests do not: deep nesting, a huge afterSeq,
// numbers where strings belong, a float seq. Each gets an error or an empty answer; the
// connection stays open and another user's conversation is untouched.
func TestHostileFrames(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	eve := connect(t, in, "eve")

	deep := strings.Repeat("[", 30000) + strings.Repeat("]", 30000)
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	for _, raw := range []string{
		deep,
		deepObj,
		`{"type":"message","id":7,"roomId":"general","content":"x"}`,
		`{"type":"message","id":"` + model.NewMessageID() + `","roomId":["general"],"content":"x"}`,
		`{"type":"read","roomId":"general","seq":1.5}`,
		`{"type":"read","roomId":"general","seq":1e300}`,
		`{"type":"sync","roomId":"general","afterSeq":-9223372036854775808}`,
		`{"type":"message","id":"` + model.NewMessageID() + `","roomId":"general","content":{"nested":true}}`,
		"\xff\xfe\xfd",
	} {
		eve.c.SendRaw(t, []byte(raw))
		f := eve.c.WaitFor(t, "an answer", func(f model.Frame) bool { return f.Type == model.TypeError || f.Type == model.TypeSynced })
		if f.Type != model.TypeError && f.Type != model.TypeSynced {
			t.Errorf("%.40q: %+v, want an error", raw, f)
		}
	}
	// A huge afterSeq: nothing after it, an empty synced.
	eve.c.Send(t, model.SyncFrame{Type: model.TypeSync, RoomID: server.GeneralRoomID, AfterSeq: 1 << 62})
	if f := eve.c.WaitType(t, model.TypeSynced); f.LastSeq < 0 || f.More {
		t.Errorf("huge afterSeq: %+v", f)
	}
	// A read mark beyond the room's end is clamped, not stored as is.
	eve.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: server.GeneralRoomID, Seq: 1 << 62})
	eve.c.Send(t, model.TypeFrame{Type: model.TypePing})
	eve.c.WaitType(t, model.TypePong)

	// Nobody else was disturbed: alice's message reaches bob and gets its ack.
	id := alice.send(t, server.GeneralRoomID, "still fine")
	if f := alice.ackOf(t, id); f.Type != model.TypeAck || f.Seq != 1 {
		t.Fatalf("ack %+v", f)
	}
	if m := bob.c.WaitType(t, model.TypeMessage); m.ID != id {
		t.Fatalf("bob got %+v", m)
	}
	// Read receipts never claim a seq that does not exist.
	bob.c.Send(t, model.MarkFrame{Type: model.TypeRead, RoomID: server.GeneralRoomID, Seq: 1})
	if r := alice.c.WaitType(t, model.TypeReceipt); r.Seq > 1 {
		t.Fatalf("receipt beyond the room's end: %+v", r)
	}
}

// TestOversizedAPIBodies sends bodies past the API's limit (64 KiB) and malformed ones:
// 413 or 400, never 500, and the server carries on.
func TestOversizedAPIBodies(t *testing.T) {
	in := servertest.Start(t, testConfig())
	a := in.Register(t, "alice", password)
	post := func(path, token string, body io.Reader) int {
		req, err := http.NewRequest("POST", in.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	big := `{"username":"` + strings.Repeat("a", 1<<20) + `","password":"x"}`
	for _, path := range []string{"/api/register", "/api/login", "/api/refresh"} {
		if st := post(path, "", strings.NewReader(big)); st != http.StatusRequestEntityTooLarge && st != http.StatusBadRequest {
			t.Errorf("%s with 1 MiB: %d", path, st)
		}
	}
	if st := post("/api/rooms", a.AccessToken, strings.NewReader(`{"name":"x","memberIds":["`+strings.Repeat("u", 1<<20)+`"]}`)); st != http.StatusRequestEntityTooLarge && st != http.StatusBadRequest {
		t.Errorf("create room with 1 MiB: %d", st)
	}
	// An endless body is cut at the limit too.
	if st := post("/api/login", "", io.LimitReader(zeros{}, 8<<20)); st != http.StatusRequestEntityTooLarge && st != http.StatusBadRequest {
		t.Errorf("8 MiB of zeros: %d", st)
	}
	if st := post("/api/rooms", a.AccessToken, strings.NewReader(strings.Repeat("[", 60000))); st != http.StatusBadRequest {
		t.Errorf("deep nesting: %d", st)
	}
	if st := in.Do(t, "GET", "/api/rooms", a.AccessToken, nil, nil); st != http.StatusOK {
		t.Fatalf("server hurt: %d", st)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// TestSlowHeadersClosed opens raw TCP connections that send half a request and stop
// (slowloris): the server closes them after ReadHeaderTimeout while serving others.
func TestSlowHeadersClosed(t *testing.T) {
	cfg := testConfig()
	cfg.ReadHeaderTimeout = 300 * time.Millisecond
	in := servertest.Start(t, cfg)
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", in.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Others are served meanwhile.
	if st := in.Do(t, "GET", "/healthz", "", nil, nil); st != http.StatusOK {
		t.Fatalf("healthz while held: %d", st)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(servertest.DefaultWait))
		// The server may answer 408 before closing; either way the read ends with EOF.
		_, err := io.Copy(io.Discard, bufio.NewReader(c))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection %d still open after %v", i, servertest.DefaultWait)
		}
	}
}

// TestFloodClosedOthersUnaffected floods the server from one user (message frames at
// 10,000 a second, reconnecting at once each time it is closed) while two others talk: the flooder is rate-limited and then closed with 1008
// every time, the others lose nothing. Their send→receive latency, quiet and under the
// flood, is logged (not asserted) for docs/reliability.md. The limits are the default
// burst (20) at 100 messages a second, so that alice, paced at one message every
// 15 ms, is never limited herself.
func TestFloodClosedOthersUnaffected(t *testing.T) {
	cfg := testConfig()
	cfg.MsgRate, cfg.MsgBurst = 100, 20
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	mallory := in.Register(t, "mallory", password)

	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	roundTrip := func(tag string) []time.Duration {
		var lat []time.Duration
		pace := time.NewTicker(15 * time.Millisecond) // alice's own pace, under her limit
		defer pace.Stop()
		for i := range rounds {
			<-pace.C
			start := time.Now()
			id := alice.send(t, server.GeneralRoomID, fmt.Sprintf("%s %d", tag, i))
			bob.c.WaitFor(t, "message "+id, func(f model.Frame) bool { return f.Type == model.TypeMessage && f.ID == id })
			lat = append(lat, time.Since(start))
			if f := alice.ackOf(t, id); f.Type != model.TypeAck {
				t.Fatalf("%s %d: %+v", tag, i, f)
			}
		}
		return lat
	}
	quiet := roundTrip("quiet")

	stop := make(chan struct{})
	flooded := make(chan struct{})
	closes := 0 // read after flooded is closed
	go func() {
		defer close(flooded)
		frame, _ := json.Marshal(model.SendFrame{Type: model.TypeMessage, ID: model.NewMessageID(), RoomID: server.GeneralRoomID, Content: "flood"})
		// The attacker comes back each time it is closed, for as long as alice talks.
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, _, err := in.DialErr(mallory.AccessToken, nil)
			if err != nil {
				t.Errorf("flooder dial: %v", err)
				return
			}
			// 10,000 frames a second: ten every millisecond, until closed.
			tick := time.NewTicker(time.Millisecond)
		flood:
			for sent := 0; sent < 10000; {
				<-tick.C
				for range 10 {
					if c.Conn.Write(t.Context(), websocket.MessageText, frame) != nil {
						break flood
					}
					sent++
				}
			}
			tick.Stop()
			if st := c.WaitClosed(t); st != 1008 {
				t.Errorf("flooder closed with %d, want 1008", st)
			}
			closes++
		}
	}()
	loud := roundTrip("flood")
	close(stop)
	<-flooded
	if closes == 0 {
		t.Fatal("the flooder was never closed")
	}

	// Everything alice sent is in history once.
	var page model.MessagesResponse
	n := 0
	for before := int64(0); ; {
		path := "/api/rooms/general/messages?limit=200"
		if before > 0 {
			path += fmt.Sprintf("&beforeSeq=%d", before)
		}
		page = model.MessagesResponse{}
		if st := in.Do(t, "GET", path, alice.auth.AccessToken, nil, &page); st != http.StatusOK {
			t.Fatalf("history: %d", st)
		}
		for _, m := range page.Messages {
			if m.SenderID == alice.auth.UserID {
				n++
			}
		}
		if len(page.Messages) == 0 || page.Messages[0].Seq <= 1 {
			break
		}
		before = page.Messages[0].Seq
	}
	if n != 2*rounds {
		t.Fatalf("history holds %d of alice's messages, want %d", n, 2*rounds)
	}
	t.Logf("send→receive latency, quiet: p50 %v p99 %v; under flood (%d flooder connections closed): p50 %v p99 %v",
		pct(quiet, 50), pct(quiet, 99), closes, pct(loud, 50), pct(loud, 99))
}

// pct answers the p-th percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}
