package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parleychat/parley/model"
	pnet "github.com/parleychat/parley/net"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
	"github.com/parleychat/parley/storage"
)

// startClient runs a real engine on its own store against url and registers user.
func startClient(t *testing.T, url, user string) *pnet.Client {
	t.Helper()
	st, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := pnet.New(pnet.Config{ServerURL: url, Store: st, MarkInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer rcancel()
	if _, err := c.Register(rctx, user, "password123", ""); err != nil {
		t.Fatalf("register %s: %v", user, err)
	}
	if err := c.WaitSynced(rctx); err != nil {
		t.Fatalf("%s synced: %v", user, err)
	}
	return c
}

// pump applies the engine's batches to the shell on the test goroutine (what the bridge
// does through fyne.Do) until cond holds, failing after a deadline.
func pump(t *testing.T, c *pnet.Client, eng *clientEngine, s *shell, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !cond() {
		select {
		case b := <-c.Events():
			s.apply(eng.updateOf(b))
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// drain reads bob's events so that his engine never waits on them.
func drain(t *testing.T, c *pnet.Client) {
	go func() {
		for range c.Events() {
		}
	}()
}

func TestEndToEndWithRealServerEngineAndStore(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	alice := startClient(t, srv.URL, "alice")
	bob := startClient(t, srv.URL, "bob")
	drain(t, bob)

	test.NewTempApp(t)
	eng := newClientEngine(alice)
	win := test.NewTempWindow(t, nil)
	s := newShell(win, eng, inlineRunner(), false)
	win.SetContent(s.content)
	win.Resize(fyne.NewSize(900, 600))
	s.loadRooms(server.GeneralRoomID)
	if s.chat == nil || s.chat.room.ID != server.GeneralRoomID {
		t.Fatalf("general is not open")
	}
	list := s.chat.list

	// Bob writes; the bubble appears on the left with his name.
	if _, err := bob.Send(server.GeneralRoomID, "hi alice 👋"); err != nil {
		t.Fatal(err)
	}
	var bobID string
	pump(t, alice, eng, s, "bob's message", func() bool {
		for _, r := range list.rows {
			if r.Text == "hi alice 👋" {
				bobID = r.ID
				return list.rowWidgetFor(r.ID) != nil
			}
		}
		return false
	})
	if w := list.rowWidgetFor(bobID); w.view.Own || w.name.Text != "bob" || w.name.Hidden {
		t.Errorf("bob's bubble: own=%v name %q hidden=%v", w.view.Own, w.name.Text, w.name.Hidden)
	}

	// Bob types; the typing line says so.
	bob.Typing(server.GeneralRoomID)
	pump(t, alice, eng, s, "bob typing", func() bool { return s.chat.typing.Text == "bob is typing…" })

	// Alice answers with the composer; it goes sending → sent → delivered, then read
	// once Bob has read it.
	e := s.chat.composer
	e.newlineOnEnter = false // desktop behaviour, also under -tags mobile
	win.Canvas().Focus(e)
	test.Type(e, "hello bob")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	var mine string
	pump(t, alice, eng, s, "own message delivered", func() bool {
		for _, r := range list.rows {
			if r.Own && r.Text == "hello bob" {
				mine = r.ID
				return r.Status == model.StatusDelivered || r.Status == model.StatusRead
			}
		}
		return false
	})
	seq := int64(0)
	for _, r := range list.rows {
		if r.ID == mine {
			seq = r.Seq
		}
	}
	if err := bob.MarkRead(server.GeneralRoomID, seq); err != nil {
		t.Fatal(err)
	}
	pump(t, alice, eng, s, "own message read", func() bool {
		w := list.rowWidgetFor(mine)
		return w != nil && w.status.status == model.StatusRead && w.status.marks() == 2
	})
	// The rooms list shows the newest message as the preview.
	r, ok := s.rooms.room(server.GeneralRoomID)
	if !ok || !strings.Contains(r.Preview, "hello bob") {
		t.Errorf("general's preview %q", r.Preview)
	}
}
