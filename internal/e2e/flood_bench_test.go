package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/procstat"
	"github.com/xdhcp/xdhcp/bench/report"
)

// BenchmarkFloodPair measures the flood guard of a load-balanced failover
// pair under a DISCOVER flood. A generator on the pair's LAN sends
// DISCOVERs from floodClients random chaddrs at floodRate (40,000/s, or
// XDHCP_FLOOD_RATE; 0 is as fast as it can), half of them hashed to each
// partner, while legitimate clients (each from its own MAC) run DORA beside
// the flood. Two floods:
//
//   - flood=port: every frame from the generator's own MAC, as a
//     starvation tool behind one subscriber port sends them; the default
//     source guard (dataplane.source-limit) keys on that MAC. Run with
//     dataplane auto (native XDP on the veth), generic, and off (the Go
//     filter, which sees only UDP payloads and so cannot key on the MAC).
//   - flood=spoofed: each frame from its own random MAC, which no source
//     guard can tell apart; run without and with a discover budget of
//     2,000 DISCOVERs/s per server (dataplane.discover-budget), or
//     XDHCP_FLOOD_BUDGET. With the budget, legitimate clients that
//     retransmit (twice, after 1 s each) run with the budget's retry lane
//     off and on (discover-budget.retry-pps 0 and its default).
//
// Each run reports the primary's CPU time per second of flood, the whole
// machine's but the generator's, the flood rate offered, and the
// legitimate clients' completion and latency.
//
//	go test -run '^$' -bench BenchmarkFloodPair -benchtime 1x ./internal/e2e/
func BenchmarkFloodPair(b *testing.B) {
	const (
		floodClients = 100000
		legitRate    = 20
		floodFor     = 10 * time.Second
	)
	// DISCOVERs/s; the generator shares the machine with both servers.
	// XDHCP_FLOOD_RATE overrides it; 0 floods as fast as the generator can.
	floodRate := 40000
	if v := os.Getenv("XDHCP_FLOOD_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			b.Fatalf("XDHCP_FLOOD_RATE=%q: want a whole number of DISCOVERs per second, 0 for unbounded", v)
		}
		floodRate = n
	}
	// DISCOVERs/s per server in the budgeted runs; XDHCP_FLOOD_BUDGET
	// overrides it. Every DISCOVER passed holds an address for the offer
	// hold (10 s), so the budget times the hold must stay well inside each
	// partner's share of the pools, or the flood exhausts them instead.
	floodBudget := uint32(2000)
	if v := os.Getenv("XDHCP_FLOOD_BUDGET"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			b.Fatalf("XDHCP_FLOOD_BUDGET=%q: want a whole number of DISCOVERs per second above 0", v)
		}
		floodBudget = uint32(n)
	}
	runs := []struct {
		source  string // xdhcp-bench --flood-source
		budget  uint32 // dataplane.discover-budget.pps; 0: off
		mode    string // dataplane.mode
		retries int    // retransmissions by the legitimate clients (xdhcp-bench --retries)
		noLane  bool   // discover-budget.retry-pps 0
	}{
		{"port", 0, "auto", 0, false}, {"port", 0, "generic", 0, false}, {"port", 0, "off", 0, false},
		{"spoofed", 0, "auto", 0, false}, {"spoofed", floodBudget, "auto", 0, false}, {"spoofed", floodBudget, "off", 0, false},
		{"spoofed", floodBudget, "auto", 2, true}, {"spoofed", floodBudget, "auto", 2, false},
		{"spoofed", floodBudget, "off", 2, false},
	}
	for _, r := range runs {
		mode := r.mode
		name := fmt.Sprintf("flood=%s/budget=%d/dataplane=%s", r.source, r.budget, mode)
		if r.retries > 0 {
			name += fmt.Sprintf("/retries=%d/lane=%t", r.retries, !r.noLane)
		}
		b.Run(name, func(b *testing.B) {
			setup(b)
			p := newPair(b, pairOpts{percent: 50, mclt: time.Minute, dataplane: mode, bigScope: true, discoverBudget: r.budget, noRetryLane: r.noLane})
			p.waitSettled(b, 30*time.Second)
			exe := buildBench(b)
			for b.Loop() {
				before, err := procstat.Read(p.a.Pid())
				if err != nil {
					b.Fatal(err)
				}
				busyBefore := machineBusy(b)
				cmd := p.clients.Command(context.Background(), exe, "run", "--iface", HostIface,
					"--scenario", "flood", "--flood-source", r.source, "--clients", strconv.Itoa(floodClients), "--rate", strconv.Itoa(floodRate),
					"--legit-rate", strconv.Itoa(legitRate), "--duration", floodFor.String(),
					"--retries", strconv.Itoa(r.retries), "--progress", "off", "--json")
				var out, errOut strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &errOut
				if err := cmd.Run(); err != nil {
					b.Fatalf("xdhcp-bench: %v\n%s", err, errOut.String())
				}
				after, err := procstat.Read(p.a.Pid())
				if err != nil {
					b.Fatal(err)
				}
				busy := machineBusy(b) - busyBefore
				var reps []report.Report
				if err := json.Unmarshal([]byte(out.String()), &reps); err != nil || len(reps) == 0 {
					b.Fatalf("decode xdhcp-bench report: %v\n%s", err, out.String())
				}
				rep := reps[0]
				var flood, legit report.Kind
				for _, k := range rep.Kinds {
					switch k.Kind {
					case "flood":
						flood = k
					case "dora":
						legit = k
					}
				}
				if legit.Started == 0 {
					b.Fatalf("no legitimate exchange in the report: %+v", rep)
				}
				cpu := after.Total() - before.Total()
				b.ReportMetric(cpu/rep.Seconds, "primary-cpu-s/s")
				// Everything but the generator: both servers, and the kernel's
				// softirq work, where the XDP program runs.
				b.ReportMetric((busy-rep.GenCPUs)/rep.Seconds, "non-generator-cpu-s/s")
				b.ReportMetric(flood.OfferedPerS, "flood-discovers/s")
				b.ReportMetric(100*float64(legit.Completed)/float64(legit.Started), "legit-done-%")
				b.ReportMetric(float64(legit.P99us)/1000, "legit-p99-ms")
				b.ReportMetric(float64(legit.MaxUs)/1000, "legit-max-ms")
				b.Logf("flood from %s, budget %d, dataplane %s, legitimate retries %d, retry lane %t: flood %.0f DISCOVER/s offered, primary CPU %.2f s and all but the generator %.2f s over %.1f s; legitimate DORA %d/%d done, p50 %.1f ms, p99 %.1f ms, max %.1f ms; primary's guard: %s",
					r.source, r.budget, mode, r.retries, r.budget > 0 && !r.noLane, flood.OfferedPerS, cpu, busy-rep.GenCPUs, rep.Seconds, legit.Completed, legit.Started,
					float64(legit.P50us)/1000, float64(legit.P99us)/1000, float64(legit.MaxUs)/1000, guardCounters(b, p.a))
			}
		})
	}
}

// machineBusy returns the CPU seconds all CPUs spent not idle since boot,
// from /proc/stat.
func machineBusy(tb testing.TB) float64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		tb.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		tb.Fatalf("unexpected /proc/stat: %q", line)
	}
	var busy float64
	for i, f := range fields[1:9] {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			tb.Fatalf("/proc/stat field %q: %v", f, err)
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy / 100 // USER_HZ
}

// guardCounters names the flood guard's drops and passes on d, from the
// XDP program when attached, else from the Go filter.
func guardCounters(tb testing.TB, d *Daemon) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dp, err := d.Dataplane(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	counters, where := dp.XDP, "xdp"
	if len(counters) == 0 {
		counters, where = dp.GoFilter, "go filter"
	}
	var parts []string
	for _, name := range []string{"passed-ours", "dropped-partner", "dropped-source-limit", "dropped-discover-budget", "passed-retry-lane"} {
		parts = append(parts, fmt.Sprintf("%s %d", name, counters[name]))
	}
	return where + ": " + strings.Join(parts, ", ")
}
