package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/parleychat/parley/model"
)

// A writer that wrote less than lingerBusy ago waits linger before its next batch, so
// that a stream of frames costs a system call per few frames, not per frame.
const (
	lingerBusy = 5 * time.Millisecond
	linger     = 2 * time.Millisecond
	// presenceDelay is how long a presence frame may wait for others to go with it:
	// a second late is soon enough to see someone come online, and it bounds a
	// connection's presence writes to one a second however many users join.
	presenceDelay = time.Second
)

// heartbeatGrace is how long past its heartbeat a silent client waits for a server
// ping: as long as a client waits for the answer to its own ping.
const heartbeatGrace = 10 * time.Second

// outFrame is an encoded frame waiting in a session's queue.
type outFrame struct {
	typ  string
	data []byte
	ctl  ws.OpCode // 0 for a text frame; ws.OpPing or ws.OpPong for a control frame
}

// session is one WebSocket connection. A goroutine of its own reads; a writer
// goroutine exists only while frames wait, and writes all that wait in one system
// call (a fan-out pass writes to an idle connection itself: tryDeliver); a timer (no
// goroutine) pings, watches for stuck writes and ends the connection when its token
// expires. An idle connection therefore costs one goroutine and a few small buffers.
type session struct {
	id          string // names the connection in events (Event.ExceptConn), across nodes
	srv         *Server
	wc          *wsConn
	userID      string
	displayName string
	remote      string
	tokenExp    atomic.Int64 // Unix ns: the session ends (4001) then unless an auth frame moves it

	done chan struct{}
	// ctx is the context of the store calls made for the session: it ends with it
	// (cancel runs in close), so a slow store call does not outlive its connection.
	ctx    context.Context
	cancel context.CancelFunc

	qmu       sync.Mutex
	queue     []outFrame
	spare     []outFrame // the writer's last batch, reused
	flushing  bool       // a writer goroutine runs
	ended     bool       // no more frames are queued (set with done)
	drained   chan struct{}
	lazy      *time.Timer // flushes presence frames that wait alone
	lazyArmed bool
	wg        sync.WaitGroup // the writer goroutine
	// queued is the bytes of the frames in queue, which SendQueueBytes bounds; the
	// write under way (one batch of the queue, or what one fan-out attempt left) is
	// not counted, as Centrifugo counts only what waits. Guarded by qmu.
	queued int

	writeMu sync.Mutex // held while the session's frames are written to wc, so that batches keep their order

	// writing is when the write in progress began (Unix ns), 0 when none: the
	// keepalive drops a connection whose write is stuck.
	writing atomic.Int64
	// pingSent is when the unanswered ping went out (Unix ns), 0 when none: the
	// keepalive drops a connection that does not answer within PingTimeout.
	pingSent atomic.Int64
	// lastWrite is when the last batch went out (Unix ns): the writer lingers when
	// frames come faster than lingerBusy.
	lastWrite atomic.Int64
	lastPing  time.Time // keepalive timer only
	// lastRecv is when the client's last frame came (Unix ns): a client that talks
	// is alive, and the keepalive pings only one that has been silent.
	lastRecv atomic.Int64
	small    [16]byte // the reader's buffer for small frames (readFrame)
	alive    *time.Timer

	closeOnce   sync.Once
	closeCode   ws.StatusCode
	closeReason string
	flush       bool
	closed      chan struct{} // the closing handshake is over
	readDone    chan struct{} // the reader saw the client's close frame, or the connection's end

	joined bool // join succeeded; set before run

	// held maps a room to the id of the message or update of this connection last
	// refused for the rate limit: until that id is sent again and passes, the
	// connection's later messages and updates to the room are refused too, so that
	// they cannot take seqs before it (admit). Only the reader touches it; nil until
	// the first refusal.
	held map[string]string
}

// newSession makes a session for an accepted connection.
func newSession(srv *Server, wc *wsConn) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{id: newID(), srv: srv, wc: wc, done: make(chan struct{}), drained: make(chan struct{}, 1),
		closed: make(chan struct{}), readDone: make(chan struct{}), closeCode: ws.StatusNormalClosure, ctx: ctx, cancel: cancel}
	wc.onPing = s.answerPing
	wc.onPong = func() { s.pingSent.Store(0) }
	return s
}

