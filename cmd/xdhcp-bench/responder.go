package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/responder"
	"github.com/xdhcp/xdhcp/bench/xdpecho"
)

func runResponder(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("responder", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	iface := fs.String("iface", "", "interface to answer on (required)")
	addr := fs.String("address", "10.99.0.1", "server identifier")
	pool := fs.String("pool", "10.64.0.0/10", "addresses handed out (derived from the client MAC)")
	ioMode := fs.String("io", "recvmmsg", "receive engine: recvmmsg | ring")
	batch := fs.Int("batch", 64, "frames per system call")
	useXDP := fs.Bool("xdp", false, "answer in the kernel with an XDP program (XDP_TX) instead of a packet socket; the peer interface needs GRO on (ethtool -K PEER gro on)")
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
	if *useXDP {
		return runXDPResponder(ctx, e, *iface, cfg)
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

func runXDPResponder(ctx context.Context, e env, iface string, cfg responder.Config) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return fmt.Errorf("responder: %w", err)
	}
	copy(cfg.ServerMAC[:], ifi.HardwareAddr)
	objs, err := xdpecho.Load(xdpecho.Config{Config: cfg})
	if err != nil {
		return fmt.Errorf("responder: %w", err)
	}
	defer objs.Close()
	mode, err := objs.Attach(ifi.Index)
	if err != nil {
		return fmt.Errorf("responder: %w", err)
	}
	e.log.Info("xdp responder attached", zap.String("iface", iface), zap.String("mode", mode), zap.Stringer("address", cfg.ServerIP))
	<-ctx.Done()
	c, err := objs.Counters()
	if err != nil {
		return fmt.Errorf("responder: %w", err)
	}
	fields := make([]zap.Field, 0, len(c))
	for i, v := range c {
		fields = append(fields, zap.Uint64(xdpecho.CounterNames[i], v))
	}
	e.log.Info("xdp responder stopped", fields...)
	return nil
}
