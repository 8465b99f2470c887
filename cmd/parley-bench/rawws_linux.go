//go:build linux

package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// The simulated users' sockets are read by a few epoll loops rather than a goroutine
// each. The tool shares the machine with the server it measures, and reading a frame
// through Go's netpoller costs a goroutine wake-up and two system calls (the read,
// and the read that finds the socket empty); a level-triggered epoll loop reads each
// ready socket once. The WebSocket client is the protocol's own minimum: the
// handshake, masked frames out, pings answered, the closing handshake.

// rawAvailable: clients dial with dialRaw.
const rawAvailable = true

// rawConn is one client WebSocket read by a poller.
type rawConn struct {
	c     *client
	p     *poller
	ended chan struct{}

	wmu sync.Mutex
	fd  int // -1 once closed; under wmu

	closeSent atomic.Bool
	// The poller's own: bytes of a frame not yet whole, a fragmented message.
	pend []byte
	msg  []byte
}

// dialRaw connects as the client's user, with the WebSocket handshake done here, and
// hands the socket to a poller. It does not wait for hello.
func (c *client) dialRaw(ctx context.Context) error {
	u, err := url.Parse(c.wsURL)
	if err != nil {
		return err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return fmt.Errorf("dial as %s: %w", c.auth.Username, err)
	}
	rest, err := handshake(ctx, nc, u, c.auth.AccessToken)
	if err != nil {
		_ = nc.Close()
		return fmt.Errorf("dial as %s: %w", c.auth.Username, err)
	}
	fd, err := takeFD(nc)
	if err != nil {
		return fmt.Errorf("dial as %s: %w", c.auth.Username, err)
	}
	rc := &rawConn{c: c, fd: fd, ended: make(chan struct{})}
	c.mu.Lock()
	c.conn = rc
	c.ended = rc.ended
	c.mu.Unlock()
	if len(rest) > 0 && !rc.feed(rest, time.Now()) { // frames that came with the answer
		rc.CloseNow()
	}
	p, err := nextPoller()
	if err == nil {
		err = p.add(rc)
	}
	if err != nil {
		rc.wmu.Lock()
		_ = syscall.Close(rc.fd)
		rc.fd = -1
		rc.wmu.Unlock()
		close(rc.ended)
		return err
	}
	return nil
}

// wsGUID is RFC 6455's key suffix.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// handshake upgrades nc and answers the bytes that came after the server's answer.
func handshake(ctx context.Context, nc net.Conn, u *url.URL, token string) ([]byte, error) {
	var k [16]byte
	_, _ = crand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	} else {
		_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
		"\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("handshake: HTTP %d", resp.StatusCode)
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("handshake: wrong Sec-WebSocket-Accept")
	}
	_ = nc.SetDeadline(time.Time{})
	rest, _ := br.Peek(br.Buffered())
	return append([]byte(nil), rest...), nil
}

// takeFD answers a close-on-exec duplicate of nc's socket and closes nc, so that Go's
// netpoller lets go of it; the socket stays non-blocking.
func takeFD(nc net.Conn) (int, error) {
	defer nc.Close()
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Write implements wsConn: one masked frame.
func (rc *rawConn) Write(_ context.Context, typ websocket.MessageType, b []byte) error {
	op := byte(0x1)
	if typ == websocket.MessageBinary {
		op = 0x2
	}
	return rc.writeFrame(op, b)
}

// Close implements wsConn: it sends a close frame; the poller ends the connection
// when the server's answers (or the socket closes).
func (rc *rawConn) Close(code websocket.StatusCode, reason string) error {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	if !rc.closeSent.Swap(true) {
		return rc.writeFrame(0x8, append(p, reason...))
	}
	return nil
}

// CloseNow implements wsConn: it shuts the socket down; the poller then ends it.
func (rc *rawConn) CloseNow() error {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	if rc.fd >= 0 {
		_ = syscall.Shutdown(rc.fd, syscall.SHUT_RDWR)
	}
	return nil
}

// writeTimeout bounds a write that finds the socket full.
const writeTimeout = 10 * time.Second

// writeFrame writes one masked frame, retrying while the socket is full.
func (rc *rawConn) writeFrame(op byte, p []byte) error {
	out := make([]byte, 0, 14+len(p))
	out = append(out, 0x80|op)
	switch n := len(p); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n <= 0xffff:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	out = append(out, mask[:]...)
	for i, c := range p {
		out = append(out, c^mask[i&3])
	}
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	deadline := time.Now().Add(writeTimeout)
	for len(out) > 0 {
		if rc.fd < 0 {
			return net.ErrClosed
		}
		n, err := syscall.Write(rc.fd, out)
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			if time.Now().After(deadline) {
				return errors.New("write timed out")
			}
			time.Sleep(time.Millisecond)
		case err != nil:
			return err
		default:
			out = out[n:]
		}
	}
	return nil
}

