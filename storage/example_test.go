package storage_test

import (
	"fmt"
	"log"
	"os"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// Open a profile's store, queue a message, take in what the server sent, and show the
// room as a chat screen would: messages with a seq, then the pending own one.
func Example() {
	dir, err := os.MkdirTemp("", "parley-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := storage.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveAccount(storage.Account{ServerURL: "https://chat.example", UserID: "u1", Username: "ada", DisplayName: "Ada"}); err != nil {
		log.Fatal(err)
	}

	// Typed while offline: stored with status sending and queued in the outbox.
	if _, err := s.Enqueue(model.Message{RoomID: "general", Content: "on my way"}); err != nil {
		log.Fatal(err)
	}
	// Then a sync brings in what others wrote.
	if _, err := s.SaveIncoming([]model.Message{
		{ID: model.NewMessageID(), RoomID: "general", Seq: 1, SenderID: "u2", SenderName: "Bob", Content: "hi all"},
		{ID: model.NewMessageID(), RoomID: "general", Seq: 2, SenderID: "u3", SenderName: "Cy", Content: "hello"},
	}); err != nil {
		log.Fatal(err)
	}

	latest, err := s.Latest("general", 50)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range latest {
		if m.Own {
			fmt.Printf("%d %s: %s (%s)\n", m.Seq, m.SenderName, m.Content, m.Status)
			continue
		}
		fmt.Printf("%d %s: %s\n", m.Seq, m.SenderName, m.Content)
	}
	n, _ := s.OutboxLen()
	fmt.Println("queued:", n)
	// Output:
	// 1 Bob: hi all
	// 2 Cy: hello
	// 0 Ada: on my way (sending)
	// queued: 1
}
