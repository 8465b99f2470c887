// Package server is the Parley chat server: the HTTP API and the /ws sessions of
// protocol version 1, the hub (rooms, fan-out, presence, typing), authentication
// (JWT access tokens, rotated refresh tokens, bcrypt passwords) and limits. Storage sits
// behind the Store interface (gorm on SQLite or PostgreSQL) and fan-out behind the
// Broker interface (in-memory, replaceable by a distributed broker).
package server
