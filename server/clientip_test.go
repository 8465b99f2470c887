package server

import (
	"net/http"
	"testing"
)

// TestClientIP: X-Forwarded-For counts only when the peer is a trusted proxy, and
// then its rightmost untrusted address is the client's.
func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 192.168.1.7,::1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy, header ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, one hop", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged left entries skipped", "10.1.2.3:5000", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:5000", []string{"198.51.100.1, 192.168.1.7", "10.9.9.9"}, "198.51.100.1"},
		{"every hop trusted", "10.1.2.3:5000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"garbage ends the walk", "10.1.2.3:5000", []string{"198.51.100.1, nonsense, 10.0.0.6"}, "10.0.0.6"},
		{"trusted peer, no header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"ipv6 loopback proxy", "[::1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"address just outside", "192.168.1.8:5000", []string{"198.51.100.1"}, "192.168.1.8"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, proxies); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := ParseProxies("10.0.0.0/33"); err == nil {
		t.Errorf("bad CIDR accepted")
	}
	if _, err := ParseProxies("example.com"); err == nil {
		t.Errorf("a host name accepted")
	}
}
