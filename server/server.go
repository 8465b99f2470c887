package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/model"
)

// GeneralRoomID is the id of the public room every new user joins.
const GeneralRoomID = "general"

// dbFile is the SQLite file inside the data folder.
const dbFile = "parley.db"

// Server is one Parley chat server node.
type Server struct {
	cfg       Config
	log       *slog.Logger
	store     Store
	ownStore  bool // opened by New, so closed by Shutdown
	broker    Broker
	health    []healthCheck // what /healthz reports
	ownBroker bool          // New made the broker: Shutdown closes it
	hub       *hub
	committer *committer
	metrics   *metrics
	tokens    *tokens
	limiter   *sendLimiter
	logins    *failureLimiter
	http      *http.Server
	handler   http.Handler

	mu       sync.Mutex
	closing  bool
	draining bool // Drain runs: new WebSockets are refused
	sessions sync.WaitGroup
	shutOnce sync.Once
	shutErr  error
	shutDone chan struct{}

	presence *presenceKeeper

	// registrations limits registrations per address (regAll: of all addresses); nil
	// when RegisterLimit turns them off.
	registrations, regAll *keyedLimiter

	metricsHTTP []*http.Server // ServeMetrics' servers; under mu

	blob        Blob          // the uploads' bytes
	uploadRate  *keyedLimiter // uploads a minute per user
	uploads     uploadsUnderWay
	decodeSlots chan struct{} // bounds the images decoded at once

	releases sync.WaitGroup // deletions of the uploads of deleted messages

	stopPurge context.CancelFunc // ends the purge loop (at shutdown)
	purgeDone chan struct{}
}

