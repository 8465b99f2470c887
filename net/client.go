package net

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// DefaultServerURL is the server used when neither the Config nor the stored account names one.
const DefaultServerURL = "http://127.0.0.1:8787"

// Defaults of Config's tunables.
const (
	DefaultPongTimeout      = 10 * time.Second
	DefaultSendRate         = 10 // messages a second
	DefaultSendBurst        = 10
	DefaultRateLimitedRetry = 2 * time.Second
	DefaultMarkInterval     = 250 * time.Millisecond

	refreshTimeout = 15 * time.Second // bounds a token refresh, which is never abandoned
)

// Config configures a Client. Only Store is required.
type Config struct {
	// ServerURL is the server to talk to; empty means the stored account's server, or
	// DefaultServerURL when there is no account.
	ServerURL string
	// Store is the profile's local store; the Client does not close it.
	Store *storage.Store
	// HTTPClient makes the API calls and the WebSocket handshake; nil means a default
	// client. Its Timeout, if set, applies to API calls only.
	HTTPClient *http.Client
	// Clock is the source of time; nil means SystemClock.
	Clock Clock
	// Rand returns numbers in [0, 1) for the reconnect jitter; nil means math/rand/v2.
	Rand func() float64
	// Heartbeat, when positive, overrides the heartbeatSeconds the server announces.
	Heartbeat time.Duration
	// PongTimeout is how long after a ping silence means the connection is dead;
	// default DefaultPongTimeout.
	PongTimeout time.Duration
	// SendRate and SendBurst bound how fast messages leave (a token bucket); defaults
	// DefaultSendRate and DefaultSendBurst.
	SendRate  float64
	SendBurst int
	// RateLimitedRetry is the longest a message the server refused with rate_limited
	// waits before it is sent again: after each refusal the send rate halves, down to
	// one message per RateLimitedRetry; default DefaultRateLimitedRetry.
	RateLimitedRetry time.Duration
	// FrameInterval is how long events are coalesced into one Batch; default
	// FrameInterval (16 ms). Negative means no coalescing wait.
	FrameInterval time.Duration
	// MarkInterval is how long delivered/read marks are coalesced before they are sent;
	// default DefaultMarkInterval. Negative means none.
	MarkInterval time.Duration
	// Logger receives diagnostics (never tokens or passwords); nil discards them.
	Logger *slog.Logger
}

// Client is the Parley connection engine for one profile: it signs in, keeps one
// WebSocket to the server while Run runs (reconnecting with jittered backoff), syncs the
// rooms into the store, sends the outbox, and reports every change as a Batch on Events.
// Its methods are safe for concurrent use.
type Client struct {
	cfg     Config
	api     *API
	store   *storage.Store
	clock   Clock
	rand    func() float64
	log     *slog.Logger
	events  *batcher
	limiter *tokenBucket
	typOut  *typingOut
	typIn   *typingIn
	marks   *markQueue
	uploads *uploader
	running atomic.Bool
	wake    chan struct{}

	knownRooms sync.Map // room ids the store is known to hold: Send checks without a read

	authMu sync.Mutex // serialises token refreshes

	mu            sync.Mutex
	access        string // the access token, in memory only
	life          tokenLife
	renewed       int           // auth_ok answers: how often a session outlived its token
	renewedCh     chan struct{} // closed and replaced on every auth_ok
	signedOut     bool          // the server refused our tokens (4003, or refresh 401)
	state         StateEvent
	stateChanged  chan struct{} // closed and replaced on every state change
	outboxChanged chan struct{} // closed and replaced whenever the outbox may have shrunk
	sess          *session
	userID        string
	contig        map[string]int64 // room id → a seq up to which the store holds every message
	presence      map[string]bool
	internal      map[string]int // update id → `internal` refusals since it was queued
}

