//go:build linux

package wire

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// updateCaptureEnv, when set to 1, makes TestCaptureISCPair rewrite
// testdata/isc-dhcpd-4.4-pair.txt with the stream it captured.
const updateCaptureEnv = "XDHCP_UPDATE_FAILOVER_CAPTURE"

// iscConf is one dhcpd's configuration for the capture pair. Split 100 (not
// 128) makes the hash-bucket-assignment bitmap show ISC's bit order.
func iscConf(primary bool) string {
	role, self, peer, extra := "secondary", "192.0.2.2", "192.0.2.1", ""
	if primary {
		role, self, peer, extra = "primary", "192.0.2.1", "192.0.2.2", "mclt 60; split 100;"
	}
	return fmt.Sprintf(`authoritative;
default-lease-time 120;
max-lease-time 120;
failover peer "edge-pair" {
  %s; address %s; port 647; peer address %s; peer port 647;
  max-response-delay 6; max-unacked-updates 10; load balance max seconds 3;
  %s
}
subnet 192.0.2.0 netmask 255.255.255.0 {
  pool { failover peer "edge-pair"; range 192.0.2.100 192.0.2.115; }
}
`, role, self, peer, extra)
}

// TestCaptureISCPair runs two ISC dhcpd 4.4 servers as a failover pair in
// namespaces of its own, lets perfdhcp take leases from them, captures the
// TCP 647 stream and checks that every message parses and re-encodes byte
// for byte.
func TestCaptureISCPair(t *testing.T) {
	netns.RequireRoot(t)
	if err := dhcpclients.CheckTools("dhcpd", "tshark", "perfdhcp"); err != nil {
		t.Skipf("capture needs ISC dhcpd, tshark and perfdhcp: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pri, sec, cli := netns.New(t, "fowp"), netns.New(t, "fows"), netns.New(t, "fowc")
	netns.VethPair(t, pri, "fo0", cli, "brp")
	netns.VethPair(t, sec, "fo0", cli, "brs")
	netns.VethPair(t, cli, "brc", cli, "c0")
	netns.Bridge(t, cli, "br0", "brp", "brs", "brc")
	for _, step := range []struct {
		ns   *netns.NS
		cidr string
	}{{pri, "192.0.2.1/24"}, {sec, "192.0.2.2/24"}} {
		if err := step.ns.AddAddr("fo0", step.cidr); err != nil {
			t.Fatal(err)
		}
		if err := step.ns.LinkUp("fo0"); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.AddAddr("c0", "192.0.2.250/24"); err != nil { // perfdhcp acts as a relay from it
		t.Fatal(err)
	}
	for _, l := range []string{"brp", "brs", "brc", "c0"} {
		if err := cli.LinkUp(l); err != nil {
			t.Fatal(err)
		}
	}

	capture, err := dhcpclients.StartCapture(ctx, pri, "fo0", "tcp port 647", "tcp.len > 0",
		"tcp.stream", "ip.src", "tcp.seq_raw", "tcp.payload")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := func(ns *netns.NS, name string, primary bool) *netns.Proc {
		conf := filepath.Join(dir, name+".conf")
		leases := filepath.Join(dir, name+".leases")
		if err := os.WriteFile(conf, []byte(iscConf(primary)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(leases, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := ns.Command(context.Background(), "dhcpd", "-f", "-d", "-4", "-cf", conf, "-lf", leases,
			"-pf", filepath.Join(dir, name+".pid"), "fo0")
		logf, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logf.Close() })
		cmd.Stdout, cmd.Stderr = logf, logf
		p, err := ns.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pp := start(pri, "primary", true)
	sp := start(sec, "secondary", false)
	waitLog(t, ctx, filepath.Join(dir, "primary.log"), "Both servers normal")
	if _, err := dhcpclients.RunPerfdhcp(ctx, cli, dhcpclients.PerfOptions{
		Iface: "c0", Rate: 10, Clients: 1000, Exchanges: 12, Seed: 7, ExitWait: 2 * time.Second,
	}); err != nil {
		t.Fatalf("perfdhcp: %v", err)
	}
	time.Sleep(7 * time.Second) // at least one CONTACT each way (max-response-delay 6)
	_ = sp.Stop(5 * time.Second)
	_ = pp.Stop(5 * time.Second)
	rows, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := reassemble(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		t.Fatal("captured no failover messages")
	}
	checkVectors(t, msgs)
	if os.Getenv(updateCaptureEnv) == "1" {
		if err := writeVectors(filepath.Join("testdata", vectorFile), msgs); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d messages to testdata/%s", len(msgs), vectorFile)
	}
}

func waitLog(t *testing.T, ctx context.Context, path, want string) {
	t.Helper()
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never logged %q:\n%s", path, want, b)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reassemble turns tshark rows (stream, source address, raw sequence,
// payload hex) into messages, ordered by the capture row of the segment
// that carried each message's first byte.
func reassemble(rows [][]string) ([]capturedMessage, error) {
	type dirKey struct{ stream, src string }
	type seg struct {
		seq  uint64
		data []byte
		idx  int
	}
	segs := map[dirKey][]seg{}
	var order []dirKey
	for i, r := range rows {
		if len(r) < 4 {
			return nil, fmt.Errorf("tshark row %d has %d fields", i, len(r))
		}
		seq, err := strconv.ParseUint(r[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tshark row %d sequence %q: %w", i, r[2], err)
		}
		data, err := hex.DecodeString(strings.ReplaceAll(r[3], ":", ""))
		if err != nil {
			return nil, fmt.Errorf("tshark row %d payload: %w", i, err)
		}
		k := dirKey{r[0], r[1]}
		if _, ok := segs[k]; !ok {
			order = append(order, k)
		}
		segs[k] = append(segs[k], seg{seq, data, i})
	}
	var out []capturedMessage
	for _, k := range order {
		ss := segs[k]
		sort.SliceStable(ss, func(a, b int) bool { return ss[a].seq < ss[b].seq })
		var stream []byte
		var rowAt []int // capture row of each stream byte
		next := ss[0].seq
		for _, s := range ss {
			end := s.seq + uint64(len(s.data))
			if end <= next {
				continue // retransmission of bytes we have
			}
			if s.seq > next {
				return nil, fmt.Errorf("stream %s from %s: gap at sequence %d", k.stream, k.src, next)
			}
			for _, b := range s.data[next-s.seq:] {
				stream = append(stream, b)
				rowAt = append(rowAt, s.idx)
			}
			next = end
		}
		from := "S"
		if k.src == "192.0.2.1" {
			from = "P"
		}
		for off := 0; len(stream)-off >= 2; {
			n := int(stream[off])<<8 | int(stream[off+1])
			if n < HeaderLen || n > len(stream)-off {
				return nil, fmt.Errorf("stream %s from %s: bad frame length %d with %d bytes left", k.stream, k.src, n, len(stream)-off)
			}
			out = append(out, capturedMessage{From: from, row: rowAt[off], Bytes: append([]byte(nil), stream[off:off+n]...)})
			off += n
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].row < out[b].row })
	return out, nil
}
