package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRegisterRules(t *testing.T) {
	in := servertest.Start(t, testConfig())
	var a model.AuthResponse
	st := in.Do(t, "POST", "/api/register", "", model.RegisterRequest{Username: "Alice", Password: password, DisplayName: "Alice A."}, &a)
	if st != http.StatusCreated || a.UserID == "" || a.AccessToken == "" || a.RefreshToken == "" || a.ExpiresAt.IsZero() || a.DisplayName != "Alice A." || a.Username != "alice" {
		t.Fatalf("register: %d %+v", st, a)
	}
	cases := []struct {
		name string
		req  any
		want int
		code string
	}{
		{"same name folded", model.RegisterRequest{Username: "alice", Password: password}, http.StatusConflict, model.CodeUsernameTaken},
		{"short name", model.RegisterRequest{Username: "al", Password: password}, http.StatusBadRequest, model.CodeInvalid},
		{"bad char", model.RegisterRequest{Username: "al ice", Password: password}, http.StatusBadRequest, model.CodeInvalid},
		{"long name", model.RegisterRequest{Username: "abcdefghijabcdefghijabcdefghijabc", Password: password}, http.StatusBadRequest, model.CodeInvalid},
		{"short password", model.RegisterRequest{Username: "carol", Password: "1234567"}, http.StatusBadRequest, model.CodeInvalid},
	}
	for _, c := range cases {
		var e model.APIError
		if st := in.Do(t, "POST", "/api/register", "", c.req, &e); st != c.want || e.Err.Code != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.name, st, e.Err.Code, c.want, c.code)
		}
	}
	var e model.APIError
	if st := in.Do(t, "POST", "/api/register", "", "not an object", &e); st != http.StatusBadRequest || e.Err.Code != model.CodeInvalid {
		t.Errorf("malformed body: %d %+v", st, e)
	}
}

func TestLoginAndLimit(t *testing.T) {
	in := servertest.Start(t, testConfig())
	in.Register(t, "alice", password)
	in.Register(t, "bob", password)
	if a := in.Login(t, "ALICE", password); a.Username != "alice" {
		t.Fatalf("login %+v", a)
	}
	var e model.APIError
	if st := in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "alice", Password: "wrong password"}, &e); st != http.StatusUnauthorized || e.Err.Code != model.CodeBadCreds {
		t.Fatalf("wrong password: %d %+v", st, e)
	}
	if st := in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "nobody", Password: password}, &e); st != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", st)
	}
	for i := 0; i < 8; i++ {
		in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "alice", Password: "wrong password"}, nil)
	}
	// Ten failures in the minute: even the right password is refused now.
	if st := in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "alice", Password: password}, &e); st != http.StatusTooManyRequests || e.Err.Code != model.CodeRateLimited {
		t.Fatalf("after 10 failures: %d %+v", st, e)
	}
	// The same address is limited for every username too.
	if st := in.Do(t, "POST", "/api/login", "", model.LoginRequest{Username: "bob", Password: password}, &e); st != http.StatusTooManyRequests {
		t.Fatalf("same address, other user: %d", st)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	in := servertest.Start(t, testConfig())
	a := in.Register(t, "alice", password)
	var r1 model.AuthResponse
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: a.RefreshToken}, &r1); st != http.StatusOK {
		t.Fatalf("refresh: %d", st)
	}
	if r1.RefreshToken == a.RefreshToken || r1.AccessToken == "" || r1.UserID != a.UserID {
		t.Fatalf("refresh answer %+v", r1)
	}
	var r2 model.AuthResponse
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: r1.RefreshToken}, &r2); st != http.StatusOK {
		t.Fatalf("second refresh: %d", st)
	}
	// A second login is a family of its own and survives the revocation below.
	other := in.Login(t, "alice", password)

	// Reusing the spent first token revokes the family: the newest token dies too.
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: a.RefreshToken}, nil); st != http.StatusUnauthorized {
		t.Fatalf("reuse: %d, want 401", st)
	}
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: r2.RefreshToken}, nil); st != http.StatusUnauthorized {
		t.Fatalf("descendant after reuse: %d, want 401", st)
	}
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: other.RefreshToken}, nil); st != http.StatusOK {
		t.Fatalf("other login's token: %d, want 200", st)
	}
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: "made-up"}, nil); st != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", st)
	}
}