// New makes a Client. It reads the stored account (if any) but does not connect: call Run.
func New(cfg Config) (*Client, error) {
	if cfg.Store == nil {
		return nil, errors.New("net.New: Config.Store is required")
	}
	acct, ok, err := cfg.Store.Account()
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	if cfg.ServerURL == "" && ok {
		cfg.ServerURL = acct.ServerURL
	}
	if cfg.ServerURL == "" {
		cfg.ServerURL = DefaultServerURL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = DefaultPongTimeout
	}
	if cfg.SendRate <= 0 {
		cfg.SendRate = DefaultSendRate
	}
	if cfg.SendBurst <= 0 {
		cfg.SendBurst = DefaultSendBurst
	}
	if cfg.RateLimitedRetry <= 0 {
		cfg.RateLimitedRetry = DefaultRateLimitedRetry
	}
	if cfg.FrameInterval == 0 {
		cfg.FrameInterval = FrameInterval
	}
	if cfg.MarkInterval == 0 {
		cfg.MarkInterval = DefaultMarkInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	api, err := NewAPI(cfg.ServerURL, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	cfg.ServerURL = api.ServerURL()
	c := &Client{
		cfg: cfg, api: api, store: cfg.Store, clock: cfg.Clock, rand: cfg.Rand, log: cfg.Logger,
		limiter:       newTokenBucket(cfg.Clock, cfg.SendRate, cfg.SendBurst, 1/cfg.RateLimitedRetry.Seconds()),
		wake:          make(chan struct{}, 1),
		stateChanged:  make(chan struct{}),
		outboxChanged: make(chan struct{}),
		renewedCh:     make(chan struct{}),
		presence:      map[string]bool{},
		contig:        map[string]int64{},
		internal:      map[string]int{},
	}
	c.events = newBatcher(cfg.Clock, cfg.FrameInterval, c.loadRoom)
	c.typOut = newTypingOut(cfg.Clock, func(t, room string) { c.sendControl(model.RoomOnlyFrame{Type: t, RoomID: room}) })
	c.typIn = newTypingIn(cfg.Clock, c.events.setTyping)
	c.marks = newMarkQueue()
	c.uploads = newUploader(c)
	if ok {
		c.userID = acct.UserID
		c.state = StateEvent{State: StateConnecting}
	}
	return c, nil
}

// ServerURL returns the server the Client talks to.
func (c *Client) ServerURL() string { return c.cfg.ServerURL }

// API returns the Client's HTTP API client (for calls that need no token).
func (c *Client) API() *API { return c.api }

// Store returns the Client's store.
func (c *Client) Store() *storage.Store { return c.store }

// Events returns the channel of event batches. It is closed when Run returns. There is
// one channel: read it from one goroutine. A slow reader makes batches bigger, never
// blocks the network.
func (c *Client) Events() <-chan Batch { return c.events.out }

// State returns the connection's current state.
func (c *Client) State() StateEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// UserID returns the signed-in user's id, or "" when nobody ever signed in on this store.
func (c *Client) UserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

// Account returns the stored account; false when signed out.
func (c *Client) Account() (storage.Account, bool, error) { return c.store.Account() }

// Online reports whether a user is known to be online (from hello and user_joined/left).
func (c *Client) Online(userID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.presence[userID]
}

// Nudge ends the wait before the next reconnect attempt: call it when the app comes to
// the foreground or the network changes.
func (c *Client) Nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run keeps the connection until ctx ends, then returns ctx's error. While no account
// is signed in it waits for Login or Register. Run may be called once.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("net: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		c.typOut.reset()
		c.typIn.clear()
	}()
	wg.Go(func() { c.events.run(ctx) })
	wg.Go(func() { c.runMarks(ctx) })
	wg.Go(func() { c.uploads.run(ctx) })
	c.loop(ctx)
	return ctx.Err()
}

// Register creates an account on the server, stores it as this profile's account and
// lets Run connect. displayName may be empty (the server uses the username).
func (c *Client) Register(ctx context.Context, username, password, displayName string) (storage.Account, error) {
	u, err := model.NormalizeUsername(username)
	if err != nil {
		return storage.Account{}, err
	}
	if err := model.ValidatePassword(password); err != nil {
		return storage.Account{}, err
	}
	resp, err := c.api.Register(ctx, u, password, displayName)
	if err != nil {
		return storage.Account{}, fmt.Errorf("register %s: %w", u, err)
	}
	return c.signedIn(u, resp)
}

// Login signs an existing account in, stores it as this profile's account and lets Run
// connect. Errors: an *APIError with code bad_credentials or rate_limited, or ErrUnreachable.
func (c *Client) Login(ctx context.Context, username, password string) (storage.Account, error) {
	u, err := model.NormalizeUsername(username)
	if err != nil {
		return storage.Account{}, err
	}
	resp, err := c.api.Login(ctx, u, password)
	if err != nil {
		return storage.Account{}, fmt.Errorf("login %s: %w", u, err)
	}
	return c.signedIn(u, resp)
}

