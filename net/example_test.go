package net_test

import (
	"context"
	"fmt"
	"log"
	"os"

	parleynet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
	"github.com/parleychat/parley/storage"
)

// The lifecycle of an app on the engine, against a real server: open the profile's
// store, make the Client, read its batches on one goroutine, Run it, sign in, wait for
// the first sync, send, and stop.
func Example() {
	dir, err := os.MkdirTemp("", "parley-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := servertest.Run(server.Config{DataDir: dir + "/server", PresenceGrace: -1})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	st, err := storage.Open(dir + "/profile") // the profile: account, rooms, messages, outbox
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	c, err := parleynet.New(parleynet.Config{Store: st, ServerURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan struct{})
	go func() {
		defer close(events)
		for b := range c.Events() { // at most one batch per frame; closed when Run returns
			_ = b // a UI applies b.Messages, b.Rooms, b.State... here
		}
	}()
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }() // connects while an account is signed in

	acct, err := c.Register(ctx, "ada", "correct horse", "Ada") // or Login
	if err != nil {
		log.Fatal(parleynet.UserMessage(err)) // "username taken", "server unreachable"...
	}
	fmt.Println("signed in as", acct.Username)
	if err := c.WaitSynced(ctx); err != nil {
		log.Fatal(err)
	}
	rooms, _ := c.Rooms() // from the store, synced
	fmt.Println("rooms:", rooms[0].Name)
	m, err := c.Send(rooms[0].ID, "hello") // returns at once: an outbox row, status sending
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Content+":", m.Status)
	if err := c.Flush(ctx); err != nil { // the outbox is empty once the server acked
		log.Fatal(err)
	}
	m, _, _ = c.Store().Get(m.RoomID, m.ID)
	fmt.Println(m.Content+":", m.Status, "seq", m.Seq)

	cancel()
	<-ran
	<-events
	// Output:
	// signed in as ada
	// rooms: general
	// hello: sending
	// hello: sent seq 1
}
