package net

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// session is one live WebSocket connection: it reads and handles frames, syncs the
// rooms, sends the outbox and the heartbeat. It ends at the first error.
type session struct {
	c    *Client
	conn *websocket.Conn

	ctx    context.Context
	cancel context.CancelCauseFunc

	lastRecv   atomic.Int64 // UnixNano (of the Client's clock) of the last frame received
	frames     frameQueue
	control    chan any      // typing and marks, written by the control writer
	outboxKick chan struct{} // the outbox may have something new
	syncedCh   chan struct{} // closed when the first sync of every room is done
	startedCh  chan struct{} // closed when the rooms are fetched and stored: the outbox may go

	// sendMu is held while the sender claims a message and writes it, and by a rewind:
	// nothing is written between a refusal and the rewind it causes.
	sendMu sync.Mutex

	mu       sync.Mutex
	pending  []storage.Outgoing // queued by Send, Retry and the updates since the sender last looked
	rescan   bool               // the sender must read the whole outbox again
	inflight map[string]int64   // message ids sent on this connection and not answered → their place in the sends
	sends    int64              // message frames written on this connection
	// rewound counts, per message id taken back by a rewind, the answers to its earlier
	// send still due; the sender sends nothing while any is due, so that every message
	// has at most one send awaiting an answer and each answer is known for what it is.
	rewound map[string]int
	gen     int64            // bumped by every rewind: the sender drops the list it was going through
	failed  map[string]bool  // updates failed on this connection: never sent again on it
	syncing map[string]int64 // room id → afterSeq of the sync in progress
	synced  bool

	pendingBytes int // pending's size, bounded by maxPendingBytes (under mu)
}

func newSession(c *Client, conn *websocket.Conn) *session {
	return &session{c: c, conn: conn, frames: frameQueue{ready: make(chan struct{}, 1)},
		control: make(chan any, 256), outboxKick: make(chan struct{}, 1), syncedCh: make(chan struct{}),
		startedCh: make(chan struct{}),
		inflight:  map[string]int64{}, rewound: map[string]int{}, syncing: map[string]int64{}, failed: map[string]bool{}}
}

// fail ends the session; the first cause is the one reported.
func (s *session) fail(err error) {
	s.cancel(err)
	s.conn.CloseNow()
}

// serve waits for hello, then runs the session until it ends.
func (s *session) serve(parent context.Context) outcome {
	c := s.c
	// The session's context does not end with parent: when the Client stops, the
	// connection is first closed politely (1000), then everything ends.
	s.ctx, s.cancel = context.WithCancelCause(context.WithoutCancel(parent))
	defer s.cancel(nil)
	stopped := make(chan struct{})
	stopWatch := context.AfterFunc(parent, func() {
		defer close(stopped)
		s.closePolitely()
		s.fail(context.Cause(parent))
	})
	defer func() {
		if !stopWatch() {
			<-stopped
		}
	}()

	hctx, hcancel := context.WithTimeout(s.ctx, helloTimeout)
	hello, err := s.readHello(hctx)
	hcancel()
	if err != nil {
		s.conn.CloseNow()
		return outcome{err: fmt.Errorf("hello: %w", err), code: websocket.CloseStatus(err)}
	}
	s.lastRecv.Store(c.clock.Now().UnixNano())
	c.mu.Lock()
	c.sess = s
	c.userID = hello.UserID
	c.mu.Unlock()
	c.setState(StateEvent{State: StateOnline})
	online := make(map[string]bool, len(hello.Online))
	for _, id := range hello.Online {
		online[id] = true
	}
	c.setPresence(online, true)
	c.marks.newConnection()

	beat := c.cfg.Heartbeat
	if beat <= 0 {
		sec := hello.HeartbeatSeconds
		if sec <= 0 {
			sec = defaultBeatSec
		}
		beat = time.Duration(sec) * time.Second
	}
	var wg sync.WaitGroup
	wg.Go(s.read)
	wg.Go(func() { s.heartbeat(beat) })
	wg.Go(s.writeControl)
	wg.Go(s.sendOutbox)
	if hello.Protocol != "" && hello.Protocol != "1.0" {
		wg.Go(s.renewToken)
	}
	if err := s.start(); err != nil {
		s.fail(err)
	}
	s.process()
	s.conn.CloseNow()
	wg.Wait()

	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
	}
	c.mu.Unlock()
	c.typIn.clear()
	c.typOut.reset()
	cause := context.Cause(s.ctx)
	return outcome{err: cause, hello: true, code: websocket.CloseStatus(cause)}
}