func (c *Client) signedIn(username string, resp model.AuthResponse) (storage.Account, error) {
	if resp.Username != "" {
		username = resp.Username
	}
	a := storage.Account{ServerURL: c.cfg.ServerURL, UserID: resp.UserID, Username: username,
		DisplayName: resp.DisplayName, RefreshToken: resp.RefreshToken}
	c.authMu.Lock()
	err := c.store.SaveAccount(a)
	if err == nil {
		c.mu.Lock()
		c.setAccessLocked(resp.AccessToken, resp.ExpiresAt.Time)
		c.signedOut, c.userID = false, resp.UserID
		clear(c.contig)
		c.mu.Unlock()
	}
	c.authMu.Unlock()
	if err != nil {
		return storage.Account{}, fmt.Errorf("store account: %w", err)
	}
	c.knownRooms.Clear() // the store may have dropped another account's history
	c.dropSession(errors.New("signed in again"))
	c.setState(StateEvent{State: StateConnecting})
	c.Nudge()
	return a, nil
}

// SignOut forgets the tokens (the history stays in the store) and closes the
// connection, then asks the server to revoke the login (POST /api/logout) within ctx.
// The local sign-out happens whatever the server says; an error then means the server
// could not be told, and the login's refresh token stays valid until it expires.
func (c *Client) SignOut(ctx context.Context) error {
	c.authMu.Lock()
	acct, ok, rerr := c.store.Account()
	err := c.store.ClearAccount()
	c.mu.Lock()
	c.access = ""
	c.mu.Unlock()
	c.authMu.Unlock()
	c.dropSession(nil)
	c.setState(StateEvent{State: StateSignedOut})
	c.Nudge()
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("sign out: %w", rerr)
	}
	if ok && acct.RefreshToken != "" {
		if err := c.api.Logout(ctx, acct.RefreshToken); err != nil {
			return fmt.Errorf("sign out: revoke the login on the server: %w", err)
		}
	}
	return nil
}

// accessToken returns the in-memory access token, refreshing it when there is none.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.access
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	return c.refresh(ctx, "")
}

// refresh spends the stored refresh token for new tokens, unless another caller already
// replaced stale. A 401 signs the profile out (ErrSignedOut).
func (c *Client) refresh(ctx context.Context, stale string) (string, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	c.mu.Lock()
	cur := c.access
	c.mu.Unlock()
	if cur != "" && cur != stale {
		return cur, nil
	}
	acct, ok, err := c.store.Account()
	if err != nil {
		return "", fmt.Errorf("read account: %w", err)
	}
	if !ok || acct.RefreshToken == "" {
		return "", ErrSignedOut
	}
	// The server spends the old token as soon as it reads the request: once sent, the
	// answer must be read and its new token stored even if the caller gives up, or the
	// profile is left holding a spent token (and presenting it revokes the login).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	resp, err := c.api.Refresh(rctx, acct.RefreshToken)
	if isUnauthorized(err) {
		if cerr := c.store.ClearAccount(); cerr != nil {
			c.log.Warn("clear account", "err", cerr)
		}
		c.mu.Lock()
		c.access = ""
		c.mu.Unlock()
		return "", fmt.Errorf("%w: %w", ErrSignedOut, err)
	}
	if err != nil {
		return "", err
	}
	if err := c.store.SetRefreshToken(resp.RefreshToken); err != nil {
		return "", fmt.Errorf("store refresh token: %w", err)
	}
	c.mu.Lock()
	c.setAccessLocked(resp.AccessToken, resp.ExpiresAt.Time)
	c.mu.Unlock()
	return resp.AccessToken, nil
}

// authed runs an API call with the access token, refreshing it once on a 401.
func (c *Client) authed(ctx context.Context, call func(token string) error) error {
	tok, err := c.accessToken(ctx)
	if err != nil {
		return err
	}
	err = call(tok)
	if !isUnauthorized(err) {
		return err
	}
	if tok, err = c.refresh(ctx, tok); err != nil {
		return err
	}
	return call(tok)
}

