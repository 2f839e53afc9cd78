package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/responder"
)

func runResponder(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("responder", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	iface := fs.String("iface", "", "interface to answer on (required)")
	addr := fs.String("address", "10.99.0.1", "server identifier")
	pool := fs.String("pool", "10.64.0.0/10", "addresses handed out (derived from the client MAC)")
	ioMode := fs.String("io", "recvmmsg", "receive engine: recvmmsg | ring")
	batch := fs.Int("batch", 64, "frames per system call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *iface == "" {
		return fmt.Errorf("responder: --iface is required")
	}
	cfg := responder.Config{}
	var err error
	if cfg.ServerIP, err = netip.ParseAddr(*addr); err != nil || !cfg.ServerIP.Is4() {
		return fmt.Errorf("responder: --address %q: want an IPv4 address", *addr)
	}
	if cfg.Pool, err = netip.ParsePrefix(*pool); err != nil || !cfg.Pool.Addr().Is4() {
		return fmt.Errorf("responder: --pool %q: want an IPv4 prefix", *pool)
	}
	conn, err := rawio.Open(*iface, &rawio.Config{Ports: []uint16{67}, Batch: *batch, RxRing: *ioMode == "ring"})
	if err != nil {
		return fmt.Errorf("responder: %w", err)
	}
	defer conn.Close()
	cfg.ServerMAC = conn.HardwareAddr()
	e.log.Info("responder ready", zap.String("iface", *iface), zap.Stringer("address", cfg.ServerIP))
	c, err := responder.Serve(ctx, conn, cfg)
	e.log.Info("responder stopped", zap.Uint64("received", c.Received), zap.Uint64("replied", c.Replied),
		zap.Uint64("malformed", c.Malformed), zap.Uint64("ignored", c.Ignored), zap.Uint64("tx_dropped", c.TxDropped))
	return err
}