// enqueueLocked appends f and makes sure a writer runs; the caller holds qmu.
// Presence frames are in no hurry: they wait up to presenceDelay for company, so that
// a burst of joins (a reconnect storm) costs one write per many frames; any other
// frame takes them along at once.
func (s *session) enqueueLocked(f outFrame) {
	s.queue = append(s.queue, f)
	s.queued += len(f.data)
	if s.flushing {
		return
	}
	if f.typ == model.TypeUserJoined || f.typ == model.TypeUserLeft {
		if s.lazy == nil {
			s.lazy = time.AfterFunc(presenceDelay, s.flushLazy)
		} else if !s.lazyArmed {
			s.lazy.Reset(presenceDelay)
		}
		s.lazyArmed = true
		return
	}
	s.startWriterLocked()
}

// startWriterLocked starts the writer goroutine; the caller holds qmu.
func (s *session) startWriterLocked() {
	s.flushing = true
	s.lazyArmed = false
	s.wg.Add(1)
	go s.writeLoop()
}

// flushLazy starts the writer for presence frames that waited presenceDelay.
func (s *session) flushLazy() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if !s.lazyArmed || s.ended {
		return
	}
	s.lazyArmed = false
	if !s.flushing && len(s.queue) > 0 {
		s.startWriterLocked()
	}
}

// push queues a frame without waiting. A full queue means the client cannot keep up:
// it is closed (1013 "try again later") so it does not slow anyone else, and its
// frames do not pile up in the server's memory; it recovers by reconnecting and
// syncing.
func (s *session) push(typ string, data []byte) {
	s.qmu.Lock()
	full := s.pushLocked(outFrame{typ: typ, data: data})
	s.qmu.Unlock()
	if full {
		s.closeSlow()
	}
}

// pushFrames is push for several frames.
func (s *session) pushFrames(frames []outFrame) {
	s.qmu.Lock()
	full := s.pushLocked(frames...)
	s.qmu.Unlock()
	if full {
		s.closeSlow()
	}
}

// pushLocked queues frames for push; the caller holds qmu. It answers true when the
// queue is full: the caller then calls closeSlow, without qmu.
//
// The bytes are checked once for all of frames: a fan-out pass's frames go together
// (under load a pass holds many events, more than the bound), and a client is too
// slow when what it was given before is still queued past the bound.
func (s *session) pushLocked(frames ...outFrame) (full bool) {
	if !s.roomLocked() {
		return !s.ended
	}
	for _, f := range frames {
		if s.ended {
			return false
		}
		if len(s.queue) >= s.srv.cfg.SendQueue {
			return true
		}
		s.enqueueLocked(f)
	}
	return false
}

// roomLocked answers whether the session's queue takes more: it holds fewer than
// SendQueue frames and at most SendQueueBytes bytes. The caller holds qmu.
func (s *session) roomLocked() bool {
	for {
		p := peakPending.Load()
		if int64(s.queued) <= p || peakPending.CompareAndSwap(p, int64(s.queued)) {
			break
		}
	}
	return len(s.queue) < s.srv.cfg.SendQueue && s.queued <= s.srv.cfg.SendQueueBytes
}

// peakPending is the most bytes any session had queued when frames came; tests read
// it to check the bound.
var peakPending atomic.Int64

// closeSlow closes a session that cannot keep up with its frames: 1013, for the
// client reconnects (with backoff) and syncs what it missed.
func (s *session) closeSlow() {
	if s.close(statusTryAgainLater, "slow consumer", false) {
		s.srv.metrics.slowClosed.Inc()
		// Let a write that is stuck on a full socket give up now; a writer that
		// is not stuck still sends the close frame.
		go s.abortIfStuck()
	}
}

// pingFrame is a ping as clients encode it; pongFrame is the answer, encoded once.
var (
	pingFrame = encode(model.TypeFrame{Type: model.TypePing})
	pongFrame = encode(model.TypeFrame{Type: model.TypePong})
)

// queuePong answers a ping.
func (s *session) queuePong() { s.replyEncoded(model.TypePong, pongFrame) }

// answerPing queues the pong of a client's WebSocket ping (the reader calls it: it
// never writes itself).
func (s *session) answerPing(payload []byte) {
	s.replyFrame(outFrame{data: bytes.Clone(payload), ctl: ws.OpPong})
}

// reply queues an answer to the client's own frame, waiting for room in the queue:
// the reader may be held back by its own client, never the hub.
func (s *session) reply(typ string, v any) bool {
	return s.replyEncoded(typ, encode(v))
}

