// Command xdhcp-bench is xdhcp's DHCP load generator and benchmark suite.
//
//	xdhcp-bench suite --servers kea,xdhcpd --quick     benchmark matrix in namespaces
//	xdhcp-bench run --iface gen0 --scenario dora ...    drive load from an interface
//	xdhcp-bench responder --iface srv0 [--xdp]          minimal echo responder
//	xdhcp-bench txtest                                  compare transmit engines
//	xdhcp-bench plot --dir bench/results/D              redraw a results directory's plots
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
)

// env is what a command may touch, so each command is testable.
type env struct {
	stdout, stderr io.Writer
	log            *zap.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, err := zap.NewDevelopment()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer func() { _ = log.Sync() }()
	e := env{stdout: os.Stdout, stderr: os.Stderr, log: log}
	if err := run(ctx, e, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "xdhcp-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, e env, args []string) error {
	cmds := map[string]func(context.Context, env, []string) error{
		"suite":     runSuite,
		"run":       runGenerator,
		"responder": runResponder,
		"txtest":    runTxTest,
		"plot":      runPlot,
	}
	if len(args) == 0 || cmds[args[0]] == nil {
		fmt.Fprintln(e.stderr, "usage: xdhcp-bench suite|run|responder|txtest|plot [flags]  (-h for a command's flags)")
		return flag.ErrHelp
	}
	return cmds[args[0]](ctx, e, args[1:])
}