// Send validates text, stores it as a sending message with its outbox row (one
// transaction) and returns it at once; it leaves when the connection is up, at most
// SendRate a second. It also ends the user's typing in the room.
func (c *Client) Send(roomID, text string) (storage.Message, error) {
	return c.send(roomID, "", text)
}

// send is Send with an optional reply target.
func (c *Client) send(roomID, replyTo, text string) (storage.Message, error) {
	content, err := model.CleanContent(text)
	if err != nil {
		return storage.Message{}, err
	}
	if err := c.checkRoom(roomID); err != nil {
		return storage.Message{}, err
	}
	m, err := c.store.Enqueue(model.Message{RoomID: roomID, Content: content, ReplyTo: replyTo})
	if err != nil {
		return storage.Message{}, fmt.Errorf("queue message: %w", err)
	}
	c.events.addMessages([]storage.Message{m})
	c.typOut.stop(roomID)
	c.queueOutbox(storage.Outgoing{Message: &m})
	return m, nil
}

// checkRoom fails with ErrUnknownRoom for a room the store does not hold.
func (c *Client) checkRoom(roomID string) error {
	if _, known := c.knownRooms.Load(roomID); known {
		return nil
	}
	if _, ok, err := c.store.Room(roomID); err != nil {
		return fmt.Errorf("read room %s: %w", roomID, err)
	} else if !ok {
		return fmt.Errorf("send to %s: %w", roomID, ErrUnknownRoom)
	}
	c.knownRooms.Store(roomID, true)
	return nil
}

// Retry sends a failed message again, with the same id.
func (c *Client) Retry(id string) (storage.Message, error) {
	m, err := c.store.Retry(id)
	if err != nil {
		return storage.Message{}, fmt.Errorf("retry %s: %w", id, err)
	}
	c.events.addMessages([]storage.Message{m})
	if m.UploadPath != "" {
		c.uploads.kick()
	} else {
		c.queueOutbox(storage.Outgoing{Message: &m})
	}
	return m, nil
}

// Typing notes a keystroke in the composer of a room: `typing` goes out on the first and
// again at most every 3 s while keys keep coming; `stop_typing` after 2 s without one.
func (c *Client) Typing(roomID string) { c.typOut.keystroke(roomID) }

// StopTyping ends the user's typing in a room at once.
func (c *Client) StopTyping(roomID string) { c.typOut.stop(roomID) }

// MarkRead stores that the user has seen the room up to seq and tells the server
// (coalesced with other marks).
func (c *Client) MarkRead(roomID string, seq int64) error {
	moved, err := c.store.SetReadSeq(roomID, seq)
	if err != nil {
		return fmt.Errorf("mark read %s: %w", roomID, err)
	}
	if !moved {
		return nil
	}
	c.emitRooms(roomID)
	c.marks.read(roomID, seq)
	return nil
}

// readOwn moves the room's read mark to an own message's seq, as the user saw
// everything up to what they wrote: an own message never counts as unread, and every
// device of the user counts the same (the mark goes to the server, which relays it).
func (c *Client) readOwn(roomID string, seq int64) error {
	moved, err := c.store.SetReadSeq(roomID, seq)
	if err != nil {
		return fmt.Errorf("read mark %s: %w", roomID, err)
	}
	if moved {
		c.marks.read(roomID, seq)
	}
	return nil
}

// Flush waits until the outbox is empty (every queued message acked or failed), or ctx ends.
func (c *Client) Flush(ctx context.Context) error {
	for {
		c.mu.Lock()
		ch := c.outboxChanged
		c.mu.Unlock()
		n, err := c.store.OutboxLen()
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%d messages still queued: %w", n, ctx.Err())
		}
	}
}

// WaitSynced waits until the connection is online and its first sync of every room is
// done. It fails with ErrSignedOut when the profile is or becomes signed out.
func (c *Client) WaitSynced(ctx context.Context) error {
	for {
		c.mu.Lock()
		st, ch := c.state, c.stateChanged
		c.mu.Unlock()
		switch {
		case st.State == StateOnline && st.Synced:
			return nil
		case st.State == StateSignedOut:
			if st.Err != nil {
				return fmt.Errorf("%w: %w", ErrSignedOut, st.Err)
			}
			return ErrSignedOut
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if st.Err != nil {
				return fmt.Errorf("%w (%s: %w)", ctx.Err(), st.State, st.Err)
			}
			return fmt.Errorf("%w (%s)", ctx.Err(), st.State)
		}
	}
}