// closePolitely closes the connection with 1000, waiting at most closeTimeout for the
// server's answer.
func (s *session) closePolitely() {
	done := make(chan struct{})
	go func() {
		s.conn.Close(websocket.StatusNormalClosure, "")
		close(done)
	}()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.conn.CloseNow()
		<-done
	}
}

func (s *session) readHello(ctx context.Context) (model.Frame, error) {
	for {
		_, data, err := s.conn.Read(ctx)
		if err != nil {
			return model.Frame{}, err
		}
		f, err := model.DecodeFrame(data)
		if err != nil {
			return model.Frame{}, err
		}
		if f.Type == model.TypeHello {
			return f, nil
		}
		if f.Type == model.TypeError {
			return model.Frame{}, fmt.Errorf("server error %s: %s", f.Code, f.Message)
		}
	}
}

// start fetches the rooms and asks for the sync of each.
func (s *session) start() error {
	c := s.c
	var rooms []model.Room
	err := c.authed(s.ctx, func(tok string) (err error) {
		rooms, err = c.api.Rooms(s.ctx, tok)
		return err
	})
	if err != nil {
		return fmt.Errorf("fetch rooms: %w", err)
	}
	if _, err := c.upsertRooms(rooms); err != nil {
		return err
	}
	close(s.startedCh)
	for _, r := range rooms {
		s.requestSync(r.ID)
	}
	s.checkSynced()
	return nil
}

// requestSync sends `sync` for a room from the highest seq below which nothing is
// missing, unless one is in progress.
func (s *session) requestSync(roomID string) {
	s.mu.Lock()
	if _, busy := s.syncing[roomID]; busy {
		s.mu.Unlock()
		return
	}
	cur, err := s.c.contiguous(roomID)
	if err != nil {
		s.mu.Unlock()
		s.fail(fmt.Errorf("sync cursor %s: %w", roomID, err))
		return
	}
	s.syncing[roomID] = cur
	s.mu.Unlock()
	s.write(model.SyncFrame{Type: model.TypeSync, RoomID: roomID, AfterSeq: cur})
}

// checkSynced reports the end of the first sync, and lets the outbox go.
func (s *session) checkSynced() {
	s.mu.Lock()
	done := !s.synced && len(s.syncing) == 0
	if done {
		s.synced = true
	}
	s.mu.Unlock()
	if done {
		close(s.syncedCh)
		s.c.setState(StateEvent{State: StateOnline, Synced: true})
	}
}

// write sends one frame; a failure ends the session.
func (s *session) write(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		s.c.log.Error("encode frame", "err", err)
		return false
	}
	ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, b); err != nil {
		s.fail(fmt.Errorf("write: %w", err))
		return false
	}
	return true
}

// read queues every frame received until the connection fails.
func (s *session) read() {
	for {
		_, data, err := s.conn.Read(s.ctx)
		if err != nil {
			s.fail(err)
			return
		}
		s.lastRecv.Store(s.c.clock.Now().UnixNano())
		f, err := model.DecodeFrame(data)
		if err != nil {
			s.c.log.Warn("drop frame", "err", err)
			continue
		}
		s.frames.push(f)
	}
}

