package server_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

func isPresenceOrMessage(f model.Frame) bool {
	return f.Type == model.TypeUserJoined || f.Type == model.TypeUserLeft || f.Type == model.TypeMessage
}

// TestPresenceSurvivesRestart: a restart is a reconnect for presence too. Users who
// come back within the grace are listed online in each other's hello and announced by
// no user_joined; one who does not come back gets user_left once the grace is over.
func TestPresenceSurvivesRestart(t *testing.T) {
	cfg := testConfig()
	cfg.PresenceGrace = 3 * time.Second
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	carol := connect(t, in, "carol")
	for _, who := range []*user{bob, carol} {
		if f := alice.c.WaitFor(t, "user_joined", isPresenceOrMessage); f.Type != model.TypeUserJoined || f.UserID != who.auth.UserID {
			t.Fatalf("before the restart alice got %+v", f)
		}
	}

	in.Restart(t)
	a2 := reconnect(t, in, alice)
	b2 := reconnect(t, in, bob)
	for _, c := range []struct {
		who  *user
		want []string
	}{{a2, []string{bob.auth.UserID, carol.auth.UserID}}, {b2, []string{alice.auth.UserID, carol.auth.UserID}}} {
		got := slices.Sorted(slices.Values(c.who.hello.Online))
		if !slices.Equal(got, slices.Sorted(slices.Values(c.want))) {
			t.Fatalf("%s's hello after the restart lists %v online, want %v", c.who.hello.DisplayName, got, c.want)
		}
	}
	// bob came back within the grace: alice hears no user_joined, only his message;
	// carol did not: user_left follows.
	id := b2.send(t, "general", "back")
	if f := a2.c.WaitFor(t, "bob's message", isPresenceOrMessage); f.Type != model.TypeMessage || f.ID != id {
		t.Fatalf("after the restart alice got %+v before bob's message", f)
	}
	if f := a2.c.WaitFor(t, "user_left", isPresenceOrMessage); f.Type != model.TypeUserLeft || f.UserID != carol.auth.UserID {
		t.Fatalf("after the grace alice got %+v, want carol's user_left", f)
	}
	var users model.UsersResponse
	in.Do(t, "GET", "/api/users?query=", a2.auth.AccessToken, nil, &users)
	for _, u := range users.Users {
		if u.Online != (u.UserID != carol.auth.UserID) {
			t.Fatalf("users after the grace: %+v", users.Users)
		}
	}
}

// TestStalePresenceIgnored: a server that was down longer than the grace starts with
// everyone offline, so the first to come back is announced as usual.
func TestStalePresenceIgnored(t *testing.T) {
	cfg := testConfig()
	cfg.PresenceGrace = 3 * time.Second
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	if f := alice.c.WaitFor(t, "user_joined", isPresenceOrMessage); f.Type != model.TypeUserJoined {
		t.Fatalf("%+v", f)
	}
	in.Stop(t)
	path := filepath.Join(in.DataDir, "presence.json")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatalf("presence file: %v", err)
	}
	in2 := servertest.Start(t, in.Config)
	a2 := reconnect(t, in2, alice)
	if len(a2.hello.Online) != 0 {
		t.Fatalf("alice's hello lists %v online after a long stop", a2.hello.Online)
	}
	b2 := reconnect(t, in2, bob)
	if f := a2.c.WaitFor(t, "user_joined", isPresenceOrMessage); f.Type != model.TypeUserJoined || f.UserID != b2.auth.UserID {
		t.Fatalf("alice got %+v, want bob's user_joined", f)
	}
}

// TestCorruptPresenceFile: a damaged presence file costs presence, not the server.
func TestCorruptPresenceFile(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "presence.json"), []byte(`{"users":[{"id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	connect(t, in, "bob")
	if f := alice.c.WaitFor(t, "user_joined", isPresenceOrMessage); f.Type != model.TypeUserJoined {
		t.Fatalf("%+v", f)
	}
}