func TestRefreshExpires(t *testing.T) {
	cfg := testConfig()
	cfg.RefreshTTL = time.Millisecond
	in := servertest.Start(t, cfg)
	a := in.Register(t, "alice", password)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: a.RefreshToken}, nil); st == http.StatusUnauthorized {
			return
		}
		a = in.Login(t, "alice", password)
	}
	t.Fatal("an expired refresh token was accepted")
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWebSocketAuthBeforeUpgrade(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	cfg := testConfig()
	cfg.JWTSecret = secret
	cfg.AllowedOrigins = []string{"https://chat.example.com", "*.example.org"}
	in := servertest.Start(t, cfg)
	a := in.Register(t, "alice", password)
	now := time.Now()
	claims := func(exp bool, at time.Time) jwt.MapClaims {
		c := jwt.MapClaims{"sub": a.UserID, "iat": at.Unix()}
		if exp {
			c["exp"] = at.Add(time.Minute).Unix()
		}
		return c
	}
	bad := map[string]string{
		"missing":      "",
		"malformed":    "not.a.jwt",
		"wrong secret": sign(t, jwt.SigningMethodHS256, []byte("another secret of enough bytes!!"), claims(true, now)),
		"alg none":     sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(true, now)),
		"HS512":        sign(t, jwt.SigningMethodHS512, secret, claims(true, now)),
		"expired":      sign(t, jwt.SigningMethodHS256, secret, claims(true, now.Add(-time.Hour))),
		"no exp":       sign(t, jwt.SigningMethodHS256, secret, claims(false, now)),
	}
	for name, tok := range bad {
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
	// The same kinds of token on the API.
	for name, tok := range bad {
		if st := in.Do(t, "GET", "/api/rooms", tok, nil, nil); st != http.StatusUnauthorized {
			t.Errorf("API with %s token: %d", name, st)
		}
	}
	good := sign(t, jwt.SigningMethodHS256, secret, claims(true, now))
	c := in.Dial(t, good)
	if f := c.Next(t); f.Type != model.TypeHello || f.UserID != a.UserID {
		t.Fatalf("hello = %+v", f)
	}

	// ?token= works for browsers, with an allowed Origin only.
	for origin, want := range map[string]int{
		"https://evil.example.com": http.StatusForbidden,
		"https://chat.example.com": http.StatusSwitchingProtocols,
		"https://a.example.org":    http.StatusSwitchingProtocols,
	} {
		h := http.Header{"Origin": {origin}}
		ctx := t.Context()
		conn, resp, err := websocket.Dial(ctx, in.WSURL+"?token="+a.AccessToken, &websocket.DialOptions{HTTPHeader: h})
		if conn != nil {
			conn.CloseNow()
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("origin %s: %v %v, want %d", origin, resp, err, want)
		}
	}
}

func TestTokenExpiryClosesWith4001(t *testing.T) {
	cfg := testConfig()
	cfg.AccessTTL = 2 * time.Second
	in := servertest.Start(t, cfg)
	a := in.Register(t, "alice", password)
	c := in.Dial(t, a.AccessToken)
	if st := c.WaitClosed(t); st != 4001 {
		t.Fatalf("close %d, want 4001", st)
	}
}

