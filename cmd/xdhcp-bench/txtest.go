package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/xdhcp/xdhcp/bench/frame"
	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/xdpecho"
)

// runTxTest measures how fast each transmit engine puts DISCOVERs on a veth
// pair whose far end drops them in XDP (the cheapest possible sink).
func runTxTest(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("txtest", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	frames := fs.Int("frames", 2_000_000, "frames per engine")
	batch := fs.Int("batch", 64, "frames per system call (sendmmsg) or per kernel batch (live)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *frames <= 0 || *batch <= 0 || *batch > 256 {
		return fmt.Errorf("txtest: --frames must be positive and --batch 1..256")
	}
	topo, err := netns.New(ctx, &netns.Config{Prefix: "xbtx"})
	if err != nil {
		return fmt.Errorf("txtest: %w", err)
	}
	defer topo.Close()
	var sink io.Closer
	if err := netns.Do(topo.SrvNS, func() error {
		ifi, err := net.InterfaceByName(topo.SrvIface)
		if err != nil {
			return err
		}
		sink, err = xdpecho.AttachDrop(ifi.Index)
		return err
	}); err != nil {
		return fmt.Errorf("txtest: sink: %w", err)
	}
	defer sink.Close()

	m := frame.Message{DstMAC: [6]byte{255, 255, 255, 255, 255, 255}, DstIP: [4]byte{255, 255, 255, 255}, SrcPort: 68, DstPort: 67,
		Op: frame.OpRequest, Flags: frame.FlagBroadcast, Type: frame.Discover}
	tmpl := make([]byte, frame.MaxLen)
	n, err := frame.Build(tmpl, &m)
	if err != nil {
		return fmt.Errorf("txtest: %w", err)
	}
	type result struct {
		Engine       string  `json:"engine"`
		Frames       int     `json:"frames"`
		Seconds      float64 `json:"seconds"`
		FramesPerSec float64 `json:"frames_per_s"`
		Delivered    uint64  `json:"delivered"`
	}
	var results []result
	rx := func() (uint64, error) { return rxPackets(ctx, topo) }

	// sendmmsg from a packet socket: the frames differ per client in the
	// generator, so build each one.
	var conn *rawio.Conn
	if err := netns.Do(topo.GenNS, func() (err error) { conn, err = rawio.Open(topo.GenIface, &rawio.Config{Batch: *batch}); return err }); err != nil {
		return fmt.Errorf("txtest: %w", err)
	}
	defer conn.Close()
	bufs := make([][]byte, *batch)
	for i := range bufs {
		bufs[i] = make([]byte, frame.MaxLen)
	}
	out := make([][]byte, *batch)
	before, err := rx()
	if err != nil {
		return err
	}
	start := time.Now()
	sent := 0
	for sent < *frames && ctx.Err() == nil {
		k := min(*batch, *frames-sent)
		for i := 0; i < k; i++ {
			mac := [6]byte{0x06, 0, byte(sent >> 24), byte(sent >> 16), byte(sent >> 8), byte(sent + i)}
			m.SrcMAC, m.CHAddr, m.XID = mac, mac, uint32(sent+i)
			l, _ := frame.Build(bufs[i], &m)
			out[i] = bufs[i][:l]
		}
		got, err := conn.Send(out[:k])
		if err != nil {
			return fmt.Errorf("txtest: %w", err)
		}
		sent += got
	}
	el := time.Since(start)
	after, _ := rx()
	results = append(results, result{"sendmmsg (AF_PACKET)", sent, el.Seconds(), float64(sent) / el.Seconds(), after - before})

	// BPF_PROG_TEST_RUN live frames: the kernel repeats the template and
	// xdp_flood stamps a fresh MAC and xid on each copy.
	objs, err := xdpecho.Load(xdpecho.Config{})
	if err != nil {
		return fmt.Errorf("txtest: %w", err)
	}
	defer objs.Close()
	before, _ = rx()
	start = time.Now()
	if err := netns.Do(topo.GenNS, func() error {
		ifi, err := net.InterfaceByName(topo.GenIface)
		if err != nil {
			return err
		}
		return objs.Flood(tmpl[:n], ifi.Index, uint32(*frames), uint32(*batch))
	}); err != nil {
		return fmt.Errorf("txtest: %w", err)
	}
	el = time.Since(start)
	after, _ = rx()
	results = append(results, result{"BPF_PROG_TEST_RUN live frames", *frames, el.Seconds(), float64(*frames) / el.Seconds(), after - before})

	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// rxPackets reads srv0's receive counters (XDP-dropped frames included).
func rxPackets(ctx context.Context, topo *netns.Topology) (uint64, error) {
	out, err := netns.Command(ctx, topo.SrvNS, "ip", "-j", "-s", "link", "show", topo.SrvIface).Output()
	if err != nil {
		return 0, fmt.Errorf("txtest: read %s counters: %w", topo.SrvIface, err)
	}
	var links []struct {
		Stats64 struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("txtest: parse ip -j output: %v", err)
	}
	return links[0].Stats64.RX.Packets, nil
}
