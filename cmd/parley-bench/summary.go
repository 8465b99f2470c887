package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runSummary prints the markdown table of docs/benchmarks.md from JSON reports
// (-json files of several runs) and `go test -bench` outputs (files ending in .txt):
// per target the median of the runs, whether it is met, and the load averages.
func runSummary(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("name the report files")
	}
	byScenario := map[string][]Report{}
	bench := map[string][]map[string]float64{} // benchmark name → runs → unit → value
	var logs []string
	for _, name := range fs.Args() {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(name, ".json"):
			var rs []Report
			if err := json.Unmarshal(b, &rs); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			for _, r := range rs {
				byScenario[r.Scenario] = append(byScenario[r.Scenario], r)
			}
		case strings.HasSuffix(name, ".txt"):
			parseGoBench(string(b), bench, &logs)
		}
	}
	fmt.Fprintln(w, "| scenario | target | measured (median of runs) | met? | load average (1 min) at each run |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	row := func(name, target, measured string, met bool, loads []float64) {
		verdict := "**no**"
		if met {
			verdict = "yes"
		}
		if measured == "" {
			measured, verdict = "not run", "—"
		}
		var ls []string
		for _, l := range loads {
			ls = append(ls, strconv.FormatFloat(l, 'f', 1, 64))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, target, measured, verdict, strings.Join(ls, ", "))
	}
	loads := func(rs []Report) []float64 {
		var out []float64
		for _, r := range rs {
			out = append(out, r.Load)
		}
		return out
	}
	med := func(rs []Report, f func(Report) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		return median(v)
	}
	sum := func(rs []Report, f func(Report) int) int {
		n := 0
		for _, r := range rs {
			n += f(r)
		}
		return n
	}

	if rs := byScenario["fanout"]; len(rs) > 0 {
		d := med(rs, func(r Report) float64 { return r.DeliveriesPS })
		p99 := med(rs, func(r Report) float64 { return r.Latency.P99 })
		lost, dup := sum(rs, func(r Report) int { return r.Lost }), sum(rs, func(r Report) int { return r.Doubled })
		want := float64(rs[0].Params2Int("members")) * rs[0].Params2Float("rate")
		row(fmt.Sprintf("fanout: 1 room × %s members, %s msg/s", rs[0].Params["members"], rs[0].Params["rate"]),
			fmt.Sprintf("%.0f deliveries/s, p99 ≤ 50 ms, nothing lost", want),
			fmt.Sprintf("%.0f deliveries/s, p50 %.1f / p99 %.1f ms, %d lost, %d doubled (all runs); server %.2f cores", d,
				med(rs, func(r Report) float64 { return r.Latency.P50 }), p99, lost, dup,
				med(rs, func(r Report) float64 { return r.Server.CPUCores })),
			d >= 0.98*want && p99 <= 50 && lost == 0, loads(rs))
	} else {
		row("fanout", "50,000 deliveries/s, p99 ≤ 50 ms, nothing lost", "", false, nil)
	}
	if rs := byScenario["rooms"]; len(rs) > 0 {
		p99 := med(rs, func(r Report) float64 { return r.Latency.P99 })
		sent, acked := sum(rs, func(r Report) int { return r.Sent }), sum(rs, func(r Report) int { return r.Acked })
		lost := sum(rs, func(r Report) int { return r.Lost })
		row(fmt.Sprintf("rooms: %s direct rooms × %s msg/s", rs[0].Params["rooms"], rs[0].Params["roomRate"]), "every message stored and acked, p99 ≤ 50 ms",
			fmt.Sprintf("%.0f acks/s, %d of %d acked, %d lost, p50 %.1f / p99 %.1f ms, ack p99 %.1f ms",
				med(rs, func(r Report) float64 { return r.AcksPS }), acked, sent, lost,
				med(rs, func(r Report) float64 { return r.Latency.P50 }), p99,
				med(rs, func(r Report) float64 { return r.AckLatency.P99 })),
			acked == sent && lost == 0 && p99 <= 50, loads(rs))
	} else {
		row("rooms", "every message stored and acked, p99 ≤ 50 ms", "", false, nil)
	}
	if rs := byScenario["acks"]; len(rs) > 0 {
		a := med(rs, func(r Report) float64 { return r.AcksPS })
		row("acked sends into SQLite (ack after commit)", "≥ 20,000 msg/s",
			fmt.Sprintf("%.0f msg/s (server %.2f cores), ack p50 %.1f / p99 %.1f ms", a,
				med(rs, func(r Report) float64 { return r.Server.CPUCores }),
				med(rs, func(r Report) float64 { return r.AckLatency.P50 }),
				med(rs, func(r Report) float64 { return r.AckLatency.P99 })),
			a >= 20000, loads(rs))
	} else {
		row("acked sends", "≥ 20,000 msg/s", "", false, nil)
	}
	if rs := byScenario["idle"]; len(rs) > 0 {
		per := med(rs, func(r Report) float64 { return r.BytesPerConn }) / 1024
		steady := med(rs, func(r Report) float64 { return r.BytesPerConnIdle }) / 1024
		text := fmt.Sprintf("RSS %.1f KiB/conn at the end of the idle window (Go heap %.1f, stacks %.1f), %.2f goroutines/conn", per,
			med(rs, func(r Report) float64 { return r.HeapPerConn })/1024,
			med(rs, func(r Report) float64 { return r.StackPerConn })/1024,
			med(rs, func(r Report) float64 { return r.GoroutinesPerConn }))
		met := per <= 20
		if steady > 0 {
			// The connect burst's garbage is gone at the server's next collection:
			// the steady figure is what the connections cost while they stay.
			text = fmt.Sprintf("steady %.1f KiB/conn (largest RSS of the %d s after the server's own next GC, %.0f s later); ",
				steady, steadySamples, med(rs, func(r Report) float64 { return r.SteadyWaitSecs })) + text
			met = steady <= 20
		}
		row(fmt.Sprintf("idle: %d connections", rs[0].Connections), "server RSS ≤ 20 KiB per connection", text, met, loads(rs))
	} else {
		row("idle", "server RSS ≤ 20 KiB per connection", "", false, nil)
	}
	if rs := byScenario["storm"]; len(rs) > 0 {
		rec := med(rs, func(r Report) float64 { return r.RecoverySecs })
		errs := sum(rs, func(r Report) int { return r.Server.Errors })
		lost := sum(rs, func(r Report) int { return r.Lost })
		back := true
		for _, r := range rs {
			back = back && r.Reconnected == r.Params2Int("conns")
		}
		row(fmt.Sprintf("storm: %s clients", rs[0].Params["conns"]), "all back and synced ≤ 40 s after the restart; no server error",
			fmt.Sprintf("%d of %s back within the tool's 60 s, the last %.1f s after the restart; %d server errors, %d lost, %d doubled (all runs)",
				rs[len(rs)/2].Reconnected, rs[0].Params["conns"], rec, errs, lost, sum(rs, func(r Report) int { return r.Doubled })),
			back && rec <= 40 && errs == 0 && lost == 0, loads(rs))
	} else {
		row("storm", "all back and synced ≤ 40 s after the restart; no server error", "", false, nil)
	}
	if runs := bench["BenchmarkIngest10k/fresh"]; len(runs) > 0 {
		ns := median(unit(runs, "ns/op"))
		refresh, perSec := "", 0.0
		for _, l := range logs {
			var n, batches int
			var took string
			if _, err := fmt.Sscanf(l, "%d messages in %s %d batches", &n, &took, &batches); err == nil {
				if d, err := time.ParseDuration(strings.TrimSuffix(took, ",")); err == nil && d > 0 {
					perSec = float64(batches) / d.Seconds()
					refresh = fmt.Sprintf("; end to end %d messages in %.1f s in %d batches: %.1f refreshes/s", n, d.Seconds(), batches, perSec)
				}
			}
		}
		// CPU when the benchmark measured it (cpu-ms/op), else the wall clock stands in.
		cpuMS, what := median(unit(runs, "cpu-ms/op")), "of CPU"
		if cpuMS <= 0 {
			cpuMS, what = ns/1e6, "wall clock"
		}
		row("client ingest: a 10,000-message burst", "≤ 1 s of CPU, ≤ 60 UI refreshes a second",
			fmt.Sprintf("%.0f ms %s a burst (%.0f ms wall clock, %.0f msgs/s)%s", cpuMS, what, ns/1e6, median(unit(runs, "msgs/s")), refresh),
			cpuMS <= 1000 && refresh != "" && perSec <= 60, nil)
	}
	for _, c := range []struct{ name, target string }{
		{"BenchmarkLatest100k", "opens to the newest in ≤ 200 ms"},
		{"BenchmarkBefore100k", "a page of older messages (a scroll step's read) ≤ 2 ms"},
		{"BenchmarkOpenRoom/stored=100000", "the chat screen opens at the newest in ≤ 200 ms"},
		{"BenchmarkScrollStep/stored=100000", "a scroll step ≤ 2 ms"},
	} {
		if runs := bench[c.name]; len(runs) > 0 {
			ns := median(unit(runs, "ns/op"))
			limit := 2e6
			if strings.Contains(c.target, "200 ms") {
				limit = 200e6
			}
			row("100,000 stored messages: "+c.name, c.target, fmt.Sprintf("%.3f ms", ns/1e6), ns <= limit, nil)
		}
	}
	if runs := bench["BenchmarkAppendMessages/rooms=50"]; len(runs) > 0 {
		row("group commit alone (500 messages over 50 rooms)", "(no target: the ceiling of acked sends)",
			fmt.Sprintf("%.0f msg/s", median(unit(runs, "msgs/s"))), true, nil)
	}
	return nil
}

// Params2Int reads an integer parameter of the run.
func (r Report) Params2Int(k string) int {
	n, _ := strconv.Atoi(r.Params[k])
	return n
}

// Params2Float reads a number parameter of the run.
func (r Report) Params2Float(k string) float64 {
	f, _ := strconv.ParseFloat(r.Params[k], 64)
	return f
}

// parseGoBench collects `go test -bench` result lines, and TestBurst10k's log line.
func parseGoBench(out string, into map[string][]map[string]float64, logs *[]string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, " messages in "); i >= 0 && strings.Contains(line, "batches") {
			j := strings.LastIndexByte(line[:i], ' ')
			*logs = append(*logs, line[j+1:])
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		into[name] = append(into[name], m)
	}
}

func unit(runs []map[string]float64, u string) []float64 {
	var out []float64
	for _, r := range runs {
		if v, ok := r[u]; ok {
			out = append(out, v)
		}
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