// replyEncoded is reply with the frame already encoded.
func (s *session) replyEncoded(typ string, data []byte) bool {
	return s.replyFrame(outFrame{typ: typ, data: data})
}

// replyFrame is reply for any frame.
func (s *session) replyFrame(f outFrame) bool {
	for {
		s.qmu.Lock()
		if s.ended {
			s.qmu.Unlock()
			return false
		}
		if s.roomLocked() {
			s.enqueueLocked(f)
			s.qmu.Unlock()
			return true
		}
		s.qmu.Unlock()
		select {
		case <-s.drained:
		case <-s.done:
			return false
		}
	}
}

// close asks the session to end with code and reason; with flush the queued frames
// are written first. Only the first call counts; it reports whether it was that one.
func (s *session) close(code ws.StatusCode, reason string, flush bool) bool {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.qmu.Lock()
		s.closeCode, s.closeReason, s.flush = code, reason, flush
		s.ended = true
		close(s.done)
		s.qmu.Unlock()
		s.cancel()
		go s.finish()
	})
	return first
}

// finish writes what is queued when the close asked for it, then closes the
// connection with the session's code: the close frame, then a wait (closeTimeout at
// most) for the client's close frame, which the reader sees, then the socket.
func (s *session) finish() {
	defer close(s.closed)
	defer s.recoverPanic("close")
	s.writeMu.Lock()
	s.qmu.Lock()
	batch, flush := s.queue, s.flush
	s.queue, s.queued = nil, 0
	s.qmu.Unlock()
	if flush && len(batch) > 0 {
		_ = s.writeBatch(batch)
	}
	s.writeMu.Unlock()
	if err := s.wc.writeClose(s.closeCode, s.closeReason); err == nil {
		t := time.NewTimer(closeTimeout)
		select {
		case <-s.readDone:
		case <-t.C:
		}
		t.Stop()
	}
	_ = s.wc.closeNow()
}

// abortIfStuck drops the connection if a write is still stuck a moment after the
// session was closed; a writer that is not stuck sends the close frame itself.
func (s *session) abortIfStuck() {
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		if s.writing.Load() != 0 {
			_ = s.wc.closeNow()
		}
	case <-s.closed:
	}
}

