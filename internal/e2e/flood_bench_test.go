package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/procstat"
	"github.com/xdhcp/xdhcp/bench/report"
)

// BenchmarkFloodPair measures what the XDP program saves a load-balanced
// failover pair under a DISCOVER flood. A generator on the pair's LAN sends
// DISCOVERs from floodClients random MACs at floodRate (40,000/s, or
// XDHCP_FLOOD_RATE; 0 is as fast as it can), half of them
// hashed to each partner, while legitimate clients run DORA beside the
// flood. For each dataplane mode (auto: the XDP program drops the
// partner's half at the driver; off: every frame reaches xdhcpd, whose Go
// filter drops it) it reports the primary's CPU time per second of flood,
// the flood rate offered, and the legitimate clients' completion and
// latency.
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
	for _, mode := range []string{"auto", "generic", "off"} {
		b.Run("dataplane="+mode, func(b *testing.B) {
			setup(b)
			p := newPair(b, pairOpts{percent: 50, mclt: time.Minute, dataplane: mode, bigScope: true})
			p.waitSettled(b, 30*time.Second)
			exe := buildBench(b)
			for b.Loop() {
				before, err := procstat.Read(p.a.Pid())
				if err != nil {
					b.Fatal(err)
				}
				busyBefore := machineBusy(b)
				cmd := p.clients.Command(context.Background(), exe, "run", "--iface", HostIface,
					"--scenario", "flood", "--clients", strconv.Itoa(floodClients), "--rate", strconv.Itoa(floodRate),
					"--legit-rate", strconv.Itoa(legitRate), "--duration", floodFor.String(),
					"--progress", "off", "--json")
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
				b.Logf("dataplane %s: flood %.0f DISCOVER/s offered, primary CPU %.2f s and all but the generator %.2f s over %.1f s; legitimate DORA %d/%d done, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
					mode, flood.OfferedPerS, cpu, busy-rep.GenCPUs, rep.Seconds, legit.Completed, legit.Started,
					float64(legit.P50us)/1000, float64(legit.P99us)/1000, float64(legit.MaxUs)/1000)
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
