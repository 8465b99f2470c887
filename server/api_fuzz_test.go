package server_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/parleychat/parley/server/servertest"
)

// apiBodyPaths are the API's endpoints that read a JSON body.
var apiBodyPaths = []string{"/api/register", "/api/login", "/api/refresh", "/api/rooms", "/api/dm", "/api/rooms/general/join"}

// FuzzAPIBodies posts arbitrary bodies to every endpoint that reads one: the answer is
// never a 5xx, and the server still serves a signed-in user afterwards.
func FuzzAPIBodies(f *testing.F) {
	for i, s := range []string{
		`{"username":"ada","password":"correct horse"}`,
		`{"username":"ada","password":"correct horse","displayName":"Ada"}`,
		`{"refreshToken":"x"}`,
		`{"name":"room","memberIds":["a","b"],"public":true}`,
		`{"userId":"nobody"}`,
		`{}`, `[]`, `null`, `"str"`, `{"username":1}`, `{"memberIds":{"a":1}}`, "\xff", `{"name":"` + "\u0000" + `"}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	cfg := testConfig()
	cfg.LoginFailures = 1 << 30
	in := servertest.Start(f, cfg)
	a := in.Register(f, "fuzzer", password)
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := apiBodyPaths[int(which)%len(apiBodyPaths)]
		req, err := http.NewRequest("POST", in.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+a.AccessToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("POST %s %q: %d", path, body, resp.StatusCode)
		}
	})
}
