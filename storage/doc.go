// Package storage is the Parley client's local store: the signed-in account, the rooms
// with their read marks, the messages (keyed by room and id) with the edits, deletes and
// reactions folded into them, the outbox of own messages and updates waiting to be
// sent, the other members' receipts, the composer drafts, and a full-text index for
// local search. It keeps one SQLite file per profile (gorm with the
// pure-Go glebarez driver, so it builds for every platform without cgo) and writes every
// batch in one transaction.
//
// A Store is safe for use by several goroutines: writes are serialised, reads run
// beside them (the database is in WAL mode).
package storage
