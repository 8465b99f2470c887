package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parleychat/parley/model"
)

// frameTypes are the frame types counted by name; others count as "other".
var frameTypes = []string{
	model.TypeHello, model.TypeMessage, model.TypeAck, model.TypeReceipt, model.TypeSynced,
	model.TypeTyping, model.TypeStopTyping, model.TypeUserJoined, model.TypeUserLeft, model.TypeRoom,
	model.TypePong, model.TypeError, model.TypeSync, model.TypeDelivered, model.TypeRead, model.TypePing,
	model.TypeAuth, model.TypeAuthOK,
	"other",
}

// metrics are one Server's Prometheus metrics, on a registry of its own so that many
// servers can run in one process (tests).
type metrics struct {
	reg         *prometheus.Registry
	connections prometheus.Gauge
	framesIn    map[string]prometheus.Counter
	framesOut   map[string]prometheus.Counter
	ackLatency  prometheus.Histogram
	rateLimited prometheus.Counter
	rejected    *prometheus.CounterVec
	batchSize   prometheus.Histogram
	slowClosed  prometheus.Counter
	gapFilled   prometheus.Counter
	duplicates  prometheus.Counter
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	in := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_frames_in_total", Help: "WebSocket frames received, by type.",
	}, []string{"type"})
	out := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_frames_out_total", Help: "WebSocket frames sent, by type.",
	}, []string{"type"})
	m := &metrics{
		reg: reg,
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_connections_open", Help: "Open WebSocket connections.",
		}),
		framesIn:  make(map[string]prometheus.Counter),
		framesOut: make(map[string]prometheus.Counter),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_send_ack_seconds", Help: "Time from receiving a message to sending its ack.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_rate_limited_total", Help: "Messages refused by the per-user rate limit.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_rejected_total", Help: "Client frames refused with an error frame, by code.",
		}, []string{"code"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_commit_batch_size", Help: "Messages written per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		slowClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_slow_consumers_total", Help: "Connections closed because they could not keep up.",
		}),
		gapFilled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_gap_filled_total", Help: "Messages of other nodes read from the store because their events were missing.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_duplicate_events_total", Help: "Message events dropped because they were delivered already.",
		}),
	}
	for _, t := range frameTypes {
		m.framesIn[t] = in.WithLabelValues(t)
		m.framesOut[t] = out.WithLabelValues(t)
	}
	reg.MustRegister(m.connections, in, out, m.ackLatency, m.rateLimited, m.rejected, m.batchSize, m.slowClosed, m.gapFilled, m.duplicates)
	return m
}

// frameIn counts a received frame.
func (m *metrics) frameIn(typ string) {
	c, ok := m.framesIn[typ]
	if !ok {
		c = m.framesIn["other"]
	}
	c.Inc()
}

// frameOut counts a sent frame.
func (m *metrics) frameOut(typ string) {
	c, ok := m.framesOut[typ]
	if !ok {
		c = m.framesOut["other"]
	}
	c.Inc()
}