// Rooms returns the stored rooms, newest activity first.
func (c *Client) Rooms() ([]storage.Room, error) { return c.store.Rooms() }

// FetchRooms asks the server for the user's rooms, stores them and returns the stored list.
func (c *Client) FetchRooms(ctx context.Context) ([]storage.Room, error) {
	var rooms []model.Room
	err := c.authed(ctx, func(tok string) (err error) {
		rooms, err = c.api.Rooms(ctx, tok)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.upsertRooms(rooms); err != nil {
		return nil, err
	}
	return c.store.Rooms()
}

// CreateRoom creates a room with the user and memberIDs as members, and stores it.
func (c *Client) CreateRoom(ctx context.Context, name string, memberIDs []string, public bool) (storage.Room, error) {
	clean, err := model.CleanName(name)
	if err != nil {
		return storage.Room{}, err
	}
	return c.roomCall(ctx, func(tok string) (model.Room, error) { return c.api.CreateRoom(ctx, tok, clean, memberIDs, public) })
}

// JoinRoom joins a public room and stores it.
func (c *Client) JoinRoom(ctx context.Context, roomID string) (storage.Room, error) {
	return c.roomCall(ctx, func(tok string) (model.Room, error) { return c.api.JoinRoom(ctx, tok, roomID) })
}

// DM returns the direct room with a user (creating it on the server if needed) and stores it.
func (c *Client) DM(ctx context.Context, userID string) (storage.Room, error) {
	return c.roomCall(ctx, func(tok string) (model.Room, error) { return c.api.DM(ctx, tok, userID) })
}

func (c *Client) roomCall(ctx context.Context, call func(tok string) (model.Room, error)) (storage.Room, error) {
	var r model.Room
	err := c.authed(ctx, func(tok string) (err error) {
		r, err = call(tok)
		return err
	})
	if err != nil {
		return storage.Room{}, err
	}
	if _, err := c.upsertRooms([]model.Room{r}); err != nil {
		return storage.Room{}, err
	}
	c.syncRoom(r.ID)
	sr, _, err := c.store.Room(r.ID)
	if err != nil {
		return storage.Room{}, fmt.Errorf("read room %s: %w", r.ID, err)
	}
	return sr, nil
}

// SearchUsers finds users whose name matches query.
func (c *Client) SearchUsers(ctx context.Context, query string) ([]model.User, error) {
	var users []model.User
	err := c.authed(ctx, func(tok string) (err error) {
		users, err = c.api.Users(ctx, tok, strings.TrimSpace(query))
		return err
	})
	return users, err
}

// History fetches the limit messages of a room before beforeSeq (<= 0: the newest) from
// the server, stores them, and returns that page from the store, oldest first.
func (c *Client) History(ctx context.Context, roomID string, beforeSeq int64, limit int) ([]storage.Message, error) {
	if limit <= 0 {
		limit = model.HistoryDefault
	}
	limit = min(limit, model.HistoryMaxLimit)
	var msgs []model.Message
	err := c.authed(ctx, func(tok string) (err error) {
		msgs, err = c.api.Messages(ctx, tok, roomID, beforeSeq, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := c.ingest(msgs); err != nil {
		return nil, err
	}
	if beforeSeq <= 0 {
		return c.store.Latest(roomID, limit)
	}
	return c.store.Before(roomID, beforeSeq, limit)
}

// ingest stores messages from the server and reports what changed.
func (c *Client) ingest(msgs []model.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	res, err := c.store.Ingest(msgs)
	if err != nil {
		return fmt.Errorf("store %d messages: %w", len(msgs), err)
	}
	rooms := map[string]bool{}
	own := map[string]int64{} // room → the highest seq of an own message (sent from another device)
	me := c.UserID()
	for _, m := range msgs {
		rooms[m.RoomID] = true
		if me != "" && m.SenderID == me {
			own[m.RoomID] = max(own[m.RoomID], m.Seq)
		}
	}
	for id, seq := range own {
		if err := c.readOwn(id, seq); err != nil {
			return err
		}
	}
	// Reported after the read marks moved: whoever sees the messages sees the marks.
	c.events.addMessages(res.Fresh)
	c.events.addMessages(res.Acked)
	if len(res.Acked) > 0 {
		c.outboxShrank()
	}
	for id := range rooms {
		c.emitRooms(id)
		if cur, err := c.contiguous(id); err == nil {
			c.marks.delivered(id, cur)
		} else {
			c.log.Warn("contiguous seq", "room", id, "err", err)
		}
	}
	return nil
}

// contiguous returns the highest seq up to which the store holds every message of the
// room: the afterSeq of a sync that skips no gap (live messages that arrived during an
// interrupted replay can sit above a hole), and the cumulative `delivered` mark. It
// walks from the last answer, so each call is short.
func (c *Client) contiguous(roomID string) (int64, error) {
	c.mu.Lock()
	base := c.contig[roomID]
	c.mu.Unlock()
	cur, err := c.store.ContiguousSeq(roomID, base)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	if c.contig[roomID] == base { // else a reset or another caller moved it meanwhile
		c.contig[roomID] = cur
	}
	c.mu.Unlock()
	return cur, nil
}

// upsertRooms stores rooms from the server and reports them (and any reset).
func (c *Client) upsertRooms(rooms []model.Room) (reset []string, err error) {
	reset, err = c.store.UpsertRooms(rooms)
	if err != nil {
		return nil, fmt.Errorf("store %d rooms: %w", len(rooms), err)
	}
	if len(reset) > 0 {
		c.mu.Lock()
		for _, id := range reset {
			delete(c.contig, id)
		}
		c.mu.Unlock()
	}
	c.events.addReset(reset)
	ids := make([]string, len(rooms))
	for i, r := range rooms {
		ids[i] = r.ID
	}
	c.emitRooms(ids...)
	return reset, nil
}

// emitRooms reports rooms as changed; the batch carries their stored form.
func (c *Client) emitRooms(ids ...string) { c.events.addRooms(ids...) }

// loadRoom reads a room for a batch.
func (c *Client) loadRoom(id string) (storage.Room, bool) {
	r, ok, err := c.store.Room(id)
	if err != nil {
		c.log.Warn("read room", "room", id, "err", err)
		return storage.Room{}, false
	}
	if ok {
		c.knownRooms.Store(id, true)
	}
	return r, ok
}

// setState records and reports a state change.
func (c *Client) setState(s StateEvent) {
	c.mu.Lock()
	if s.State == StateSignedOut {
		c.signedOut = true
	}
	c.state = s
	close(c.stateChanged)
	c.stateChanged = make(chan struct{})
	c.mu.Unlock()
	c.events.setState(s)
}

// setThrottled records whether the outbox is held back because the server refused a
// message for sending too fast (StateEvent.Throttled); only an online state is throttled.
func (c *Client) setThrottled(on bool) {
	c.mu.Lock()
	if c.state.Throttled == on || (on && c.state.State != StateOnline) {
		c.mu.Unlock()
		return
	}
	c.state.Throttled = on
	s := c.state
	close(c.stateChanged)
	c.stateChanged = make(chan struct{})
	c.mu.Unlock()
	c.events.setState(s)
}

// throttleOver ends the throttled state once the outbox is empty.
func (c *Client) throttleOver() {
	if !c.State().Throttled {
		return
	}
	n, err := c.store.OutboxLen()
	if err != nil {
		c.log.Warn("outbox length", "err", err)
		return
	}
	if n == 0 {
		c.setThrottled(false)
	}
}

// outboxShrank wakes Flush callers, and ends the throttled state once the outbox is
// empty, whichever answer emptied it (an ack, a refusal, the echo of an own message).
func (c *Client) outboxShrank() {
	c.mu.Lock()
	close(c.outboxChanged)
	c.outboxChanged = make(chan struct{})
	c.mu.Unlock()
	c.throttleOver()
}

// setPresence applies presence changes and reports those that changed.
func (c *Client) setPresence(p map[string]bool, replace bool) {
	changed := map[string]bool{}
	c.mu.Lock()
	if replace {
		for id, on := range c.presence {
			if on && !p[id] {
				changed[id] = false
				delete(c.presence, id)
			}
		}
	}
	for id, on := range p {
		if c.presence[id] != on {
			changed[id] = on
		}
		if on {
			c.presence[id] = true
		} else {
			delete(c.presence, id)
		}
	}
	c.mu.Unlock()
	c.events.setPresence(changed)
}
