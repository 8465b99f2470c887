// Command memflood floods a room for scripts/memory.sh: it signs up (or signs in) a
// user on a Parley server and sends -n messages into -room over one WebSocket, at most
// -rate a second (varied lengths, every eleventh long enough to wrap), then waits for
// every ack.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	pnet "github.com/parleychat/parley/net"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8787", "the server's URL")
	n := flag.Int("n", 10000, "messages to send")
	rate := flag.Int("rate", 300, "messages a second")
	room := flag.String("room", "general", "the room to flood")
	user := flag.String("user", "flooder", "the sender's username (password password-123)")
	flag.Parse()
	ctx := context.Background()
	api, err := pnet.NewAPI(*server, nil)
	if err != nil {
		log.Fatalf("server URL: %v", err)
	}
	auth, err := api.Register(ctx, *user, "password-123", *user)
	if err != nil {
		if auth, err = api.Login(ctx, *user, "password-123"); err != nil {
			log.Fatalf("sign up or in as %s: %v", *user, err)
		}
	}
	_, _ = api.JoinRoom(ctx, auth.AccessToken, *room)
	h := http.Header{"Authorization": {"Bearer " + auth.AccessToken}}
	ws, _, err := websocket.Dial(ctx, api.WebSocketURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		log.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	acks := make(chan struct{}, *n)
	go func() {
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var f struct{ Type, Code, Message string }
			_ = json.Unmarshal(data, &f)
			switch f.Type {
			case "ack":
				acks <- struct{}{}
			case "error":
				log.Printf("error %s %s", f.Code, f.Message)
			}
		}
	}()
	words := "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
	t0 := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	for i := 1; i <= *n; i++ {
		<-tick.C
		text := fmt.Sprintf("flood %d ", i) + words[:i*7%len(words)]
		if i%11 == 0 {
			text += words + words
		}
		b, _ := json.Marshal(map[string]string{"type": "message", "id": uuid.NewString(), "roomId": *room, "content": text})
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			log.Fatalf("send %d: %v", i, err)
		}
	}
	for i := 0; i < *n; i++ {
		select {
		case <-acks:
		case <-time.After(60 * time.Second):
			log.Fatalf("%d of %d acked", i, *n)
		}
	}
	log.Printf("sent and acked %d in %v", *n, time.Since(t0))
	ws.Close(websocket.StatusNormalClosure, "")
}
