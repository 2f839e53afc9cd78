// Command xdhcp-demo shows a failover pair of xdhcpd servers serving real
// DHCP clients, deployed the way Windows Server DHCP failover usually is:
// two servers on one link plus a subnet behind a relay that forwards to
// both, load balance 50/50, a shared secret. It builds the network out of
// Linux network namespaces, starts both servers with their XDP dataplane,
// runs dhclient, udhcpc, dhcpcd and a client behind ISC dhcrelay and says
// which server answered each, shows both servers NORMAL, changes the split
// to 70/30 live, stops one server and shows the other go
// COMMUNICATIONS-INTERRUPTED and, after a 5 s switchover interval,
// PARTNER-DOWN and serve a new client, restarts the stopped one until the
// pair is NORMAL again, and removes everything, also when interrupted
// with Ctrl-C.
//
//	sudo go run ./cmd/xdhcp-demo                 # builds xdhcpd and xdhcpctl first
//	sudo xdhcp-demo -xdhcpd bin/xdhcpd -xdhcpctl bin/xdhcpctl -pause 0
//
// It needs root and the Debian packages iproute2, isc-dhcp-client, udhcpc,
// dhcpcd-base, isc-dhcp-relay and util-linux, and refuses to start, naming
// what is missing, without them. It exits 0 when every client got its
// lease and the pair recovered, 1 on failure and 130 when interrupted.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

//go:embed demo.yaml
var configTemplate string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "xdhcp-demo: interrupted; everything it created is removed")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "xdhcp-demo:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	xdhcpd, xdhcpctl string
	pause            time.Duration
	dataplane        string
	showLog          bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("xdhcp-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.xdhcpd, "xdhcpd", "", "xdhcpd binary; empty: build ./cmd/xdhcpd with go build")
	fs.StringVar(&o.xdhcpctl, "xdhcpctl", "", "xdhcpctl binary; empty: build ./cmd/xdhcpctl with go build")
	fs.DurationVar(&o.pause, "pause", 1500*time.Millisecond, "pause between steps, to read along; 0 for none")
	fs.StringVar(&o.dataplane, "dataplane", "auto", "XDP mode for xdhcpd: auto, native, generic or off")
	fs.BoolVar(&o.showLog, "log", false, "also print xdhcpd's log as it runs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if (o.xdhcpd == "") != (o.xdhcpctl == "") {
		return o, fmt.Errorf("give both -xdhcpd and -xdhcpctl, or neither to build them")
	}
	switch o.dataplane {
	case "auto", "native", "generic", "off":
	default:
		return o, fmt.Errorf("-dataplane %q: must be auto, native, generic or off", o.dataplane)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opt, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	d := &demo{opt: opt, out: stdout}
	defer d.teardown()
	return d.run(ctx)
}