// New opens the store (creating DataDir), loads or generates the JWT secret, and
// makes sure the room `general` exists. It does not listen: see Serve.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", cfg.DataDir, err)
	}
	secret := cfg.JWTSecret
	if len(secret) == 0 {
		var err error
		if secret, err = loadOrCreateSecret(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	store, ownStore := cfg.Store, false
	if store == nil {
		var err error
		if store, err = openStore(cfg); err != nil {
			return nil, err
		}
		ownStore = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.EnsureRoom(ctx, RoomRecord{ID: GeneralRoomID, Name: GeneralRoomID, Public: true, Epoch: newID()}); err != nil {
		if ownStore {
			_ = store.Close()
		}
		return nil, err
	}
	broker, ownBroker := cfg.Broker, false
	if broker == nil {
		var err error
		if broker, err = openBroker(cfg); err != nil {
			if ownStore {
				_ = store.Close()
			}
			return nil, err
		}
		ownBroker = true
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		store:     store,
		ownStore:  ownStore,
		broker:    broker,
		ownBroker: ownBroker,
		metrics:   newMetrics(),
		tokens:    &tokens{secret: secret, ttl: cfg.AccessTTL, now: cfg.Now},
		limiter:   newSendLimiter(cfg.MsgRate, cfg.MsgBurst, cfg.RefusedLimit),
		logins:    newFailureLimiter(cfg.LoginFailures, time.Minute, cfg.Now),
		shutDone:  make(chan struct{}),
	}
	if gs, ok := store.(*gormStore); ok && cfg.Blob == nil && isPostgres(gs.db) {
		s.blob = gs.blob() // every node on the database sees every upload
	}
	if s.blob = cmp.Or(cfg.Blob, s.blob); s.blob == nil {
		b, err := NewDirBlob(filepath.Join(cfg.DataDir, "uploads"))
		if err != nil {
			if ownStore {
				_ = store.Close()
			}
			return nil, err
		}
		s.blob = b
	}
	s.uploadRate = newKeyedLimiter(cfg.UploadRate, time.Minute)
	s.decodeSlots = make(chan struct{}, 2)
	if cfg.RegisterLimit > 0 {
		s.registrations = newKeyedLimiter(cfg.RegisterLimit, time.Minute)
		s.regAll = newKeyedLimiter(cfg.RegisterTotal, time.Minute)
	}
	s.hub = newHub(cfg, store, s.broker, s.metrics)
	s.health = s.healthChecks()
	// A single node keeps presence in a file across restarts; several keep it among
	// themselves while one restarts (presence.go).
	if !s.hub.shared {
		if n, err := s.hub.restorePresence(ctx, cfg.DataDir); err != nil {
			s.log.Warn("restore presence", "err", err)
		} else if n > 0 {
			s.log.Info("restored presence", "users", n, "grace", cfg.PresenceGrace)
		}
		s.presence = s.hub.keepPresence(cfg.DataDir)
	}
	purgeCtx, stopPurge := context.WithCancel(context.Background())
	s.stopPurge, s.purgeDone = stopPurge, make(chan struct{})
	go s.purgeLoop(purgeCtx)
	s.committer = newCommitter(store, cfg.CommitBatch, cfg.Logger, func(n int) { s.metrics.batchSize.Observe(float64(n)) })
	s.handler = s.routes()
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// openStore opens the configured database: SQLite in the data folder unless the DSN
// names PostgreSQL or another SQLite file.
func openStore(cfg Config) (Store, error) {
	dsn := cfg.DSN
	if dsn == "" {
		dsn = "file:" + filepath.ToSlash(filepath.Join(cfg.DataDir, dbFile))
	}
	return OpenStore(dsn)
}

// openBroker makes the configured broker: NATS when a URL is set, else in memory.
func openBroker(cfg Config) (Broker, error) {
	if cfg.NATSURL == "" {
		return NewMemoryBroker(), nil
	}
	host, _ := os.Hostname()
	return DialNATS(cfg.NATSURL, "parley "+host+" "+cfg.Listen, cfg.Logger)
}

// Handler answers the HTTP API, /ws and /healthz: what the public listener serves.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler answers GET /metrics (Prometheus text). It is for the operator's
// listener only: the figures tell an attacker how busy the server is and when a
// flood of theirs starts to bite, so Handler never serves them.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

// ServeMetrics serves MetricsHandler on ln (plain HTTP) until Shutdown; it returns
// nil after a Shutdown.
func (s *Server) ServeMetrics(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	hs := &http.Server{Handler: s.MetricsHandler(), ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, IdleTimeout: 120 * time.Second}
	s.metricsHTTP = append(s.metricsHTTP, hs)
	s.mu.Unlock()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

// Serve accepts connections on ln until Shutdown; it serves TLS when the
// configuration names a certificate and key. It returns nil after a Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	var err error
	if s.cfg.TLSCert != "" && s.cfg.TLSKey != "" {
		err = s.http.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
	} else {
		err = s.http.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		<-s.shutDone
		return nil
	}
	return err
}

// ListenAndServe listens on the configured Listen address, logs the URL it serves
// and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	s.log.Info("serving", "url", s.URL(ln))
	return s.Serve(ln)
}

// URL is the address a client uses for ln: http(s)://host:port.
func (s *Server) URL(ln net.Listener) string {
	scheme := "http"
	if s.cfg.TLSCert != "" && s.cfg.TLSKey != "" {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String()
}

// Shutdown stops accepting, closes every WebSocket with 1001 after writing what is
// queued for it, commits pending messages and closes the store. When ctx ends first,
// the remaining connections are dropped and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		s.shutErr = s.shutdown(ctx)
		close(s.shutDone)
	})
	<-s.shutDone
	return s.shutErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	metricsHTTP := s.metricsHTTP
	s.mu.Unlock()
	for _, hs := range metricsHTTP {
		_ = hs.Close() // a scrape has nothing to finish
	}

	httpDone := make(chan error, 1)
	go func() { httpDone <- s.http.Shutdown(ctx) }()

	sessions := s.hub.close()
	if s.presence != nil {
		s.presence.close()
	}
	for _, ss := range sessions {
		ss.close(ws.StatusGoingAway, "server going away", true)
	}
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		for _, ss := range sessions {
			_ = ss.wc.closeNow()
		}
		<-done
		errs = append(errs, ctx.Err())
	}
	if err := <-httpDone; err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		errs = append(errs, err)
	}
	s.stopPurge()
	<-s.purgeDone
	s.committer.close()
	s.releases.Wait()
	if s.ownBroker {
		if err := s.broker.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.ownStore {
		if err := s.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// messageStored completes a send after its commit: the ack to the sender, then the
// message, encoded once, to every member. It runs on the committer goroutine.
func (s *Server) messageStored(ss *session, r StoredMessage, start time.Time) {
	if errors.Is(r.Err, ErrIDTaken) {
		s.log.Warn("message id of another sender", "user", ss.userID, "id", r.Message.ID, "room", r.Message.RoomID)
		ss.push(model.TypeError, encode(model.ErrorFrame{Type: model.TypeError, Code: model.CodeConflict,
			Message: "message id already used by another user", ID: r.Message.ID}))
		return
	}
	if errors.Is(r.Err, ErrNoReplyTarget) {
		ss.push(model.TypeError, encode(model.ErrorFrame{Type: model.TypeError, Code: model.CodeNotFound,
			Message: noReplyTarget, ID: r.Message.ID}))
		return
	}
	if r.Err != nil {
		s.log.Error("store message", "user", ss.userID, "err", r.Err)
		ss.push(model.TypeError, encode(model.ErrorFrame{Type: model.TypeError, Code: model.CodeInternal,
			Message: "message not stored", ID: r.Message.ID}))
		return
	}
	m := r.Message
	if r.New {
		// The room's seq moves before anyone hears of the message, so a receipt
		// for it is never clamped below it.
		s.hub.stored(m.RoomID, m.Seq)
	}
	ss.push(model.TypeAck, encode(model.AckFrame{Type: model.TypeAck, ID: m.ID, RoomID: m.RoomID, Seq: m.Seq, Timestamp: m.Timestamp}))
	s.metrics.ackLatency.Observe(time.Since(start).Seconds())
	if r.New {
		s.hub.publish(Event{RoomID: m.RoomID, Seq: m.Seq, Type: model.TypeMessage, Data: encode(model.MessageFrame{Type: model.TypeMessage, Message: m})})
	}
}

// updateStored completes an update after its commit as messageStored completes a
// message: the ack to the sender, then the update frame to every member.
func (s *Server) updateStored(ss *session, r StoredUpdate, start time.Time) {
	u := r.Update
	if r.Err != nil {
		code, msg := model.CodeInternal, "update not stored"
		switch {
		case errors.Is(r.Err, ErrIDTaken):
			code, msg = model.CodeConflict, "update id already used by another user"
		case errors.Is(r.Err, ErrNotFound):
			code, msg = model.CodeNotFound, "targetId names no message of this room"
		case errors.Is(r.Err, ErrNotSender):
			code, msg = model.CodeForbidden, "only the sender may edit or delete a message"
		case errors.Is(r.Err, ErrDeleted):
			code, msg = model.CodeInvalid, "the message is deleted"
		case errors.Is(r.Err, ErrTooManyReactions):
			code, msg = model.CodeInvalid, "a message takes at most 20 distinct emoji"
		default:
			s.log.Error("store update", "user", ss.userID, "err", r.Err)
		}
		ss.push(model.TypeError, encode(model.ErrorFrame{Type: model.TypeError, Code: code, Message: msg, ID: u.ID}))
		return
	}
	if r.New {
		s.hub.stored(u.RoomID, u.Seq)
	}
	ss.push(model.TypeAck, encode(model.AckFrame{Type: model.TypeAck, ID: u.ID, RoomID: u.RoomID, Seq: u.Seq, Timestamp: u.Timestamp}))
	s.metrics.ackLatency.Observe(time.Since(start).Seconds())
	if r.New {
		s.hub.publish(Event{RoomID: u.RoomID, Seq: u.Seq, Type: model.TypeUpdate, Data: encode(u.Frame())})
	}
	if r.New && r.Released != "" {
		// Off the committer: a blob in the database can take a while to delete.
		s.releases.Add(1)
		go func() {
			defer s.releases.Done()
			s.releaseUpload(r.Released)
		}()
	}
}

// hashPassword hashes a password with the configured bcrypt cost.
func (s *Server) hashPassword(p string) ([]byte, error) {
	cost := s.cfg.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(p), cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}
