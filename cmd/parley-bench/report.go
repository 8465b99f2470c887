package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Latency is a distribution of durations in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

// latencyOf summarises samples (which it sorts).
func latencyOf(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	at := func(q float64) float64 {
		i := int(q * float64(len(samples)-1))
		return ms(samples[i])
	}
	return Latency{Count: len(samples), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(samples[len(samples)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Server is what /proc tells about the server process during the measured window.
type Server struct {
	PID        int     `json:"pid,omitempty"`
	CPUSeconds float64 `json:"cpuSeconds"`
	CPUCores   float64 `json:"cpuCores"` // CPU seconds per second of the window
	RSSMiB     float64 `json:"rssMiB"`
	PeakRSSMiB float64 `json:"peakRssMiB"`
	Errors     int     `json:"errorLines"` // ERROR lines in its log (when the bench started it)
}

// Report is one scenario's result.
type Report struct {
	Scenario string            `json:"scenario"`
	Params   map[string]string `json:"params"`
	Started  time.Time         `json:"started"`
	Load     float64           `json:"loadAverage1m"` // of the machine when the run began
	LoadEnd  float64           `json:"loadAverage1mEnd"`
	Seconds  float64           `json:"seconds"` // the measured window

	Sent              int     `json:"sent"`
	Acked             int     `json:"acked"`
	Deliveries        int     `json:"deliveries"`
	Expected          int     `json:"expectedDeliveries"`
	Lost              int     `json:"lost"`
	Doubled           int     `json:"doubled"`
	DeliveriesPS      float64 `json:"deliveriesPerSecond"`
	AcksPS            float64 `json:"acksPerSecond"`
	Latency           Latency `json:"sendToReceive"`
	AckLatency        Latency `json:"sendToAck"`
	ClientErrors      int     `json:"clientErrors"`
	FirstError        string  `json:"firstError,omitempty"`
	Server            Server  `json:"server"`
	Connections       int     `json:"connections,omitempty"`
	BytesPerConn      float64 `json:"serverBytesPerConnection,omitempty"`        // RSS
	HeapPerConn       float64 `json:"serverHeapPerConnection,omitempty"`         // Go heap in use
	BytesPerConnGC    float64 `json:"serverBytesPerConnectionAfterGC,omitempty"` // RSS after a collection (-memprofile servers)
	BytesPerConnIdle  float64 `json:"serverBytesPerConnectionSteady,omitempty"`  // RSS after the server's own next collection
	SteadyWaitSecs    float64 `json:"steadyWaitSeconds,omitempty"`               // how long that collection took to come
	StackPerConn      float64 `json:"serverStackPerConnection,omitempty"`        // goroutine stacks
	GoroutinesPerConn float64 `json:"serverGoroutinesPerConnection,omitempty"`
	RecoverySecs      float64 `json:"recoverySeconds,omitempty"` // storm: restart (with -kill-pid: the kill) → every client synced
	Reconnected       int     `json:"reconnected,omitempty"`
	Dropped           int     `json:"dropped,omitempty"` // storm: clients whose connection the kill ended
	Note              string  `json:"note,omitempty"`
	SetupSeconds      float64 `json:"setupSeconds"`
	LatencySample     int     `json:"-"`
}

// writeTable prints the reports as one aligned table.
func writeTable(w io.Writer, reports []Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tparams\tload\tsent\tacked\tdeliveries\tlost\tdoubled\tdeliv/s\tacks/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tack p50\tack p99\tsrv CPU\tsrv RSS MiB\textra\t")
	for _, r := range reports {
		var params []string
		for _, k := range sortedKeys(r.Params) {
			params = append(params, k+"="+r.Params[k])
		}
		extra := ""
		switch {
		case r.Scenario == "idle":
			extra = fmt.Sprintf("%d conns, RSS %.1f KiB/conn (heap %.1f, stacks %.1f), %.2f goroutines/conn",
				r.Connections, r.BytesPerConn/1024, r.HeapPerConn/1024, r.StackPerConn/1024, r.GoroutinesPerConn)
			if r.BytesPerConnIdle != 0 {
				extra += fmt.Sprintf("; steady %.1f KiB/conn (largest RSS of the %d s after the server's next GC, %.0f s later)", r.BytesPerConnIdle/1024, steadySamples, r.SteadyWaitSecs)
			}
			if r.BytesPerConnGC != 0 {
				extra += fmt.Sprintf(", RSS after GC %.1f KiB/conn", r.BytesPerConnGC/1024)
			}
		case r.Scenario == "storm":
			extra = fmt.Sprintf("%d back in %.1f s", r.Reconnected, r.RecoverySecs)
			if r.Dropped != r.Reconnected {
				extra += fmt.Sprintf(" (%d dropped)", r.Dropped)
			}
		}
		if r.Server.Errors > 0 {
			extra += fmt.Sprintf(" %d server errors", r.Server.Errors)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%s\t\n",
			r.Scenario, strings.Join(params, " "), r.Load, r.Sent, r.Acked, r.Deliveries, r.Lost, r.Doubled,
			r.DeliveriesPS, r.AcksPS, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max,
			r.AckLatency.P50, r.AckLatency.P99, r.Server.CPUCores, r.Server.RSSMiB, extra)
	}
	_ = tw.Flush()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
