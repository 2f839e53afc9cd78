package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xdhcp/xdhcp/bench/suite"
)

// runPlot redraws the plots of a results directory from its results.csv.
func runPlot(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("dir", "", "results directory holding results.csv (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("plot: --dir is required")
	}
	f, err := os.Open(filepath.Join(*dir, "results.csv"))
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	defer f.Close()
	rows, err := suite.ReadCSV(f)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	pngs, err := suite.Plot(ctx, *dir, rows)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	for _, p := range pngs {
		fmt.Fprintln(e.stdout, filepath.Join(*dir, p))
	}
	return nil
}
