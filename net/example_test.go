package net_test

import (
	"context"
	"fmt"
	"log"

	parleynet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/storage"
)

// The shape of an app on the engine: one goroutine reads the batches, Run keeps the
// connection, and the screens call Send, MarkRead, Typing.
func Example() {
	st, err := storage.Open("/path/to/profile")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	c, err := parleynet.New(parleynet.Config{Store: st, ServerURL: "http://127.0.0.1:8787"})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for b := range c.Events() { // at most one batch per frame
			if b.State != nil {
				fmt.Println("connection:", b.State.State)
			}
			for _, m := range b.Messages {
				fmt.Println(m.Seq, m.SenderName, m.Content, m.Status)
			}
		}
	}()
	go c.Run(ctx)

	if _, err := c.Login(ctx, "ada", "correct horse"); err != nil {
		log.Fatal(parleynet.UserMessage(err)) // "wrong username or password", "server unreachable"...
	}
	if err := c.WaitSynced(ctx); err != nil {
		log.Fatal(err)
	}
	rooms, _ := c.Rooms()
	if _, err := c.Send(rooms[0].ID, "hello"); err != nil { // returns at once: status sending
		log.Fatal(err)
	}
}
