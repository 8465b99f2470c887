// Command parley-bench is Parley's load tool. Its simulated users are real WebSocket
// clients (a minimal one each: no store, no engine) that register through the API; the
// server is a separate process it starts (-server-cmd) or one already running (-url),
// on loopback only. Each scenario (fanout, rooms, acks, idle, storm) is bounded in
// time and reports messages sent, deliveries, lost, doubled, deliveries a second,
// send→receive and send→ack latency percentiles, and the server's CPU and RSS read
// from /proc, as a table and as JSON. `parley-bench plot` draws fan-out latency
// against load from those JSON reports.
package main
