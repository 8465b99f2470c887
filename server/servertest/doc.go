// Package servertest runs a real Parley server on 127.0.0.1:0 with a temporary SQLite
// file for tests, with helpers to register users and to talk WebSocket to it, and a
// NATS server in the test process for tests of several nodes.
package servertest