// recoverPanic is the last resort of the session goroutines: a panic ends the
// connection (1011) and is logged, never the server.
func (s *session) recoverPanic(where string) {
	if r := recover(); r != nil {
		s.srv.log.Error("session panic", "where", where, "user", s.userID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		s.close(ws.StatusInternalServerError, "internal error", false)
	}
}

// run serves the connection until it closes.
func (s *session) run() {
	m := s.srv.metrics
	m.connections.Inc()
	defer m.connections.Dec()

	s.qmu.Lock()
	s.lastPing = time.Now()
	s.alive = time.AfterFunc(s.nextAlive(), s.keepalive)
	s.qmu.Unlock()

	readErr := s.serve()
	// A client's close frame is answered with its code; a frame that breaks the
	// protocol or a limit closes with the code it earned.
	code, why := ws.StatusNormalClosure, ""
	var ce *closeError
	var fe *failError
	switch {
	case errors.As(readErr, &ce):
		code, why = ce.code, ce.reason
	case errors.As(readErr, &fe):
		code, why = fe.code, fe.reason
	}
	byReader := s.close(code, why, false)
	if fe != nil {
		// The rest of the bad frame and whatever follows is read and dropped until
		// the client, told by the close frame, ends the connection (or finish gives
		// up on it): closing a socket with unread bytes resets it, and the client
		// would see the reset, not the close code.
		s.wc.discard()
	}
	close(s.readDone)
	s.srv.hub.disconnect(s)
	<-s.closed
	s.qmu.Lock()
	s.alive.Stop()
	if s.lazy != nil {
		s.lazy.Stop()
	}
	s.qmu.Unlock()
	s.wg.Wait()

	reason := s.closeReason
	if byReader && readErr != nil {
		reason = closeReasonOf(readErr)
	}
	s.srv.log.Info("connection closed", "user", s.userID, "remote", s.remote, "code", int(s.closeCode), "reason", reason)
}

// closeReasonOf describes why a read ended: the client's close frame ("client closed
// 1000: bye"), the rule its frame broke ("frame too big"), or the connection's error.
func closeReasonOf(err error) string { return err.Error() }

// join registers the session with the hub (which queues hello); on failure it closes
// the session. It runs on the HTTP handler's goroutine, before run: the store reads it
// needs grow a goroutine's stack, and that goroutine then ends, leaving the reader's
// stack small for the life of the connection.
func (s *session) join() {
	defer s.recoverPanic("join")
	if err := s.srv.hub.connect(s.ctx, s); err != nil {
		if errors.Is(err, errStopped) {
			s.close(ws.StatusGoingAway, "server going away", false)
		} else {
			s.srv.log.Error("connect", "user", s.userID, "err", err)
			s.close(ws.StatusInternalServerError, "internal error", false)
		}
		return
	}
	s.joined = true
}

// serve reads frames until the connection ends. Once the session is closing, frames
// are read and dropped until the client's close frame comes, which finish waits for.
func (s *session) serve() (err error) {
	defer s.recoverPanic("reader")
	for {
		op, data, err := s.wc.readMessage(s.small[:])
		if err != nil {
			return err
		}
		s.lastRecv.Store(time.Now().UnixNano())
		if !s.joined {
			continue
		}
		select {
		case <-s.done:
			continue
		default:
		}
		if op != ws.OpText {
			s.srv.metrics.frameIn("other")
			s.sendError(model.CodeInvalid, "frames must be text", "")
			continue
		}
		s.handle(data)
	}
}

// writeLoop writes the queued frames, all that wait at a time, until the queue is
// empty or the session ends; then the goroutine exits.
func (s *session) writeLoop() {
	defer s.wg.Done()
	defer s.recoverPanic("writer")
	for {
		// Under a stream of frames (a presence or reconnect storm) wait a moment so
		// that they go out together; a lone frame goes at once.
		if last := s.lastWrite.Load(); last != 0 && time.Since(time.Unix(0, last)) < lingerBusy {
			time.Sleep(linger)
		}
		s.writeMu.Lock()
		s.qmu.Lock()
		if len(s.queue) == 0 || s.ended {
			s.flushing = false
			// An idle connection keeps no arrays: most connections are idle most of
			// the time, and a busy one keeps its writer (and its arrays) running.
			// What an ended session still has queued is finish's to write (a close
			// that flushes: an error frame before its close code).
			if !s.ended {
				s.queue, s.queued = nil, 0
			}
			s.spare = nil
			ended := s.ended
			s.qmu.Unlock()
			var err error
			if !ended && s.wc.hasPending() {
				// The rest of what a fan-out's attempt could not finish (when the
				// session ended, its close frame sends it first).
				err = s.flushPending()
			}
			s.writeMu.Unlock()
			if err != nil {
				s.close(ws.StatusGoingAway, "write failed", false)
				_ = s.wc.closeNow()
			}
			return
		}
		batch := s.takeBatchLocked()
		s.qmu.Unlock()
		select {
		case s.drained <- struct{}{}:
		default:
		}
		err := s.writeBatch(batch)
		s.lastWrite.Store(time.Now().UnixNano())
		s.writeMu.Unlock()
		if err != nil {
			s.close(ws.StatusGoingAway, "write failed", false)
			_ = s.wc.closeNow()
			s.qmu.Lock()
			s.flushing = false
			s.qmu.Unlock()
			return
		}
		clear(batch)
		s.qmu.Lock()
		// Keep a small batch's array for the next one; let a burst's go.
		if cap(batch) <= 8 {
			s.spare = batch[:0]
		}
		s.qmu.Unlock()
	}
}

// maxBatchBytes bounds one write's batch: the batch is copied into one array
// (wsConn.writeFrames) for its one system call, and a stalled client's writer keeps that
// copy until its write ends. A bigger queue goes out in several writes.
const maxBatchBytes = 256 << 10

// takeBatchLocked takes the frames of the next write from the queue: all of them, or
// as many as fit in maxBatchBytes (at least one). The caller holds qmu.
func (s *session) takeBatchLocked() []outFrame {
	n, k := 0, 0
	for k < len(s.queue) && (k == 0 || n+len(s.queue[k].data) <= maxBatchBytes) {
		n += len(s.queue[k].data)
		k++
	}
	s.queued -= n
	if k < len(s.queue) {
		// The rest stays queued in the same array; the batch's capacity ends where
		// the queue begins, so reusing it (spare) cannot overwrite the queue.
		batch := s.queue[:k:k]
		s.queue = s.queue[k:]
		return batch
	}
	batch := s.queue
	s.queue = s.spare[:0]
	s.spare = nil
	return batch
}

// flushPending writes, blocking, what a non-blocking attempt left; the caller holds
// writeMu. The keepalive's watchdog ends it if it hangs.
func (s *session) flushPending() error {
	s.writing.Store(time.Now().UnixNano())
	defer s.writing.Store(0)
	return s.wc.flushPending()
}

// tryDeliver sends a fan-out pass's frames for this connection. When nothing waits
// for it and no write is under way, the caller writes them itself, all in one
// non-blocking system call (wsConn.tryFrames), which costs no goroutine: a fan-out
// to a thousand members is a thousand system calls and no goroutines. What the socket
// does not take at once, a writer goroutine sends; frames that cannot be tried are
// queued as push does.
func (s *session) tryDeliver(frames []outFrame) {
	s.qmu.Lock()
	if !s.wc.canTry() || s.ended || s.flushing || len(s.queue) > 0 || !s.writeMu.TryLock() {
		full := s.pushLocked(frames...)
		s.qmu.Unlock()
		if full {
			s.closeSlow()
		}
		return
	}
	s.flushing = true // pushes meanwhile queue behind these frames and start no writer
	s.qmu.Unlock()
	took, rest, err := s.wc.tryFrames(frames)
	if took && err == nil {
		s.lastWrite.Store(time.Now().UnixNano())
	}
	s.writeMu.Unlock()
	s.qmu.Lock()
	s.flushing = false
	full := false
	switch {
	case !took:
		full = s.pushLocked(frames...)
	case err == nil && (rest || len(s.queue) > 0) && !s.ended:
		s.startWriterLocked()
	}
	s.qmu.Unlock()
	if full {
		s.closeSlow()
	}
	if !took {
		return
	}
	if err != nil {
		s.close(ws.StatusGoingAway, "write failed", false)
		_ = s.wc.closeNow()
		return
	}
	s.countOut(frames)
}

// countOut counts written frames in /metrics (control frames are not counted).
func (s *session) countOut(frames []outFrame) {
	for _, f := range frames {
		if f.ctl == 0 {
			s.srv.metrics.frameOut(f.typ)
		}
	}
}

// writeBatch writes frames in one system call. It arms no timer per write; a write
// that hangs is ended by the keepalive's watchdog.
func (s *session) writeBatch(batch []outFrame) error {
	s.writing.Store(time.Now().UnixNano())
	defer s.writing.Store(0)
	if err := s.wc.writeFrames(batch); err != nil {
		return err
	}
	s.countOut(batch)
	return nil
}

// keepaliveEvery is how often the keepalive timer fires.
func (s *session) keepaliveEvery() time.Duration {
	cfg := &s.srv.cfg
	return min(cfg.PingInterval, cfg.WriteTimeout/2)
}

// nextAlive is when the keepalive timer fires next: keepaliveEvery from now, or when
// the access token expires if that is sooner.
func (s *session) nextAlive() time.Duration {
	return max(0, min(s.keepaliveEvery(), time.Unix(0, s.tokenExp.Load()).Sub(s.srv.cfg.Now())))
}

// keepalive runs on the session's timer (the one timer an idle connection has): it
// closes the connection when its access token expires (4001), pings the client every
// PingInterval and drops it when a ping is not answered within PingTimeout or a
// write hangs longer than WriteTimeout. The ping is a frame in the session's queue;
// its pong (the reader clears pingSent) is checked here, so no goroutine waits for it.
func (s *session) keepalive() {
	defer s.recoverPanic("keepalive")
	cfg := &s.srv.cfg
	if !cfg.Now().Before(time.Unix(0, s.tokenExp.Load())) {
		s.close(model.CloseTokenExpired, "token expired", false)
		return
	}
	now := time.Now()
	if started := s.writing.Load(); started != 0 && now.Sub(time.Unix(0, started)) > cfg.WriteTimeout {
		s.close(ws.StatusGoingAway, "write timeout", false)
		_ = s.wc.closeNow()
		return
	}
	if sent := s.pingSent.Load(); sent != 0 && now.Sub(time.Unix(0, sent)) > cfg.PingTimeout {
		s.close(ws.StatusGoingAway, "ping timeout", false)
		_ = s.wc.closeNow()
		return
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.ended {
		return
	}
	s.alive.Reset(s.nextAlive())
	// A client that keeps its heartbeat (a frame at least every HeartbeatSeconds)
	// shows it is alive: pinging it as well would only cost both sides. A ping goes,
	// every PingInterval, to a client that has missed its heartbeat and the 10 s it
	// gives the answer, or has never sent one.
	if r := s.lastRecv.Load(); r != 0 && now.Sub(time.Unix(0, r)) < time.Duration(cfg.HeartbeatSeconds)*time.Second+heartbeatGrace {
		return
	}
	if now.Sub(s.lastPing) < cfg.PingInterval || s.pingSent.Load() != 0 {
		return
	}
	s.lastPing = now
	s.pingSent.Store(now.UnixNano())
	s.enqueueLocked(outFrame{ctl: ws.OpPing})
}

// sendError answers a refused frame; id names the client message it refers to.
func (s *session) sendError(code, msg, id string) {
	s.srv.metrics.rejected.WithLabelValues(code).Inc()
	if len(id) > maxIDLen {
		id = id[:maxIDLen]
	}
	s.reply(model.TypeError, model.ErrorFrame{Type: model.TypeError, Code: code, Message: msg, ID: id})
}

// handle acts on one client frame. Bad input answers an error frame and never closes.
// data is good only during the call (readFrame reuses it).
func (s *session) handle(data []byte) {
	if bytes.Equal(data, pingFrame) {
		// The heartbeat, every idle client's only frame: answered without a decode,
		// which keeps an idle connection's goroutine stack small as well as cheap.
		s.srv.metrics.frameIn(model.TypePing)
		s.queuePong()
		return
	}
	f, err := model.DecodeFrame(data)
	if err != nil {
		s.srv.metrics.frameIn("other")
		s.sendError(model.CodeInvalid, err.Error(), "")
		return
	}
	s.srv.metrics.frameIn(f.Type)
	switch f.Type {
	case model.TypeMessage:
		// encoding/json turns invalid UTF-8 into U+FFFD: judge the bytes as sent.
		if !utf8.Valid(data) {
			s.sendError(model.CodeInvalid, model.ErrBadUTF8.Error(), f.ID)
			return
		}
		s.onMessage(&f)
	case model.TypeEdit, model.TypeDelete, model.TypeReact:
		if !utf8.Valid(data) {
			s.sendError(model.CodeInvalid, model.ErrBadUTF8.Error(), f.ID)
			return
		}
		s.onUpdate(&f)
	case model.TypeSync:
		s.onSync(&f)
	case model.TypeDelivered, model.TypeRead:
		s.onMark(&f)
	case model.TypeTyping, model.TypeStopTyping:
		s.onTyping(&f)
	case model.TypePing:
		s.queuePong()
	case model.TypeAuth:
		s.onAuth(&f)
	default:
		s.sendError(model.CodeInvalid, "unknown frame type", "")
	}
}

// member answers whether the user may use roomID, answering the error frame if not.
func (s *session) member(roomID, id string) (roomInfo, bool) {
	info, err := s.srv.hub.access(s.ctx, roomID, s.userID)
	if err != nil {
		s.srv.log.Error("room access", "room", roomID, "user", s.userID, "err", err)
		s.sendError(model.CodeInternal, "internal error", id)
		return info, false
	}
	if !info.member {
		s.sendError(model.CodeForbidden, "not a member of that room, or no such room", id)
		return info, false
	}
	return info, true
}

func (s *session) onMessage(f *model.Frame) {
	start := time.Now()
	if !model.ValidMessageID(f.ID) {
		s.sendError(model.CodeInvalid, "message id must be a UUID", f.ID)
		return
	}
	if _, ok := s.member(f.RoomID, f.ID); !ok {
		return
	}
	now := s.srv.cfg.Now()
	if !s.admit(f.RoomID, f.ID, now) {
		return
	}
	content, err := model.CleanContent(f.Content)
	if err != nil && !(f.Attachment != nil && errors.Is(err, model.ErrBlank)) {
		s.sendError(model.ContentErrorCode(err), err.Error(), f.ID)
		return
	}
	if f.Attachment != nil {
		a, err := s.attachmentOf(f.Attachment, f.RoomID)
		if errors.Is(err, errBadAttachment) {
			s.sendError(model.CodeInvalid, err.Error(), f.ID)
			return
		}
		if err != nil {
			s.srv.log.Error("check attachment", "user", s.userID, "err", err)
			s.sendError(model.CodeInternal, "internal error", f.ID)
			return
		}
		f.Attachment = a
	}
	// The target is looked for in the group commit, which sees a target sent just
	// before in the same batch; an id longer than any message's needs no look.
	if len(f.ReplyTo) > maxIDLen {
		s.sendError(model.CodeNotFound, noReplyTarget, f.ID)
		return
	}
	job := &sendJob{
		msg: NewMessage{ID: f.ID, RoomID: f.RoomID, SenderID: s.userID, SenderName: s.displayName,
			Content: content, Attachment: f.Attachment, AtMs: now.UnixMilli(), ReplyTo: f.ReplyTo},
		done: func(r StoredMessage) { s.srv.messageStored(s, r, start) },
	}
	if err := s.srv.committer.submit(s.ctx, job); err != nil {
		s.sendError(model.CodeInternal, "server is shutting down", f.ID)
	}
}

// admit takes a token of the rate limit for the message or update id to roomID,
// answering whether it may go on (else it has answered `error rate_limited`).
// Messages and updates sent on one connection take seqs in the order they were sent:
// behind a refused one, the room's later ones, of either kind, are refused too (they
// cost no token) until it comes again. The client's engine resends the refused items
// in their order.
func (s *session) admit(roomID, id string, now time.Time) bool {
	first, held := s.held[roomID]
	held = held && first != id
	if !held && s.srv.limiter.allow(s.userID, now) {
		delete(s.held, roomID)
		return true
	}
	s.srv.metrics.rateLimited.Inc()
	if held {
		s.sendError(model.CodeRateLimited, "an earlier message or update to this room was refused; send it again first", id)
	} else {
		if s.held == nil {
			s.held = make(map[string]string, 1)
		}
		s.held[roomID] = id
		s.sendError(model.CodeRateLimited, "too many messages; slow down", id)
	}
	if s.srv.limiter.refuse(s.userID, now) {
		s.close(ws.StatusPolicyViolation, "too many messages", true)
	}
	return false
}

// noReplyTarget is the message of the error not_found that refuses a reply (1.1).
const noReplyTarget = "replyTo names no message of this room"

// onUpdate takes an edit, delete or react (1.1): checked here as far as the frame
// alone tells, then against its target in the group commit, where it takes the
// room's next seq.
func (s *session) onUpdate(f *model.Frame) {
	start := time.Now()
	if !model.ValidMessageID(f.ID) {
		s.sendError(model.CodeInvalid, "update id must be a UUID", f.ID)
		return
	}
	if f.TargetID == "" || len(f.TargetID) > maxIDLen {
		s.sendError(model.CodeNotFound, "targetId names no message of this room", f.ID)
		return
	}
	if _, ok := s.member(f.RoomID, f.ID); !ok {
		return
	}
	now := s.srv.cfg.Now()
	if !s.admit(f.RoomID, f.ID, now) {
		return
	}
	up := NewUpdate{ID: f.ID, RoomID: f.RoomID, SenderID: s.userID, SenderName: s.displayName, TargetID: f.TargetID,
		Op: f.Type, AtMs: now.UnixMilli()}
	switch f.Type {
	case model.TypeEdit:
		content, err := model.CleanContent(f.Content)
		if err != nil {
			s.sendError(model.ContentErrorCode(err), err.Error(), f.ID)
			return
		}
		up.Content = content
	case model.TypeReact:
		if !model.ValidEmoji(f.Emoji) {
			s.sendError(model.CodeInvalid, model.ErrBadEmoji.Error(), f.ID)
			return
		}
		if f.On == nil {
			s.sendError(model.CodeInvalid, "react needs on: true or false", f.ID)
			return
		}
		up.Emoji, up.On = f.Emoji, *f.On
	}
	job := &updateJob{up: up, done: func(r StoredUpdate) { s.srv.updateStored(s, r, start) }}
	if err := s.srv.committer.submit(s.ctx, job); err != nil {
		s.sendError(model.CodeInternal, "server is shutting down", f.ID)
	}
}

// onAuth takes a new access token for the open session (1.1): its expiry becomes the
// session's. A token that is not valid, or names another user, is answered with
// `error invalid` and the session closes 4001.
func (s *session) onAuth(f *model.Frame) {
	uid, exp, err := s.srv.tokens.verify(f.Token)
	if err == nil && uid != s.userID {
		err = errors.New("the token names another user")
	}
	if err != nil {
		s.srv.log.Info("auth frame refused", "user", s.userID, "remote", s.remote, "err", err)
		s.sendError(model.CodeInvalid, "invalid access token", "")
		s.close(model.CloseTokenExpired, "invalid token", true)
		return
	}
	s.tokenExp.Store(exp.UnixNano())
	s.qmu.Lock()
	if !s.ended && s.alive != nil {
		s.alive.Reset(s.nextAlive()) // a token shorter-lived than the last ends sooner
	}
	s.qmu.Unlock()
	s.reply(model.TypeAuthOK, model.AuthOKFrame{Type: model.TypeAuthOK, ExpiresAt: model.NewTime(exp)})
}

func (s *session) onSync(f *model.Frame) {
	if f.AfterSeq < 0 {
		s.sendError(model.CodeInvalid, "afterSeq must not be negative", "")
		return
	}
	info, ok := s.member(f.RoomID, "")
	if !ok {
		return
	}
	evs, more, err := streamAfter(s.ctx, s.srv.store, f.RoomID, f.AfterSeq, info.lastSeq, model.SyncPageSize)
	if err != nil {
		s.srv.log.Error("sync", "room", f.RoomID, "user", s.userID, "err", err)
		s.sendError(model.CodeInternal, "internal error", "")
		return
	}
	for _, ev := range evs {
		if !s.reply(ev.typ, ev.frame) {
			return
		}
	}
	if !more && !s.replyMarks(f.RoomID, info.members) {
		return
	}
	s.reply(model.TypeSynced, model.SyncedFrame{Type: model.TypeSynced, RoomID: f.RoomID, Seq: info.lastSeq, Epoch: info.epoch, More: more})
}

// syncMarksMembers bounds the rooms whose sync replay ends with the other members'
// furthest marks: finding them scans the room's members (0.5 ms for 10, 13 ms for
// 10,000 on SQLite), too much for every reconnect to a room like general.
const syncMarksMembers = 256

// replyMarks ends a room's sync replay with the receipts a client cannot have heard
// while it was away: its user's own mark (the unread count of another device) and, in
// rooms of up to syncMarksMembers members, the other members' furthest marks (the ✓✓
// of its own messages). Marks that move later arrive live.
func (s *session) replyMarks(roomID string, members int) bool {
	marks, err := s.srv.store.LeadingMarks(context.Background(), roomID, s.userID, members <= syncMarksMembers)
	if err != nil {
		s.srv.log.Error("sync marks", "room", roomID, "user", s.userID, "err", err)
		return true // the replay itself is complete
	}
	for _, m := range marks {
		if !s.reply(model.TypeReceipt, model.ReceiptFrame{Type: model.TypeReceipt, RoomID: m.RoomID, UserID: m.UserID,
			DeliveredSeq: m.DeliveredSeq, ReadSeq: m.ReadSeq}) {
			return false
		}
	}
	return true
}

func (s *session) onMark(f *model.Frame) {
	if f.Seq < 0 {
		s.sendError(model.CodeInvalid, "seq must not be negative", "")
		return
	}
	info, ok := s.member(f.RoomID, "")
	if !ok {
		return
	}
	seq := min(f.Seq, info.lastSeq)
	if seq <= 0 {
		return
	}
	mark := Mark{RoomID: f.RoomID, UserID: s.userID}
	if f.Type == model.TypeRead {
		mark.ReadSeq = seq
	} else {
		mark.DeliveredSeq = seq
	}
	srv, sessID := s.srv, s.id
	job := &markJob{mark: mark, done: func(m Mark, moved bool, err error) {
		if err != nil {
			srv.log.Error("store receipt", "room", mark.RoomID, "user", mark.UserID, "err", err)
			return
		}
		if moved {
			data := encode(model.ReceiptFrame{Type: model.TypeReceipt, RoomID: m.RoomID, UserID: m.UserID,
				DeliveredSeq: m.DeliveredSeq, ReadSeq: m.ReadSeq})
			srv.hub.publish(Event{RoomID: m.RoomID, Except: m.UserID, Type: model.TypeReceipt, Data: data})
			// The user's own mark reaches their other sessions (1.1): every device
			// heals its unread count.
			srv.hub.publish(Event{UserIDs: []string{m.UserID}, ExceptConn: sessID, Type: model.TypeReceipt, Data: data})
		}
	}}
	if err := srv.committer.submit(s.ctx, job); err != nil {
		s.sendError(model.CodeInternal, "server is shutting down", "")
	}
}

func (s *session) onTyping(f *model.Frame) {
	if _, ok := s.member(f.RoomID, ""); !ok {
		return
	}
	if f.Type == model.TypeTyping {
		s.srv.hub.typing(s.userID, s.displayName, f.RoomID)
	} else {
		s.srv.hub.stopTyping(s.userID, s.displayName, f.RoomID)
	}
}
