// Package storage is the Parley client's local store: the signed-in account, the rooms
// with their read marks, the messages, the outbox of own messages waiting to be sent,
// and the other members' receipts. It keeps one SQLite file per profile (gorm with the
// pure-Go glebarez driver, so it builds for every platform without cgo) and writes every
// batch in one transaction.
//
// A Store is safe for use by several goroutines: writes are serialised, reads run
// beside them (the database is in WAL mode).
package storage
