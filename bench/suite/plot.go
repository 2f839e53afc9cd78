package suite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoGnuplot is returned by Plot when gnuplot is not installed.
var ErrNoGnuplot = errors.New("gnuplot not found (Debian: apt-get install gnuplot-nox)")

// Plot writes, per scenario, rate-<scenario>.png (completed against
// offered rate, one line per server and driver) and latency-<scenario>.png
// (p50 and p99 against offered rate), using gnuplot. The .dat and .gp
// files it feeds gnuplot stay beside the images.
func Plot(ctx context.Context, dir string, rows []Row) ([]string, error) {
	gp, err := exec.LookPath("gnuplot")
	if err != nil {
		return nil, ErrNoGnuplot
	}
	type series struct {
		name string
		file string
	}
	byScen := map[string][]series{}
	files := map[string]*strings.Builder{}
	var scens []string
	for _, r := range rows {
		name := r.Server + " (" + r.Driver + ")"
		file := fmt.Sprintf("%s-%s-%s.dat", r.Scenario, r.Server, r.Driver)
		if files[file] == nil {
			files[file] = &strings.Builder{}
			files[file].WriteString("# offered completed p50_ms p90_ms p99_ms drop_pct\n")
			if byScen[r.Scenario] == nil {
				scens = append(scens, r.Scenario)
			}
			byScen[r.Scenario] = append(byScen[r.Scenario], series{name, file})
		}
		fmt.Fprintf(files[file], "%.0f %.1f %.3f %.3f %.3f %.3f\n", r.Offered, r.Completed,
			float64(r.P50)/1e6, float64(r.P90)/1e6, float64(r.P99)/1e6, 100*r.DropRatio)
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(b.String()), 0o644); err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
	}
	sort.Strings(scens)
	var pngs []string
	for _, scen := range scens {
		ss := byScen[scen]
		var rate, lat []string
		for _, s := range ss {
			rate = append(rate, fmt.Sprintf("'%s' using 1:2 with linespoints title '%s'", s.file, s.name))
			lat = append(lat, fmt.Sprintf("'%s' using 1:($3>0?$3:1/0) with linespoints title '%s p50'", s.file, s.name),
				fmt.Sprintf("'%s' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title '%s p99'", s.file, s.name))
		}
		xlabel := "offered exchanges/s"
		if scen == "flood" {
			xlabel = "offered flood DISCOVERs/s"
		}
		script := fmt.Sprintf(`set terminal pngcairo size 1000,620 noenhanced
set grid
set key top left
set logscale xy
set xlabel '%[2]s'
set output 'rate-%[1]s.png'
set title 'xdhcp-bench %[1]s: completed vs offered rate'
set ylabel 'completed/s'
plot [100:] x title 'offered' with lines lc rgb 'gray', %[3]s
set output 'latency-%[1]s.png'
set title 'xdhcp-bench %[1]s: latency (p50 solid, p99 dashed)'
set ylabel 'ms'
plot [100:] %[4]s
`, scen, xlabel, strings.Join(rate, ", "), strings.Join(lat, ", "))
		gpFile := "plot-" + scen + ".gp"
		if err := os.WriteFile(filepath.Join(dir, gpFile), []byte(script), 0o644); err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		cmd := exec.CommandContext(ctx, gp, gpFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("plot %s: gnuplot: %w: %s", scen, err, out)
		}
		pngs = append(pngs, "rate-"+scen+".png", "latency-"+scen+".png")
	}
	return pngs, nil
}
