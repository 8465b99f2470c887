// Package server is the Parley chat server: the HTTP API and the /ws sessions of
// protocol version 1, the hub (rooms, fan-out, presence, typing), authentication
// (JWT access tokens, rotated refresh tokens, bcrypt passwords) and limits. Storage sits
// behind the Store interface (gorm on SQLite or PostgreSQL) and every event between
// the hub and the sessions behind the Broker interface: in memory for one node, over
// NATS for several (broker_nats.go), with gaps filled from the Store (gapfill.go) and
// presence kept across nodes (presence.go).
package server
