package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/bench/loadgen"
	"github.com/xdhcp/xdhcp/bench/stats"
)

// Kind is one exchange kind's results. Latencies are in microseconds.
type Kind struct {
	Kind          string  `json:"kind"`
	Started       uint64  `json:"started"`
	Completed     uint64  `json:"completed"`
	Timeouts      uint64  `json:"timeouts"`
	Retries       uint64  `json:"retries"`
	NAKs          uint64  `json:"naks"`
	OfferedPerS   float64 `json:"offered_per_s"`
	CompletedPerS float64 `json:"completed_per_s"`
	DropRatio     float64 `json:"drop_ratio"`
	P50us         int64   `json:"p50_us"`
	P90us         int64   `json:"p90_us"`
	P99us         int64   `json:"p99_us"`
	MaxUs         int64   `json:"max_us"`
}

// Report is one run.
type Report struct {
	Scenario    string  `json:"scenario"`
	Clients     int     `json:"clients"`
	TargetRate  float64 `json:"target_rate"` // 0: unbounded
	Seconds     float64 `json:"seconds"`
	WarmupS     float64 `json:"warmup_s"`
	Kinds       []Kind  `json:"kinds"`
	TxFrames    uint64  `json:"tx_frames"`
	TxDropped   uint64  `json:"tx_dropped"`
	RxFrames    uint64  `json:"rx_frames"`
	RxMalformed uint64  `json:"rx_malformed"`
	RxUnmatched uint64  `json:"rx_unmatched"`
	// RxLost is what the kernel dropped on the way to the generator's
	// own socket (its ring full); replies lost there count as the
	// server's drops in Kinds, so a run with RxLost > 0 overstates them.
	RxLost       uint64  `json:"rx_lost_by_generator"`
	DupAddresses uint64  `json:"dup_addresses"`
	Skipped      uint64  `json:"skipped"`
	Inflight     int     `json:"inflight_at_end"`
	Primary      string  `json:"primary"`
	GenCPUs      float64 `json:"gen_cpu_s"`
}

// From converts a result; genCPU is the generator's CPU seconds, if known.
func From(r *loadgen.Result, genCPU float64) Report {
	rep := Report{
		Scenario: string(r.Config.Scenario), Clients: r.Config.Clients, TargetRate: r.Config.Rate,
		Seconds: r.Elapsed.Seconds(), WarmupS: r.Warmup.Seconds(),
		TxFrames: r.Stats.TxFrames, TxDropped: r.Stats.TxDropped, RxFrames: r.Stats.RxFrames,
		RxMalformed: r.Stats.RxMalformed, RxUnmatched: r.Stats.RxUnmatched, DupAddresses: r.Stats.DupAddresses,
		Skipped: r.Stats.Skipped, Inflight: r.Inflight, Primary: r.Primary().String(), GenCPUs: genCPU,
	}
	for k := stats.Kind(0); k < stats.NumKinds; k++ {
		c := &r.Stats.Kinds[k]
		if c.Started == 0 {
			continue
		}
		rep.Kinds = append(rep.Kinds, Kind{
			Kind: k.String(), Started: c.Started, Completed: c.Completed, Timeouts: c.Timeouts, Retries: c.Retries, NAKs: c.NAKs,
			OfferedPerS: r.Offered(k), CompletedPerS: r.CompletedRate(k), DropRatio: r.DropRatio(k),
			P50us: c.Latency.Quantile(0.5).Microseconds(), P90us: c.Latency.Quantile(0.9).Microseconds(),
			P99us: c.Latency.Quantile(0.99).Microseconds(), MaxUs: c.Latency.Max().Microseconds(),
		})
	}
	return rep
}

// PrimaryKind returns the results of the scenario's main kind (zero if it
// never started).
func (r Report) PrimaryKind() Kind {
	for _, k := range r.Kinds {
		if k.Kind == r.Primary {
			return k
		}
	}
	return Kind{Kind: r.Primary}
}

