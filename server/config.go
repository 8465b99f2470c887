package server

import (
	"log/slog"
	"net/netip"
	"time"
)

// Config configures a Server. Zero values mean the defaults named on each field.
type Config struct {
	Listen  string // address for ListenAndServe; default 127.0.0.1:8787
	DataDir string // folder for the SQLite file and generated secrets; default ./parley-data
	DSN     string // database DSN: postgres://… for PostgreSQL, else SQLite; empty means SQLite in DataDir

	// Store is the database to use instead of opening DSN; the caller closes it after
	// Shutdown. Several servers (nodes) may share one database through their own Stores.
	Store Store

	// JWTSecret signs access tokens. Empty: 32 random bytes are generated once and kept
	// in DataDir/jwt-secret with mode 0600.
	JWTSecret []byte

	AccessTTL     time.Duration // default 15m
	RefreshTTL    time.Duration // default 720h
	PresenceGrace time.Duration // default 12s; negative means none

	MsgRate  float64 // messages a second per user; default 10
	MsgBurst int     // default 20

	// AllowedOrigins lists the browser Origins allowed on /ws: full origins
	// ("https://chat.example.com") or host patterns ("*.example.com"). Requests without
	// an Origin header (native clients) are always allowed.
	AllowedOrigins []string

	HeartbeatSeconds int           // told to clients in hello; default 30
	PingInterval     time.Duration // how often a client silent past its heartbeat is pinged; default 25s
	PingTimeout      time.Duration // drop a connection silent this long; default 60s

	Logger *slog.Logger // default: discard

	TLSCert, TLSKey string // serve HTTPS when both are set

	// SendQueue bounds each connection's outgoing queue, in frames; default 4096.
	// The frames are shared and the queue grows only as frames wait, so an idle
	// connection keeps none of it.
	// A client that lets it fill is closed with 1013 "try again later" (it reconnects
	// with backoff and syncs).
	SendQueue int
	// SendQueueBytes bounds each connection's pending output in bytes (the frames
	// queued and those being written), like Centrifugo's client_queue_max_size; default
	// 1 MiB. A client whose socket stops reading is closed with 1013 once it is past,
	// so thirty stalled members of a busy room hold at most 30 MiB, not every frame
	// until their writes time out.
	SendQueueBytes int
	// WriteTimeout bounds one frame write to a client; default 10s.
	WriteTimeout time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send its request headers;
	// a connection that is slower is closed. Default 10s.
	ReadHeaderTimeout time.Duration
	// TypingExpiry is how long a typing mark lives without a refresh; default 6s.
	TypingExpiry time.Duration
	// LoginFailures is how many failed logins a minute per username and per address
	// are allowed before 429; default 10.
	LoginFailures int
	// RegisterLimit is how many registrations a minute one address may make before
	// 429; default 10, negative turns the limit (and RegisterTotal) off. Registration
	// runs bcrypt: unlimited, it is a cheap way to burn the server's CPU.
	RegisterLimit int
	// RegisterTotal is how many registrations a minute all addresses together may
	// make; default 100 times RegisterLimit.
	RegisterTotal int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client:
	// the limits and logs then know a request by the rightmost address in it that is
	// not one of them. Without any, the peer's address is the client's.
	TrustedProxies []netip.Prefix
	// PurgeInterval is how often expired refresh tokens are deleted, at most
	// purgeBatch × purgeBatches a pass; default 1h, negative never.
	PurgeInterval time.Duration
	// RefusedLimit is how many rate-limited messages of one user within a minute close
	// the connection (and every later one of that user at its next refusal until the
	// minute has passed) with 1008; default 200.
	RefusedLimit int
	// CommitBatch is the most messages and receipts written in one group commit;
	// default 1000. 1 turns group commit off (a baseline for benchmarks).
	CommitBatch int
	// Broker carries events to the hub of every node. Nil: a NATS broker when NATSURL
	// is set (dialled by New, closed by Shutdown), else the in-memory broker of a
	// single node. A Broker given here is the caller's to close.
	Broker Broker
	// NATSURL ("nats://host:4222") makes this node one of several, sharing events over
	// NATS, when Broker is nil.
	NATSURL string
	// NodeBeat is how often a node of several tells the others it is alive and which
	// users it holds; a node silent for three beats is taken for dead. Default 2s.
	NodeBeat time.Duration
	// BcryptCost is the password hashing cost; default bcrypt.DefaultCost. Tests lower it.
	BcryptCost int
	// UploadMax is the largest file POST /api/uploads takes, in bytes; default 25 MiB.
	UploadMax int64
	// UploadQuota is how many bytes one user may upload in 24 hours; default 1 GiB.
	UploadQuota int64
	// UploadRate is how many uploads a minute one user may start; default 30.
	UploadRate int
	// UploadIdleTimeout cuts off an upload whose body brings nothing for this long;
	// default 30s. UploadTimeout bounds a whole upload; default 10m.
	UploadIdleTimeout, UploadTimeout time.Duration
	// UploadTTL is how long an upload no message carried is kept; default 24h. The
	// sweep runs with the purge (PurgeInterval).
	UploadTTL time.Duration
	// Blob keeps the uploads' bytes; default: on PostgreSQL the database itself (a
	// table of 1 MiB chunks, which every node shares), else a folder "uploads" in DataDir.
	Blob Blob
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8787"
	}
	if c.DataDir == "" {
		c.DataDir = "./parley-data"
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 720 * time.Hour
	}
	if c.PresenceGrace == 0 {
		c.PresenceGrace = 12 * time.Second
	}
	if c.PresenceGrace < 0 {
		c.PresenceGrace = 0
	}
	if c.MsgRate <= 0 {
		c.MsgRate = 10
	}
	if c.MsgBurst <= 0 {
		c.MsgBurst = 20
	}
	if c.HeartbeatSeconds <= 0 {
		c.HeartbeatSeconds = 30
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 4096
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = 1 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.TypingExpiry <= 0 {
		c.TypingExpiry = 6 * time.Second
	}
	if c.LoginFailures <= 0 {
		c.LoginFailures = 10
	}
	if c.RegisterLimit == 0 {
		c.RegisterLimit = 10
	}
	if c.RegisterTotal <= 0 {
		c.RegisterTotal = 100 * max(c.RegisterLimit, 0)
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = time.Hour
	}
	if c.RefusedLimit <= 0 {
		c.RefusedLimit = 200
	}
	if c.CommitBatch <= 0 {
		c.CommitBatch = defaultBatch
	}
	if c.NodeBeat <= 0 {
		c.NodeBeat = 2 * time.Second
	}
	if c.UploadMax <= 0 {
		c.UploadMax = 25 << 20
	}
	if c.UploadQuota <= 0 {
		c.UploadQuota = 1 << 30
	}
	if c.UploadRate <= 0 {
		c.UploadRate = 30
	}
	if c.UploadIdleTimeout <= 0 {
		c.UploadIdleTimeout = 30 * time.Second
	}
	if c.UploadTimeout <= 0 {
		c.UploadTimeout = 10 * time.Minute
	}
	if c.UploadTTL <= 0 {
		c.UploadTTL = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
