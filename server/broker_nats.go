package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// natsSubject is the one subject every node publishes its events to and reads from:
// one subject keeps one publisher's events in order for every reader. Clusters that
// share a NATS server use separate NATS accounts.
const natsSubject = "parley.events"

// NATSBroker is the Broker of several nodes over core NATS. A node's own events reach
// its own subscribers directly (so it keeps serving its sessions while NATS is away)
// and the other nodes through NATS, at most once. After a reconnect, or when the NATS
// client had to drop events (a slow consumer), it delivers EventResync to its
// subscribers: they fill what they missed from the Store.
type NATSBroker struct {
	nc   *nats.Conn
	sub  *nats.Subscription
	subs subscribers
	log  *slog.Logger

	closed   chan struct{} // the connection's closed handler ran
	isClosed atomic.Bool
}

// DialNATS connects to the NATS server at url as name (shown by the server's
// monitoring). It returns at once even when the server is down: the client keeps
// trying, publishes wait in its buffer, and Healthy says so.
func DialNATS(url, name string, log *slog.Logger) (*NATSBroker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &NATSBroker{log: log, closed: make(chan struct{})}
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.NoEcho(), // the node's own events reach its subscribers directly
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.ConnectHandler(func(*nats.Conn) { b.resync("connected") }),
		nats.ReconnectHandler(func(*nats.Conn) { b.resync("reconnected") }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected", "err", err)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				b.resync("slow consumer")
				return
			}
			log.Warn("nats", "err", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
	)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", url, err)
	}
	b.nc = nc
	sub, err := nc.Subscribe(natsSubject, b.received)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats subscribe %s: %w", natsSubject, err)
	}
	// A burst of events waits here rather than being dropped: 64 MiB.
	if err := sub.SetPendingLimits(1<<20, 64<<20); err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats pending limits: %w", err)
	}
	b.sub = sub
	if nc.IsConnected() {
		// The subscription is in place at the server when DialNATS returns.
		_ = nc.FlushTimeout(5 * time.Second)
	}
	return b, nil
}

// resync tells the subscribers that events may have been missed.
func (b *NATSBroker) resync(why string) {
	if b.isClosed.Load() {
		return
	}
	b.log.Info("nats resync", "why", why)
	_ = b.subs.deliver(Event{Kind: EventResync})
}

// received hands an event from another node to the subscribers. The NATS client
// calls it from one goroutine, in the order the server passed the messages on.
func (b *NATSBroker) received(m *nats.Msg) {
	ev, err := decodeEvent(m.Data)
	if err != nil {
		b.log.Warn("nats event", "err", err)
		return
	}
	_ = b.subs.deliver(ev)
}

// Publish implements Broker: the node's subscribers get ev before it returns; the
// other nodes get it through NATS (buffered while the link is down).
func (b *NATSBroker) Publish(_ context.Context, ev Event) error {
	if err := b.subs.deliver(ev); err != nil {
		return err
	}
	if ev.Kind == EventResync {
		return nil
	}
	if err := b.nc.Publish(natsSubject, appendEvent(nil, ev)); err != nil {
		return fmt.Errorf("nats publish: %w", err)
	}
	return nil
}

// Subscribe implements Broker.
func (b *NATSBroker) Subscribe(fn func(Event)) func() { return b.subs.add(fn) }

// Healthy answers nil while the node is connected to NATS.
func (b *NATSBroker) Healthy() error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats %s", st)
	}
	return nil
}

// Close implements Broker: it flushes what is buffered (briefly), closes the
// connection and waits until the NATS client's goroutines are done.
func (b *NATSBroker) Close() error {
	if b.isClosed.Swap(true) {
		return nil
	}
	b.subs.close()
	if b.nc.IsConnected() {
		_ = b.nc.FlushTimeout(time.Second)
	}
	_ = b.sub.Unsubscribe()
	b.nc.Close()
	select {
	case <-b.closed:
	case <-time.After(5 * time.Second):
		return errors.New("nats: close timed out")
	}
	return nil
}

// eventVersion starts every encoded event, so that a node can refuse what a newer
// version sends instead of misreading it.
const eventVersion = 1

// appendEvent encodes ev for the wire: a version, the kind, the fields as
// length-prefixed strings and varints, and Data as the rest.
func appendEvent(b []byte, ev Event) []byte {
	b = append(b, eventVersion, byte(ev.Kind))
	if ev.Up {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, s := range [...]string{ev.Node, ev.RoomID, ev.Except, ev.Type, ev.Name} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, ev.Seq)
	for _, list := range [...][]string{ev.UserIDs, ev.Joined} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = appendString(b, s)
		}
	}
	return append(b, ev.Data...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errBadEvent answers an event that cannot be decoded.
var errBadEvent = errors.New("malformed event")

// decodeEvent reads what appendEvent wrote. Data shares b.
func decodeEvent(b []byte) (Event, error) {
	var ev Event
	if len(b) < 3 || b[0] != eventVersion {
		return ev, errBadEvent
	}
	ev.Kind, ev.Up = EventKind(b[1]), b[2] == 1
	b = b[3:]
	var ok bool
	for _, p := range [...]*string{&ev.Node, &ev.RoomID, &ev.Except, &ev.Type, &ev.Name} {
		if *p, b, ok = readString(b); !ok {
			return ev, errBadEvent
		}
	}
	seq, n := binary.Varint(b)
	if n <= 0 {
		return ev, errBadEvent
	}
	ev.Seq, b = seq, b[n:]
	for _, p := range [...]*[]string{&ev.UserIDs, &ev.Joined} {
		count, n := binary.Uvarint(b)
		if n <= 0 || count > uint64(len(b)) {
			return ev, errBadEvent
		}
		b = b[n:]
		if count == 0 {
			continue
		}
		list := make([]string, count)
		for i := range list {
			if list[i], b, ok = readString(b); !ok {
				return ev, errBadEvent
			}
		}
		*p = list
	}
	if len(b) > 0 {
		ev.Data = b
	}
	return ev, nil
}

func readString(b []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", b, false
	}
	return string(b[n : n+int(l)]), b[n+int(l):], true
}