// heartbeat sends `ping` every interval and ends the session when nothing at all
// arrives within PongTimeout of a ping.
func (s *session) heartbeat(interval time.Duration) {
	c := s.c
	for {
		t := c.clock.NewTimer(interval)
		select {
		case <-t.C():
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		sent := c.clock.Now()
		if !s.write(model.TypeFrame{Type: model.TypePing}) {
			return
		}
		t = c.clock.NewTimer(c.cfg.PongTimeout)
		select {
		case <-t.C():
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		if s.lastRecv.Load() < sent.UnixNano() {
			s.fail(errHeartbeat)
			return
		}
	}
}

// writeControl writes typing and mark frames.
func (s *session) writeControl() {
	for {
		select {
		case v := <-s.control:
			if !s.write(v) {
				return
			}
		case <-s.ctx.Done():
			return
		}
	}
}

// The messages queued in memory for the sender are bounded, as the server bounds each
// session's output: a script that sends faster than the connection (or the rate
// limit) lets them go would otherwise hold every one of them twice, in the outbox and
// here. Past either bound the sender reads the outbox on disk instead, which holds
// them all in order.
const (
	maxPendingFrames = 256
	maxPendingBytes  = 1 << 20
)

// queue hands the sender a message or update just put in the outbox.
func (s *session) queue(m storage.Outgoing) {
	s.mu.Lock()
	delete(s.failed, m.ID()) // RetryUpdate
	size := outgoingSize(m)
	if s.rescan || len(s.pending) >= maxPendingFrames || s.pendingBytes+size > maxPendingBytes {
		s.pending, s.pendingBytes, s.rescan = nil, 0, true
	} else {
		s.pending = append(s.pending, m)
		s.pendingBytes += size
	}
	s.mu.Unlock()
	s.kickOutbox()
}

func (s *session) kickOutbox() {
	select {
	case s.outboxKick <- struct{}{}:
	default:
	}
}

// sendOutbox sends the outbox, in order, as soon as the rooms are fetched (it does not
// wait for the sync: a backlog of thousands of messages in some room must not hold
// back what the user typed), and then whatever
// Send and Retry queue later (without reading the whole outbox again). Every message
// goes out once per connection (the same id again after a reconnect: the server
// answers a stored message with its ack), except after a rate_limited refusal: then
// the refused message and everything sent behind it go again, in order (refused).
func (s *session) sendOutbox() {
	c := s.c
	select {
	case <-s.startedCh:
	case <-s.ctx.Done():
		return
	}
	s.mu.Lock()
	s.rescan = true
	s.mu.Unlock()
	for {
		s.mu.Lock()
		due := len(s.rewound) > 0
		msgs, rescan, gen := s.pending, s.rescan, s.gen
		if !due {
			s.pending, s.pendingBytes, s.rescan = nil, 0, false
		}
		s.mu.Unlock()
		if !due {
			if rescan {
				// The outbox holds everything pending had, in order.
				var err error
				if msgs, err = c.store.Outbox(); err != nil {
					s.fail(fmt.Errorf("read outbox: %w", err))
					return
				}
			}
			for _, m := range msgs {
				if !s.sendOne(m, gen) {
					break
				}
			}
			if s.ctx.Err() != nil {
				return
			}
		}
		select {
		case <-s.outboxKick:
		case <-s.ctx.Done():
			return
		}
	}
}

// sendOne sends a message unless this connection sent it already, at the limiter's
// pace. It answers false when the sender must stop going through its list: a rewind
// since the list was read (gen), or the session ended.
func (s *session) sendOne(m storage.Outgoing, gen int64) bool {
	if m.Message != nil && m.Message.UploadPath != "" {
		return true // its file is uploading: the uploader queues it when it is done
	}
	id := m.ID()
	s.mu.Lock()
	_, sent := s.inflight[id]
	stale := s.gen != gen
	s.mu.Unlock()
	if stale {
		return false
	}
	if sent {
		return true
	}
	if err := s.c.limiter.Wait(s.ctx); err != nil {
		return false
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	if s.gen != gen {
		s.mu.Unlock()
		return false
	}
	if _, sent := s.inflight[id]; sent || s.failed[id] {
		s.mu.Unlock()
		return true
	}
	s.sends++
	s.inflight[id] = s.sends
	s.mu.Unlock()
	return s.write(outgoingFrame(m))
}

// outgoingFrame is the frame that sends a message or an update of the outbox.
func outgoingFrame(o storage.Outgoing) any {
	if m := o.Message; m != nil {
		return model.SendFrame{Type: model.TypeMessage, ID: m.ID, RoomID: m.RoomID, Content: m.Content,
			Attachment: m.Attachment, ReplyTo: m.ReplyTo}
	}
	u := o.Update
	switch u.Op {
	case model.OpEdit:
		return model.EditFrame{Type: model.TypeEdit, ID: u.ID, RoomID: u.RoomID, TargetID: u.TargetID, Content: u.Content}
	case model.OpDelete:
		return model.DeleteFrame{Type: model.TypeDelete, ID: u.ID, RoomID: u.RoomID, TargetID: u.TargetID}
	}
	return model.ReactFrame{Type: model.TypeReact, ID: u.ID, RoomID: u.RoomID, TargetID: u.TargetID, Emoji: u.Emoji, On: u.On}
}

// outgoingSize is about what an outbox item holds in memory.
func outgoingSize(o storage.Outgoing) int {
	if m := o.Message; m != nil {
		return len(m.Content) + len(m.ID) + len(m.RoomID) + len(m.ReplyTo)
	}
	return len(o.Update.Content) + len(o.Update.ID) + len(o.Update.RoomID) + len(o.Update.TargetID) + len(o.Update.Emoji)
}

// answered notes that the message id got its answer (an ack or an error) and reports
// whether that answer was to this connection's latest send of it, not to one a
// rewind took back.
func (s *session) answered(id string) (latest bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, latest = s.answeredLocked(id)
	return latest
}

// answeredLocked is answered, also answering the send's place; the caller holds mu.
func (s *session) answeredLocked(id string) (place int64, latest bool) {
	if n := s.rewound[id]; n > 0 {
		if n == 1 {
			delete(s.rewound, id)
			if len(s.rewound) == 0 {
				s.kickOutbox()
			}
		} else {
			s.rewound[id] = n - 1
		}
		return 0, false
	}
	place, latest = s.inflight[id]
	delete(s.inflight, id)
	return place, latest
}

// refused answers a rate_limited refusal of id by a rewind: it and every message and
// update sent after it on this connection go again, in order, once the answers to the
// sends taken back are in and the slowed limiter lets them. Nothing queued behind them
// overtakes them. A refusal of a send that an earlier rewind took back changes
// nothing.
func (s *session) refused(id string) {
	if s.rewind(id) {
		s.c.setThrottled(true)
		// A refusal of a send the server had already stored under an earlier send
		// (a resend that crossed its ack) leaves nothing queued: then nothing waits.
		s.c.throttleOver()
	}
}

// rewind takes back the send of id and every send after it on this connection (they
// go again, in order, at a slowed pace) and reports whether it did: false when the
// answer was to a send an earlier rewind took back.
func (s *session) rewind(id string) bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	from, latest := s.answeredLocked(id)
	if latest {
		for k, n := range s.inflight {
			if n > from {
				delete(s.inflight, k)
				s.rewound[k]++
			}
		}
		s.gen++
		s.rescan = true
	}
	s.mu.Unlock()
	if !latest {
		return false
	}
	s.c.limiter.slowDown()
	s.kickOutbox()
	return true
}

// process handles queued frames until the session ends.
func (s *session) process() {
	for {
		select {
		case <-s.frames.ready:
		case <-s.ctx.Done():
			return
		}
		if err := s.handle(s.frames.take()); err != nil {
			s.fail(err)
			return
		}
	}
}

// handle applies frames in order; runs of messages, acks and receipts between other
// frames are stored in one transaction each.
func (s *session) handle(frames []model.Frame) error {
	c := s.c
	var msgs []model.Message
	var ups []model.Update
	var acks []storage.Ack
	receipts := map[receiptKey]*model.Frame{} // marks are cumulative: the highest of a batch says it all
	var receiptOrder []receiptKey
	flush := func() error {
		if len(msgs) > 0 {
			if err := c.ingest(msgs); err != nil {
				return err
			}
			msgs = msgs[:0]
		}
		if len(ups) > 0 {
			if err := c.fold(ups); err != nil {
				return err
			}
			ups = ups[:0]
		}
		if len(acks) > 0 {
			// The outbox first, then the answers: an answer can end a rewind and
			// wake the sender (answered), which must then no longer find the acked
			// items in the outbox, or it sends them once more.
			acked, err := c.store.ApplyAcks(acks)
			if err != nil {
				return fmt.Errorf("store %d acks: %w", len(acks), err)
			}
			for _, a := range acks {
				if s.answered(a.ID) {
					c.limiter.speedUp()
				}
				c.internalDone(a.ID)
			}
			rooms := map[string]int64{}
			for _, a := range acks {
				rooms[a.RoomID] = max(rooms[a.RoomID], a.Seq)
			}
			for id, seq := range rooms {
				if err := c.readOwn(id, seq); err != nil {
					return err
				}
				c.emitRooms(id)
			}
			c.events.addMessages(acked.Messages)
			c.events.addChanged(acked.Changed)
			c.outboxShrank() // after the read marks: Flush's callers see them
			acks = acks[:0]
		}
		me := c.UserID()
		for _, k := range receiptOrder {
			f := receipts[k]
			changed, err := c.store.ApplyReceipt(f.RoomID, f.UserID, f.DeliveredSeq, f.ReadSeq)
			if err != nil {
				return fmt.Errorf("store receipt %s: %w", f.RoomID, err)
			}
			c.events.addMessages(changed)
			if f.UserID == me && f.ReadSeq > 0 {
				// The user read on another device (1.1): so here too.
				moved, err := c.store.SetReadSeq(f.RoomID, f.ReadSeq)
				if err != nil {
					return fmt.Errorf("own read mark %s: %w", f.RoomID, err)
				}
				if moved {
					c.emitRooms(f.RoomID)
				}
			}
		}
		clear(receipts)
		receiptOrder = receiptOrder[:0]
		return nil
	}
	// Acks first: the user waits for them, and a sync replay of thousands of messages
	// in the same batch must not hold them back. Acks only name own messages, whose
	// echoes the store recognises in either order.
	for i := range frames {
		if f := &frames[i]; f.Type == model.TypeAck {
			acks = append(acks, storage.Ack{ID: f.ID, RoomID: f.RoomID, Seq: f.Seq, Timestamp: f.Timestamp.Time})
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for i := range frames {
		f := &frames[i]
		switch f.Type {
		case model.TypeMessage:
			msgs = append(msgs, f.AsMessage())
			if len(msgs) >= ingestChunk {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		case model.TypeUpdate:
			ups = append(ups, f.AsUpdate())
			if len(ups) >= ingestChunk {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		case model.TypeAck:
			continue // applied above
		case model.TypeReceipt:
			k := receiptKey{f.RoomID, f.UserID}
			if r, ok := receipts[k]; ok {
				r.DeliveredSeq = max(r.DeliveredSeq, f.DeliveredSeq)
				r.ReadSeq = max(r.ReadSeq, f.ReadSeq)
			} else {
				receipts[k] = f
				receiptOrder = append(receiptOrder, k)
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if s.ctx.Err() != nil {
			// The session ends (the Client stops): what is left is synced again next time.
			return nil
		}
		if err := s.handleOther(f); err != nil {
			return err
		}
	}
	return flush()
}

// ingestChunk bounds the messages stored in one transaction, so that a flood never
// holds the store's write lock (which Send needs) for long.
const ingestChunk = 500

// receiptKey names one member's receipt in one room.
type receiptKey struct{ roomID, userID string }

// handleOther applies one frame that is neither a message nor an ack.
func (s *session) handleOther(f *model.Frame) error {
	c := s.c
	switch f.Type {
	case model.TypeSynced:
		return s.handleSynced(f)
	case model.TypeTyping:
		if f.UserID != c.UserID() {
			c.typIn.start(f.RoomID, f.UserID, f.DisplayName)
		}
	case model.TypeStopTyping:
		c.typIn.stop(f.RoomID, f.UserID)
	case model.TypeUserJoined:
		c.setPresence(map[string]bool{f.UserID: true}, false)
	case model.TypeUserLeft:
		c.setPresence(map[string]bool{f.UserID: false}, false)
	case model.TypeRoom:
		if _, err := c.upsertRooms([]model.Room{f.AsRoom()}); err != nil {
			return err
		}
		s.requestSync(f.ID)
	case model.TypeRoomLeft:
		return c.roomLeft(f.RoomID)
	case model.TypeError:
		return s.handleError(f)
	case model.TypeAuthOK:
		c.mu.Lock()
		c.renewed++
		close(c.renewedCh)
		c.renewedCh = make(chan struct{})
		c.mu.Unlock()
	}
	// hello again, pong, and types this version does not know: nothing to do.
	return nil
}

func (s *session) handleSynced(f *model.Frame) error {
	c := s.c
	room, ok, err := c.store.Room(f.RoomID)
	if err != nil {
		return fmt.Errorf("read room %s: %w", f.RoomID, err)
	}
	s.mu.Lock()
	from, syncing := s.syncing[f.RoomID]
	delete(s.syncing, f.RoomID)
	s.mu.Unlock()
	if ok && f.Epoch != "" && room.Epoch != "" && f.Epoch != room.Epoch {
		// The server's history was replaced after we fetched the rooms: start over.
		mr := model.Room{ID: room.ID, Name: room.Name, Public: room.Public, Direct: room.Direct,
			MemberIDs: room.MemberIDs, LastSeq: f.Seq, Epoch: f.Epoch}
		if _, err := c.upsertRooms([]model.Room{mr}); err != nil {
			return err
		}
		s.requestSync(f.RoomID)
		return nil
	}
	if err := c.store.SetLastSeq(f.RoomID, f.Seq); err != nil {
		return fmt.Errorf("store last seq %s: %w", f.RoomID, err)
	}
	c.emitRooms(f.RoomID)
	if f.More && syncing {
		cur, err := c.contiguous(f.RoomID)
		if err != nil {
			return fmt.Errorf("sync cursor %s: %w", f.RoomID, err)
		}
		if cur > from {
			s.requestSync(f.RoomID)
			return nil
		}
		c.log.Warn("sync made no progress", "room", f.RoomID, "seq", cur)
	}
	s.checkSynced()
	return nil
}

// handleError applies an `error` frame. One naming a message fails it, except
// rate_limited: that message or update and those sent behind it go again, in order
// (refused). One naming an update fails it for good (forbidden, not_found, invalid,
// conflict: its change is undone), except rate_limited and internal: a server that
// could not store it is asked again, like rate_limited, up to maxInternalRetries
// times. An answer to a send that a rewind took back changes nothing.
func (s *session) handleError(f *model.Frame) error {
	c := s.c
	if f.ID == "" {
		c.log.Warn("server error", "code", f.Code, "message", f.Message)
		return nil
	}
	reason := f.Code
	if f.Message != "" {
		reason += ": " + f.Message
	}
	switch f.Code {
	case model.CodeRateLimited:
		s.refused(f.ID)
		return nil
	case model.CodeInternal:
		if _, pending, err := c.store.PendingUpdate(f.ID); err != nil {
			return fmt.Errorf("read update %s: %w", f.ID, err)
		} else if pending && c.internalRefusals(f.ID) < maxInternalRetries {
			if s.rewind(f.ID) {
				c.internalRefused(f.ID)
				c.log.Info("update not stored; sending it again", "update", f.ID, "reason", reason)
			}
			return nil
		}
	}
	if !s.answered(f.ID) {
		return nil
	}
	m, ok, err := c.store.MarkFailed(f.ID, reason)
	if err != nil {
		return fmt.Errorf("mark %s failed: %w", f.ID, err)
	}
	if ok {
		c.events.addMessages([]storage.Message{m})
		c.outboxShrank()
		return nil
	}
	if m.ID != "" {
		return nil // a message, not sending any more
	}
	return s.failUpdate(f.ID, reason)
}

// maxInternalRetries bounds how often an update the server could not store
// (`internal`) is sent again before it fails (and waits for RetryUpdate).
const maxInternalRetries = 5

// failUpdate fails an own pending update the server refused, undoing its change.
// The sender, which may be going through a list read before, never sends it again.
func (s *session) failUpdate(id, reason string) error {
	c := s.c
	c.internalDone(id)
	s.sendMu.Lock()
	s.mu.Lock()
	s.failed[id] = true
	s.mu.Unlock()
	uf, ok, err := c.store.FailUpdate(id, reason)
	s.sendMu.Unlock()
	if err != nil {
		return fmt.Errorf("mark update %s failed: %w", id, err)
	}
	if ok {
		if uf.Target.ID != "" {
			c.events.addChanged([]storage.Message{uf.Target})
		}
		c.events.addFailed(uf)
		c.outboxShrank()
	}
	return nil
}

// frameQueue is an unbounded queue of received frames, so that reading never waits for
// the store (a server whose queue to us fills up would close us as a slow consumer).
type frameQueue struct {
	mu     sync.Mutex
	frames []model.Frame
	ready  chan struct{}
}

func (q *frameQueue) push(f model.Frame) {
	q.mu.Lock()
	q.frames = append(q.frames, f)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *frameQueue) take() []model.Frame {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.frames
	q.frames = nil
	return out
}