// TestAuthFrameExtendsSession: hello says protocol 1.1; an `auth` frame with a fresh
// token of the same user answers auth_ok with its expiry and the session outlives the
// first token, closing 4001 only when the new one expires. A session without auth
// closes at its token's expiry as before.
func TestAuthFrameExtendsSession(t *testing.T) {
	clk := &fakeNow{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	cfg := testConfig()
	cfg.AccessTTL = time.Minute
	cfg.PingInterval = 20 * time.Millisecond // the expiry check runs this often
	cfg.Now = clk.Now
	in := servertest.Start(t, cfg)
	alice := connect(t, in, "alice")
	bob := connect(t, in, "bob")
	if alice.hello.Protocol != model.ProtocolVersion {
		t.Fatalf("hello protocol %q", alice.hello.Protocol)
	}
	clk.Advance(30 * time.Second)
	var fresh model.AuthResponse
	if st := in.Do(t, "POST", "/api/refresh", "", model.RefreshRequest{RefreshToken: alice.auth.RefreshToken}, &fresh); st != http.StatusOK {
		t.Fatalf("refresh: %d", st)
	}
	alice.c.Send(t, model.AuthFrame{Type: model.TypeAuth, Token: fresh.AccessToken})
	ok := alice.c.WaitFor(t, "auth_ok", func(f model.Frame) bool { return f.Type == model.TypeAuthOK || f.Type == model.TypeError })
	if ok.Type != model.TypeAuthOK || !ok.ExpiresAt.Equal(fresh.ExpiresAt.Time) {
		t.Fatalf("auth answered %+v, want auth_ok until %v", ok, fresh.ExpiresAt)
	}
	clk.Advance(40 * time.Second) // past the first token's expiry
	if st := bob.c.WaitClosed(t); st != model.CloseTokenExpired {
		t.Fatalf("bob, without auth: close %d, want 4001", st)
	}
	alice.c.Send(t, model.TypeFrame{Type: model.TypePing})
	if f := alice.c.WaitFor(t, "pong", func(f model.Frame) bool { return f.Type == model.TypePong }); f.Type != model.TypePong {
		t.Fatalf("alice: %+v", f)
	}
	clk.Advance(25 * time.Second) // past the second token's expiry
	if st := alice.c.WaitClosed(t); st != model.CloseTokenExpired {
		t.Fatalf("alice after the new token expired: close %d, want 4001", st)
	}
}

// TestAuthFrameRefusesBadTokens: a forged token, another user's token and no token
// are each answered with error invalid, then close 4001.
func TestAuthFrameRefusesBadTokens(t *testing.T) {
	in := servertest.Start(t, testConfig())
	alice := connect(t, in, "alice")
	forged := alice.auth.AccessToken[:len(alice.auth.AccessToken)-2] + "xx"
	for _, tc := range []struct{ name, token string }{
		{"forged", forged},
		{"another user's", alice.auth.AccessToken},
		{"empty", ""},
	} {
		u := connect(t, in, "user"+strings.ReplaceAll(tc.name, " ", "")[:4])
		u.c.Send(t, model.AuthFrame{Type: model.TypeAuth, Token: tc.token})
		f := u.c.WaitFor(t, "the answer", func(f model.Frame) bool { return f.Type == model.TypeError || f.Type == model.TypeAuthOK })
		if f.Type != model.TypeError || f.Code != model.CodeInvalid {
			t.Fatalf("%s token: %+v", tc.name, f)
		}
		if st := u.c.WaitClosed(t); st != model.CloseTokenExpired {
			t.Fatalf("%s token: close %d, want 4001", tc.name, st)
		}
	}
	// alice's own session is untouched.
	alice.c.Send(t, model.TypeFrame{Type: model.TypePing})
	alice.c.WaitFor(t, "pong", func(f model.Frame) bool { return f.Type == model.TypePong })
}

// TestRegisterLimit: registrations are limited per address (429 rate_limited, like
// login) and overall; behind a trusted proxy the address is X-Forwarded-For's, and a
// client that is not a trusted proxy cannot choose its address with the header.
func TestRegisterLimit(t *testing.T) {
	cfg := testConfig()
	cfg.RegisterLimit, cfg.RegisterTotal = 3, 5
	in := servertest.Start(t, cfg)
	register := func(name, forwardedFor string) (int, model.APIError) {
		t.Helper()
		return registerFrom(t, in, name, forwardedFor)
	}
	for i := range 3 {
		// The header is ignored: 127.0.0.1 is not a trusted proxy here.
		if st, e := register(fmt.Sprintf("user%d", i), fmt.Sprintf("198.51.100.%d", i)); st != http.StatusCreated {
			t.Fatalf("registration %d: %d %+v", i, st, e)
		}
	}
	if st, e := register("user3", "198.51.100.99"); st != http.StatusTooManyRequests || e.Err.Code != model.CodeRateLimited {
		t.Fatalf("fourth registration from one address: %d %+v, want 429 rate_limited", st, e)
	}

	proxied := testConfig()
	proxied.RegisterLimit, proxied.RegisterTotal = 2, 5
	proxied.TrustedProxies, _ = server.ParseProxies("127.0.0.0/8")
	in = servertest.Start(t, proxied)
	// Two clients behind the proxy: each has its own two a minute.
	steps := []struct {
		xff  string
		want int
	}{
		{"198.51.100.1", http.StatusCreated},
		{"198.51.100.1", http.StatusCreated},
		{"6.6.6.6, 198.51.100.1", http.StatusTooManyRequests}, // a forged left entry changes nothing
		{"198.51.100.2", http.StatusCreated},
		{"198.51.100.3", http.StatusCreated},
		{"198.51.100.4", http.StatusCreated},
		{"198.51.100.5", http.StatusTooManyRequests}, // five a minute in all
	}
	for i, s := range steps {
		if st, e := register(fmt.Sprintf("proxied%d", i), s.xff); st != s.want {
			t.Fatalf("step %d (%s): %d %+v, want %d", i, s.xff, st, e, s.want)
		}
	}

	off := testConfig()
	off.RegisterLimit = -1
	in = servertest.Start(t, off)
	for i := range 30 {
		in.Register(t, fmt.Sprintf("many%d", i), password)
	}
}

// registerFrom registers name with an X-Forwarded-For header (none when empty) and
// answers the status and the error body.
func registerFrom(t *testing.T, in *servertest.Instance, name, forwardedFor string) (int, model.APIError) {
	t.Helper()
	b, _ := json.Marshal(model.RegisterRequest{Username: name, Password: password})
	req, _ := http.NewRequest("POST", in.URL+"/api/register", bytes.NewReader(b))
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e model.APIError
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e
}
