// Package net is the Parley client engine: an HTTP client for the protocol's API and a
// Client that keeps one WebSocket to the server, syncs the rooms into the local store
// (package storage), sends the outbox, and reports every change as batched events. It
// imports nothing of Fyne: the app, the terminal client and the tests all drive it.
//
// # Lifecycle
//
// Open the profile's storage.Store, make a Client with New, read Events on one
// goroutine, and Run it until its context ends (Events' channel is then closed). Run
// connects while an account is signed in and waits for Login or Register otherwise.
// The package Example runs the whole lifecycle against a real server.
//
// Errors: *APIError carries the HTTP status and the protocol code (ErrorCode(err),
// HTTPStatus(err)); ErrUnreachable wraps transport failures; ErrSignedOut means the
// server no longer accepts the profile's tokens; UserMessage(err) gives a short sentence
// for the UI. Validation errors are model's (model.ErrBlank...).
//
// # Events
//
// Everything that happens within one FrameInterval (16 ms) is coalesced into one Batch:
// new messages and status changes, changed rooms, rooms reset by an epoch change, who
// types per room, presence changes, and the connection state (StateEvent: connecting,
// online (Synced once the first sync is done), offline with NextTry and Err,
// signed-out). The network never waits for the reader of Events: a slow reader gets
// bigger batches.
//
// Protocol 1.1's conversations: Batch.Changed carries messages already shown whose
// text, EditedAt, Deleted or Reactions changed (refresh that one row), Batch.Failed the
// own edits, deletes and reactions the server refused for good (already undone; offer
// RetryUpdate and DiscardUpdate), Batch.Left the
// rooms the user left or was removed from (gone from the store).
//
// # Conversations (protocol 1.1)
//
// Reply, Edit, Delete and React go through the outbox like Send: queued on disk,
// sent once in order with the messages around them, acked by their id; Edit, Delete
// and React apply to the store at once (the server's ack or `update` echo confirms,
// and the change then takes its place in the room's order by seq: a reaction is
// listed where the server lists it). Refusals are handled as for messages: a
// rate_limited update goes again, in order with the messages and updates sent behind
// it; one the server could not store (internal) goes again, up to maxInternalRetries
// times; one refused for good (not_found, forbidden, conflict, invalid, or internal
// too often) is failed and undone, reported in Batch.Failed and kept in
// Store.FailedUpdates (across restarts) until RetryUpdate queues it again or
// DiscardUpdate drops it.
// Incoming `update` frames fold into their target in the store (storage.ApplyUpdates),
// also when they come before it. PublicRooms, SetRoom, AddMembers and LeaveRoom call
// the rooms API; SearchLocal searches the store (offline), Search merges the server's
// results with it. Draft and SetDraft keep the composer's unsent text per room.
//
// # Behaviour
//
// After hello the Client fetches the rooms (a room whose epoch changed is cleared and
// synced from 0), asks for the sync of every room from the highest seq held (paging
// while `more`) and, without waiting for the syncs, sends the outbox in order, at most SendRate (10) a second with bursts of SendBurst
// (10): a burst waits, nothing is dropped. `ack` makes a message sent; `receipt`
// delivered/read; an `error` naming a message makes it failed (invalid, too_large,
// forbidden, internal), except rate_limited: then the refused message and every
// message sent after it on the connection are taken back and sent again (same ids),
// in outbox order, once the answers to the sends taken back are in, so nothing of the
// outbox overtakes the refused one and seqs follow the order of sending (the server
// refuses a connection's later messages to the room until the refused one comes
// again). Each refusal halves the send rate (down to one per RateLimitedRetry, 2 s)
// and allows no burst; each ack gives a twentieth of SendRate back. Meanwhile the
// state is Throttled (the app says the user sends too fast) until the outbox is
// empty. Messages sent but not acked before a
// disconnect are sent again after the reconnect with the same id; the server answers a
// stored one with its ack, so nothing is doubled. Incoming messages are deduplicated by
// id in the store; `delivered` (the highest seq held) and `read` marks are coalesced
// (MarkInterval, 250 ms).
//
// Tokens: with a 1.1 server (hello's protocol), at 80 % of the access token's life (its
// exp claim) the Client spends the refresh token (POST /api/refresh; the rotated
// refresh token is stored, the access token lives in memory only) and sends the new
// access token on the open socket (`auth`; the server answers auth_ok), so a short
// token lifetime never closes the connection; a failed refresh is tried again while
// the old token lasts.
//
// Marks on every device: a `receipt` with the user's own id (their read on another
// device, protocol 1.1) moves the local read mark; the rooms call after every hello
// moves it too when the server's is ahead (a restart heals); and an own message moves
// the read mark to its seq (on its ack, and when it arrives from another device), so
// an own message never counts as unread and every device counts the same. A sync
// replay ends with the other members' furthest receipts, so own messages show the
// same delivered/read marks on a device that was away.
//
// Reconnect: Backoff(attempt) waits 1 s doubling to 30 s plus 0–30 % jitter, reset by a
// hello; close 1001 waits a random 0–2 s; close 4001 or HTTP 401 at the handshake
// refreshes the token and reconnects; a refused refresh or close 4003 signs out. A `ping` goes
// out every heartbeatSeconds; silence for PongTimeout (10 s) after one drops the
// connection. Typing: `typing` on the first keystroke and at most every 3 s after,
// `stop_typing` 2 s after the last or when the message is sent; incoming typing marks
// expire after 6 s.
package net
