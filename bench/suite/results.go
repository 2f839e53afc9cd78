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
	"p50_us", "p90_us", "p99_us", "max_us", "naks", "dup_addrs", "server_cpu_s", "server_cpu_s_per_1k", "gen_cpu_s", "durability", "note"}

// WriteCSV writes every row.
func WriteCSV(w io.Writer, rows []Row, step time.Duration) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	us := func(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, r := range rows {
		_ = cw.Write([]string{r.Server, r.Driver, r.Scenario, f(r.Offered, 0), f(r.Completed, 1), f(r.DropRatio, 5),
			us(r.P50), us(r.P90), us(r.P99), us(r.Max), strconv.FormatInt(r.NAKs, 10), strconv.FormatInt(r.Dups, 10),
			f(r.ServerCPU, 2), f(r.CPUPer1000(step), 4), f(r.GenCPU, 2), r.Durability, r.Extra})
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
	fmt.Fprintf(&b, "| server | scenario | driver | max rate/s (drops ≤ %.0f%%) | offered/s | drops | p50 ms | p99 ms | max ms | server CPU s | CPU s / 1k | durability |\n", maxDrop*100)
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	ms := func(d time.Duration) string {
		if d == 0 {
			return "–"
		}
		return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64)
	}
	for _, r := range Best(rows, maxDrop) {
		if r.Offered == 0 {
			fmt.Fprintf(&b, "| %s | %s | – | no step under %.0f%% drops | | | | | | | | |\n", r.Server, r.Scenario, maxDrop*100)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.0f | %.2f%% | %s | %s | %s | %.2f | %.3f | %s |\n",
			r.Server, r.Scenario, r.Driver, r.Completed, r.Offered, r.DropRatio*100, ms(r.P50), ms(r.P99), ms(r.Max),
			r.ServerCPU, r.CPUPer1000(step), r.Durability)
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
// directory). Server CPU per 1,000 is recomputed, not read.
func ReadCSV(r io.Reader) ([]Row, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read results csv: %w", err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		return nil, fmt.Errorf("read results csv: header is not %v", csvHeader)
	}
	var rows []Row
	for i, rec := range recs[1:] {
		var bad error
		f := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil && bad == nil {
				bad = err
			}
			return v
		}
		us := func(s string) time.Duration { return time.Duration(f(s)) * time.Microsecond }
		rows = append(rows, Row{
			Server: rec[0], Driver: rec[1], Scenario: rec[2],
			Step: Step{Offered: f(rec[3]), Completed: f(rec[4]), DropRatio: f(rec[5]),
				P50: us(rec[6]), P90: us(rec[7]), P99: us(rec[8]), Max: us(rec[9]),
				NAKs: int64(f(rec[10])), Dups: int64(f(rec[11])), GenCPU: f(rec[14]), Extra: rec[16]},
			ServerCPU: f(rec[12]), Durability: rec[15],
		})
		if bad != nil {
			return nil, fmt.Errorf("read results csv line %d: %w", i+2, bad)
		}
	}
	return rows, nil
}
