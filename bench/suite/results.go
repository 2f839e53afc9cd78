package suite

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var csvHeader = []string{"server", "driver", "scenario", "offered_per_s", "completed_per_s", "drop_ratio",
	"p50_us", "p90_us", "p99_us", "max_us", "naks", "dup_addrs", "server_cpu_s", "server_cpu_s_per_1k", "gen_cpu_s", "durability", "note",
	"lag_updates", "lag_p50_us", "lag_p99_us", "lag_mean_us", "lag_unacked_after"}

// lagColumns are the replication lag columns, which results written before
// they existed lack.
var lagColumns = map[string]bool{"lag_updates": true, "lag_p50_us": true, "lag_p99_us": true, "lag_mean_us": true, "lag_unacked_after": true}

// WriteCSV writes every row.
func WriteCSV(w io.Writer, rows []Row, step time.Duration) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	us := func(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, r := range rows {
		// Lag cells stay blank for servers without a lag histogram.
		lag := []string{"", "", "", "", ""}
		if r.Lag.Updates > 0 || r.Lag.Unacked > 0 {
			lag = []string{strconv.FormatUint(r.Lag.Updates, 10), us(r.Lag.P50), us(r.Lag.P99), us(r.Lag.Mean), strconv.Itoa(r.Lag.Unacked)}
		}
		_ = cw.Write(append([]string{r.Server, r.Driver, r.Scenario, f(r.Offered, 0), f(r.Completed, 1), f(r.DropRatio, 5),
			us(r.P50), us(r.P90), us(r.P99), us(r.Max), strconv.FormatInt(r.NAKs, 10), strconv.FormatInt(r.Dups, 10),
			f(r.ServerCPU, 2), f(r.CPUPer1000(step), 4), f(r.GenCPU, 2), r.Durability, r.Extra}, lag...))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteMarkdown writes the summary table: the best step under maxDrop per
// server and scenario.
func WriteMarkdown(w io.Writer, rows []Row, step time.Duration, maxDrop float64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| server | scenario | driver | max rate/s (drops ≤ %.0f%%) | offered/s | drops | p50 ms | p99 ms | max ms | server CPU s | CPU s / 1k | lag p50 ms | lag p99 ms | unacked after | durability |\n", maxDrop*100)
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	ms := func(d time.Duration) string {
		if d == 0 {
			return "–"
		}
		return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64)
	}
	var notes []string
	noted := map[string]bool{}
	for _, r := range Best(rows, maxDrop) {
		if r.Offered == 0 {
			fmt.Fprintf(&b, "| %s | %s | – | no step under %.0f%% drops | | | | | | | | | | | |\n", r.Server, r.Scenario, maxDrop*100)
			continue
		}
		lagP50, lagP99, unacked := "", "", ""
		switch {
		case r.Lag.Updates > 0 || r.Lag.Unacked > 0:
			lagP50, lagP99, unacked = ms(r.Lag.P50), ms(r.Lag.P99), strconv.Itoa(r.Lag.Unacked)
		case r.LagNote != "":
			lagP50, lagP99 = "see note", "see note"
			if !noted[r.Server] {
				noted[r.Server] = true
				notes = append(notes, fmt.Sprintf("Note (%s): %s", r.Server, r.LagNote))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.0f | %.2f%% | %s | %s | %s | %.2f | %.3f | %s | %s | %s | %s |\n",
			r.Server, r.Scenario, r.Driver, r.Completed, r.Offered, r.DropRatio*100, ms(r.P50), ms(r.P99), ms(r.Max),
			r.ServerCPU, r.CPUPer1000(step), lagP50, lagP99, unacked, r.Durability)
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

// WriteDir writes results.csv and results.md into dir.
func WriteDir(dir string, rows []Row, step time.Duration, maxDrop float64, header string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	cf, err := os.Create(filepath.Join(dir, "results.csv"))
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	defer cf.Close()
	if err := WriteCSV(cf, rows, step); err != nil {
		return err
	}
	mf, err := os.Create(filepath.Join(dir, "results.md"))
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	defer mf.Close()
	if _, err := io.WriteString(mf, header); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return WriteMarkdown(mf, rows, step, maxDrop)
}

// AppendPlots links the plot images from results.md.
func AppendPlots(dir string, pngs []string) error {
	f, err := os.OpenFile(filepath.Join(dir, "results.md"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("append plots: %w", err)
	}
	defer f.Close()
	var b strings.Builder
	b.WriteString("\n")
	for _, p := range pngs {
		fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return fmt.Errorf("append plots: %w", err)
	}
	return nil
}

// ReadCSV reads rows written by WriteCSV (for re-plotting a results
// directory), including results written before the lag columns existed.
// Server CPU per 1,000 is recomputed, not read.
func ReadCSV(r io.Reader) ([]Row, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read results csv: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("read results csv: empty; want the header %v", csvHeader)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	for _, name := range csvHeader {
		if _, ok := col[name]; !ok && !lagColumns[name] {
			return nil, fmt.Errorf("read results csv: no %q column; the header is not %v", name, csvHeader)
		}
	}
	var rows []Row
	for i, rec := range recs[1:] {
		var bad error
		field := func(name string) string {
			if j, ok := col[name]; ok && j < len(rec) {
				return rec[j]
			}
			return ""
		}
		f := func(name string) float64 {
			s := field(name)
			if s == "" && lagColumns[name] {
				return 0
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil && bad == nil {
				bad = fmt.Errorf("column %s: %w", name, err)
			}
			return v
		}
		us := func(name string) time.Duration { return time.Duration(f(name)) * time.Microsecond }
		rows = append(rows, Row{
			Server: field("server"), Driver: field("driver"), Scenario: field("scenario"),
			Step: Step{Offered: f("offered_per_s"), Completed: f("completed_per_s"), DropRatio: f("drop_ratio"),
				P50: us("p50_us"), P90: us("p90_us"), P99: us("p99_us"), Max: us("max_us"),
				NAKs: int64(f("naks")), Dups: int64(f("dup_addrs")), GenCPU: f("gen_cpu_s"), Extra: field("note")},
			ServerCPU: f("server_cpu_s"), Durability: field("durability"),
			Lag: Lag{Updates: uint64(f("lag_updates")), P50: us("lag_p50_us"), P99: us("lag_p99_us"), Mean: us("lag_mean_us"),
				Unacked: int(f("lag_unacked_after"))},
		})
		if bad != nil {
			return nil, fmt.Errorf("read results csv line %d: %w", i+2, bad)
		}
	}
	return rows, nil
}
