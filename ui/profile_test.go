package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/parleychat/parley/model"
)

func TestFoldUsername(t *testing.T) {
	for in, want := range map[string]string{
		"alice":       "alice",
		"Alice Smith": "alice_smith",
		"DOMAIN\\Bob": "domain_bob",
		"jo":          "jo_",
		"":            "me_",
		"Zoë":         "zo_",
		"a.b-c_d":     "a.b-c_d",
		"this-name-is-far-too-long-for-a-username": "this-name-is-far-too-long-for-a",
	} {
		got := foldUsername(in)
		if got != want {
			t.Errorf("foldUsername(%q) = %q, want %q", in, got, want)
		}
		if _, err := model.NormalizeUsername(got); err != nil {
			t.Errorf("foldUsername(%q) = %q is not a valid username: %v", in, got, err)
		}
	}
}

func TestLocalPasswordIsKeptWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profiles", "alice")
	pw, err := localPassword(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := model.ValidatePassword(pw); err != nil {
		t.Errorf("generated password is not valid: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, passwordFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := localPassword(dir)
	if err != nil || again != pw {
		t.Errorf("second read %q, %v; want the same password", again, err)
	}
}

func TestClientURLAndProbe(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8787": "http://127.0.0.1:8787",
		"0.0.0.0:9000":   "http://127.0.0.1:9000",
		":8787":          "http://127.0.0.1:8787",
		"[::]:8787":      "http://127.0.0.1:8787",
		"192.168.1.5:80": "http://192.168.1.5:80",
	} {
		if got := clientURL(in); got != want {
			t.Errorf("clientURL(%q) = %q, want %q", in, got, want)
		}
	}
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.NotFound(w, r)
	}))
	defer ok.Close()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	if !probeParley(context.Background(), ok.URL) {
		t.Errorf("a server answering /healthz is not taken for Parley")
	}
	if probeParley(context.Background(), other.URL) {
		t.Errorf("a server without /healthz is taken for Parley")
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	if probeParley(context.Background(), url) {
		t.Errorf("a closed port is taken for Parley")
	}
}

func TestPeerName(t *testing.T) {
	for _, tc := range []struct {
		name string
		me   []string
		want string
	}{
		{"bob & carol", []string{"carol"}, "bob"},
		{"bob & carol", []string{"bob"}, "carol"},
		{"bob & carol", []string{"dan"}, "bob & carol"},
		{"general", []string{"bob"}, "general"},
		// The server names the room after display names, not usernames.
		{"Alice Liddell & erin", []string{"Alice Liddell", "alice"}, "erin"},
		{"erin & Alice Liddell", []string{"Alice Liddell", "alice"}, "erin"},
		{"Tom & Jerry & erin", []string{"Tom & Jerry", "tj"}, "erin"},
		{"bob & carol", nil, "bob & carol"},
	} {
		if got := peerName(tc.name, tc.me...); got != tc.want {
			t.Errorf("peerName(%q, %q) = %q, want %q", tc.name, tc.me, got, tc.want)
		}
	}
}