// WriteTable writes a human-readable table.
func WriteTable(w io.Writer, r Report) error {
	var b strings.Builder
	target := "unbounded"
	if r.TargetRate > 0 {
		target = fmt.Sprintf("%.0f/s", r.TargetRate)
	}
	fmt.Fprintf(&b, "scenario %s, %d clients, target %s, %.1fs measured", r.Scenario, r.Clients, target, r.Seconds)
	if r.WarmupS > 0 {
		fmt.Fprintf(&b, " after %.1fs warm-up", r.WarmupS)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "%-8s %10s %10s %11s %12s %8s %7s %6s %9s %9s %9s %9s\n",
		"kind", "started", "completed", "offered/s", "completed/s", "drops", "retries", "NAKs", "p50", "p90", "p99", "max")
	for _, k := range r.Kinds {
		fmt.Fprintf(&b, "%-8s %10d %10d %11.0f %12.0f %7.2f%% %7d %6d %9s %9s %9s %9s\n",
			k.Kind, k.Started, k.Completed, k.OfferedPerS, k.CompletedPerS, 100*k.DropRatio, k.Retries, k.NAKs,
			us(k.P50us), us(k.P90us), us(k.P99us), us(k.MaxUs))
	}
	fmt.Fprintf(&b, "\nframes: %d sent (%d refused by the socket), %d received (%d malformed, %d unmatched, %d lost by the generator's socket); duplicate addresses: %d; starts skipped (no free client): %d\n",
		r.TxFrames, r.TxDropped, r.RxFrames, r.RxMalformed, r.RxUnmatched, r.RxLost, r.DupAddresses, r.Skipped)
	if r.GenCPUs > 0 {
		fmt.Fprintf(&b, "generator CPU: %.2f s\n", r.GenCPUs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func us(v int64) string {
	d := time.Duration(v) * time.Microsecond
	if d == 0 {
		return "-"
	}
	if d < time.Millisecond {
		return fmt.Sprintf("%dµs", v)
	}
	return fmt.Sprintf("%.2fms", float64(v)/1000)
}

// WriteJSON writes reports as a JSON array (one element per run).
func WriteJSON(w io.Writer, rs []Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rs); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// CSVHeader is the header WriteCSV writes.
var CSVHeader = []string{"scenario", "clients", "target_rate", "seconds", "kind", "started", "completed", "timeouts", "retries", "naks",
	"offered_per_s", "completed_per_s", "drop_ratio", "p50_us", "p90_us", "p99_us", "max_us", "dup_addresses", "tx_dropped", "gen_cpu_s"}

// WriteCSV writes one row per run and kind, with a header.
func WriteCSV(w io.Writer, rs []Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range rs {
		for _, k := range r.Kinds {
			_ = cw.Write([]string{r.Scenario, strconv.Itoa(r.Clients), f(r.TargetRate), f(r.Seconds), k.Kind, u(k.Started), u(k.Completed),
				u(k.Timeouts), u(k.Retries), u(k.NAKs), f(k.OfferedPerS), f(k.CompletedPerS), f(k.DropRatio),
				i(k.P50us), i(k.P90us), i(k.P99us), i(k.MaxUs), u(r.DupAddresses), u(r.TxDropped), f(r.GenCPUs)})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Progress renders live progress lines from successive snapshots.
type Progress struct {
	prev loadgen.Snapshot
}

// Line returns one status line for s (rates over the interval since the
// previous snapshot).
func (p *Progress) Line(s loadgen.Snapshot, primary stats.Kind) string {
	dt := (s.Elapsed - p.prev.Elapsed).Seconds()
	if s.Phase != p.prev.Phase || dt <= 0 {
		dt = s.Elapsed.Seconds()
		p.prev = loadgen.Snapshot{Phase: s.Phase}
	}
	cur, old := s.Stats.Kinds[primary], p.prev.Stats.Kinds[primary]
	rate := func(a, b uint64) float64 {
		if dt <= 0 {
			return 0
		}
		return float64(a-b) / dt
	}
	line := fmt.Sprintf("%-7s %5.1fs  %s started %8.0f/s  completed %8.0f/s  timeouts %6d  NAKs %4d  p99 %s",
		s.Phase, s.Elapsed.Seconds(), primary, rate(cur.Started, old.Started), rate(cur.Completed, old.Completed),
		cur.Timeouts, cur.NAKs, us(cur.Latency.Quantile(0.99).Microseconds()))
	p.prev = s
	return line
}