// feed parses frames from b (received at now) and hands whole messages to the
// client. It answers false when the connection is over (a close frame, a protocol
// error).
func (rc *rawConn) feed(b []byte, now time.Time) bool {
	if len(rc.pend) > 0 {
		rc.pend = append(rc.pend, b...)
		b = rc.pend
	}
	for {
		if len(b) < 2 {
			break
		}
		fin, op := b[0]&0x80 != 0, b[0]&0x0f
		if b[1]&0x80 != 0 {
			return false // a server must not mask
		}
		n, h := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return rc.keep(b)
			}
			n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return rc.keep(b)
			}
			n, h = binary.BigEndian.Uint64(b[2:]), 10
		}
		if n > 64<<20 {
			return false
		}
		if uint64(len(b)-h) < n {
			break
		}
		payload := b[h : h+int(n)]
		b = b[h+int(n):]
		switch op {
		case 0x0, 0x1, 0x2:
			if fin && len(rc.msg) == 0 {
				rc.c.onFrame(payload, now)
			} else {
				rc.msg = append(rc.msg, payload...)
				if fin {
					rc.c.onFrame(rc.msg, now)
					rc.msg = rc.msg[:0]
				}
			}
		case 0x9:
			_ = rc.writeFrame(0xA, payload)
		case 0x8:
			if !rc.closeSent.Swap(true) {
				_ = rc.writeFrame(0x8, payload[:min(2, len(payload))])
			}
			return false
		}
	}
	return rc.keep(b)
}

// keep holds the bytes of a frame that is not whole yet.
func (rc *rawConn) keep(b []byte) bool {
	if len(b) == 0 {
		rc.pend = rc.pend[:0]
		if cap(rc.pend) > 64<<10 {
			rc.pend = nil
		}
		return true
	}
	rc.pend = append(rc.pend[:0], b...) // b may be rc.pend itself: copy moves it to the front
	return true
}

// poller is an epoll loop that reads its connections' sockets. Its goroutine runs
// while it has connections.
type poller struct {
	epfd    int
	mu      sync.Mutex
	conns   map[int32]*rawConn
	running bool
}

var (
	pollersOnce sync.Once
	pollers     []*poller
	pollersErr  error
	pollerNext  atomic.Uint32
)

// nextPoller answers the pollers in turn. There is one unless PARLEY_BENCH_POLLERS
// says more: one loop takes all ready sockets of a fan-out in few epoll_wait calls and
// leaves the other core to the server (fanout p99 28.3 and 40.6 ms with one, 41.4 and
// 49.0 with two, interleaved).
func nextPoller() (*poller, error) {
	pollersOnce.Do(func() {
		n := 1
		if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_POLLERS")); err == nil && v > 0 {
			n = v
		}
		for range n {
			fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
			if err != nil {
				pollersErr = err
				return
			}
			pollers = append(pollers, &poller{epfd: fd, conns: map[int32]*rawConn{}})
		}
	})
	if pollersErr != nil {
		return nil, pollersErr
	}
	return pollers[int(pollerNext.Add(1))%len(pollers)], nil
}

// add starts watching rc's socket.
func (p *poller) add(rc *rawConn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	rc.p = p
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(rc.fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, rc.fd, &ev); err != nil {
		return err
	}
	p.conns[int32(rc.fd)] = rc
	if !p.running {
		p.running = true
		go p.loop()
	}
	return nil
}

// remove stops watching rc, closes its socket and ends it.
func (p *poller) remove(rc *rawConn) {
	p.mu.Lock()
	delete(p.conns, int32(rc.fd))
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, rc.fd, nil)
	p.mu.Unlock()
	_ = syscall.Shutdown(rc.fd, syscall.SHUT_RDWR) // a write that waits gives up
	rc.wmu.Lock()
	_ = syscall.Close(rc.fd)
	rc.fd = -1
	rc.wmu.Unlock()
	close(rc.ended)
	rc.c.signal()
}

// loop reads ready sockets until the poller has no connection left.
func (p *poller) loop() {
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 256<<10)
	for {
		n, err := syscall.EpollWait(p.epfd, events, 100)
		if err != nil && err != syscall.EINTR {
			// Not expected of a valid epoll descriptor: end every connection (the
			// scenarios see them drop) rather than spin.
			p.mu.Lock()
			all := make([]*rawConn, 0, len(p.conns))
			for _, rc := range p.conns {
				all = append(all, rc)
			}
			p.mu.Unlock()
			for _, rc := range all {
				p.remove(rc)
			}
			p.mu.Lock()
			p.running = false
			p.mu.Unlock()
			return
		}
		for i := range max(n, 0) {
			p.mu.Lock()
			rc := p.conns[events[i].Fd]
			p.mu.Unlock()
			if rc == nil {
				continue
			}
			k, err := syscall.Read(rc.fd, buf)
			switch {
			case err == syscall.EAGAIN || err == syscall.EINTR:
			case err != nil || k == 0:
				p.remove(rc)
			case !rc.feed(buf[:k], time.Now()):
				p.remove(rc)
			}
		}
		p.mu.Lock()
		if len(p.conns) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}
