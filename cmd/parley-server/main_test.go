package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func noEnv(string) string { return "" }

func TestBadFlagsExit2(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"unknown flag":     {"-nope"},
		"bad duration":     {"-access-ttl", "soon"},
		"negative rate":    {"-msg-rate", "-1"},
		"short secret":     {"-jwt-secret", "abc"},
		"tls half":         {"-tls-cert", "x.pem"},
		"bad log level":    {"-log-level", "loud"},
		"data is a file":   {"-data", file, "-listen", "127.0.0.1:0"},
		"stray argument":   {"serve"},
		"bad listen value": {"-data", t.TempDir(), "-listen", "nowhere:-5"},
		"bad proxy CIDR":   {"-trusted-proxies", "10.0.0.0/99"},
		"negative limit":   {"-register-limit", "-3"},
		"zero upload max":  {"-upload-max", "0"},
		"bad quota":        {"-upload-quota", "lots"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var stderr strings.Builder
			code := run(context.Background(), args, noEnv, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, stderr.String())
			}
			if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 {
				t.Errorf("stderr has %d lines, want one: %q", lines+1, stderr.String())
			}
		})
	}
}

func TestEnvFillsFlagsAndFlagWins(t *testing.T) {
	env := map[string]string{"PARLEY_MSG_RATE": "55", "PARLEY_LISTEN": "127.0.0.1:9999", "PARLEY_JWT_SECRET": "0123456789abcdef0123"}
	o, err := parse([]string{"-listen", "127.0.0.1:1234"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.MsgRate != 55 || o.cfg.Listen != "127.0.0.1:1234" || string(o.cfg.JWTSecret) != env["PARLEY_JWT_SECRET"] {
		t.Fatalf("config = %+v", o.cfg)
	}
	if _, err := parse(nil, func(k string) string {
		if k == "PARLEY_MSG_BURST" {
			return "lots"
		}
		return ""
	}); err == nil {
		t.Fatal("bad PARLEY_MSG_BURST accepted")
	}
}

// TestLimitFlags: -register-limit 0 turns the limit off (in Config, a negative value)
// and -trusted-proxies reaches Config parsed.
func TestLimitFlags(t *testing.T) {
	o, err := parse([]string{"-register-limit", "0", "-trusted-proxies", "10.0.0.0/8, 192.168.1.7"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.RegisterLimit >= 0 || len(o.cfg.TrustedProxies) != 2 || o.cfg.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Fatalf("register limit %d, proxies %v", o.cfg.RegisterLimit, o.cfg.TrustedProxies)
	}
	if o, err = parse(nil, noEnv); err != nil || o.cfg.RegisterLimit != 10 || o.cfg.TrustedProxies != nil ||
		o.cfg.UploadMax != 25<<20 || o.cfg.UploadQuota != 1<<30 {
		t.Fatalf("defaults: %v, limit %d, proxies %v, uploads %d %d", err, o.cfg.RegisterLimit, o.cfg.TrustedProxies, o.cfg.UploadMax, o.cfg.UploadQuota)
	}
	if o, err = parse([]string{"-upload-max", "1048576", "-upload-quota", "5000000"}, noEnv); err != nil || o.cfg.UploadMax != 1<<20 || o.cfg.UploadQuota != 5e6 {
		t.Fatalf("upload flags: %v, %d %d", err, o.cfg.UploadMax, o.cfg.UploadQuota)
	}
}

func TestSIGTERMShutsDownGracefully(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"-listen", "127.0.0.1:0", "-metrics-listen", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "info"}, noEnv, pw)
		pw.Close()
		done <- code
	}()
	url, metricsURL := "", ""
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`msg="?(serving|serving metrics)"? url=(\S+)`)
	for url == "" && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil && m[1] == "serving" {
			url = m[2]
		} else if m != nil {
			metricsURL = m[2]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if url == "" || metricsURL == "" {
		t.Fatalf("URLs logged: %q and metrics %q; exit %d", url, metricsURL, <-done)
	}
	// -metrics-listen serves /metrics; the public listener does not.
	for u, want := range map[string]int{metricsURL: http.StatusOK, url + "/metrics": http.StatusNotFound} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", u, resp.StatusCode, want)
		}
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5 s after SIGTERM")
	}
}
