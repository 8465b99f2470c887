package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestHubForgetsUsersWhoLeft: users who connect once and leave leave nothing in the
// hub once their grace is over: no user state, no cached room, and the heap is back
// within 10 % of where it started (200 users; 10,000 with -tags soak).
func TestHubForgetsUsersWhoLeft(t *testing.T) {
	n := 200
	if soak {
		n = 10000
	}
	cfg := testConfig()
	cfg.BcryptCost = bcrypt.MinCost
	cfg.RegisterLimit = -1
	cfg.PresenceGrace = 50 * time.Millisecond
	in := servertest.Start(t, cfg)

	// A first round of users, so that what any use allocates once (pooled HTTP
	// connections, encoders' caches, the fan-out's buffers) is in the start.
	connectOnce(t, in, "warm", 32)
	waitHubEmpty(t, in)
	start := heapInUse()
	began := time.Now()
	connectOnce(t, in, "once", n)
	t.Logf("connected in %v", time.Since(began))
	waitHubEmpty(t, in)
	end := heapInUse()
	t.Logf("%d users connected once and left: heap in use %.2f MiB before, %.2f MiB after (%+.1f %%)",
		n, mib(start), mib(end), 100*(float64(end)/float64(start)-1))
	if float64(end) > 1.1*float64(start) {
		t.Fatalf("heap %.2f MiB after %d users left, %.2f MiB before", mib(end), n, mib(start))
	}
}

// connectOnce registers n users named prefix0... and connects each once, until its
// hello, then closes; eight at a time.
func connectOnce(t *testing.T, in *servertest.Instance, prefix string, n int) {
	t.Helper()
	const workers = 8
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				a, err := registerRetry(hc, in, fmt.Sprintf("%s%d", prefix, i))
				if err != nil {
					t.Error(err)
					return
				}
				c, _, err := in.DialErr(a.AccessToken, nil) // closed here: no cleanup keeps it
				if err != nil {
					t.Error(err)
					return
				}
				c.Next(t) // hello
				c.Close()
			}
		}()
	}
	wg.Wait()
}

// registerRetry registers name, trying again when the request fails on the way: ten
// thousand users churn through loopback's ports, and now and then a POST meets a
// connection that is closing (EOF), which net/http does not retry. A retry that
// finds the name taken logs in.
func registerRetry(hc *http.Client, in *servertest.Instance, name string) (model.AuthResponse, error) {
	var a model.AuthResponse
	path, body := "/api/register", any(model.RegisterRequest{Username: name, Password: password, DisplayName: name})
	for try := 0; ; try++ {
		b, _ := json.Marshal(body)
		resp, err := hc.Post(in.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			if try < 3 {
				continue
			}
			return a, err
		}
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusConflict && try > 0:
			path, body = "/api/login", model.LoginRequest{Username: name, Password: password}
			continue
		case err != nil || (resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK):
			return a, fmt.Errorf("%s %s: %d %v", path, name, resp.StatusCode, err)
		}
		return a, nil
	}
}

// waitHubEmpty waits until the hub keeps no user and no room.
func waitHubEmpty(t *testing.T, in *servertest.Instance) {
	t.Helper()
	deadline := time.Now().Add(servertest.DefaultWait)
	for {
		users, rooms := server.HubSizes(in.Server)
		if users == 0 && rooms == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub still keeps %d users and %d rooms", users, rooms)
		}
		time.Sleep(10 * time.Millisecond) // polling the hub: nothing announces that it emptied
	}
}

// heapInUse answers the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestHubForgetsRoomsNoOneHolds: rooms that reach the hub only through the API (made
// by a user with no socket, read by history calls, looked up under a made-up id) and a
// room a connected user left are not kept once no live user needs them.
func TestHubForgetsRoomsNoOneHolds(t *testing.T) {
	cfg := testConfig()
	cfg.PresenceGrace = 50 * time.Millisecond
	in := servertest.Start(t, cfg)
	alice := in.Register(t, "alice", password)
	bob := in.Register(t, "bob", password)
	for i := range 20 {
		var room model.Room
		if st := in.Do(t, "POST", "/api/rooms", alice.AccessToken, model.CreateRoomRequest{Name: fmt.Sprintf("r%d", i), MemberIDs: []string{bob.UserID}}, &room); st != http.StatusCreated && st != http.StatusOK {
			t.Fatalf("create room: %d", st)
		}
		if st := in.Do(t, "GET", "/api/rooms/"+room.ID+"/messages", bob.AccessToken, nil, nil); st != http.StatusOK {
			t.Fatalf("history: %d", st)
		}
	}
	if st := in.Do(t, "GET", "/api/rooms/no-such-room/messages", bob.AccessToken, nil, nil); st == http.StatusOK {
		t.Fatalf("history of a made-up room: %d", st)
	}
	waitHubEmpty(t, in)

	// A connected user who leaves a room and then goes: the room goes with her.
	carol := in.Register(t, "carol", password)
	var room model.Room
	in.Do(t, "POST", "/api/rooms", carol.AccessToken, model.CreateRoomRequest{Name: "left", MemberIDs: []string{bob.UserID}}, &room)
	c := dialAs(t, in, carol)
	if st := in.Do(t, "POST", "/api/rooms/"+room.ID+"/leave", carol.AccessToken, nil, nil); st != http.StatusOK && st != http.StatusNoContent {
		t.Fatalf("leave: %d", st)
	}
	c.c.WaitType(t, model.TypeRoomLeft)
	c.c.Close()
	waitHubEmpty(t, in)
}
