package dhcpclients

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// PerfOptions configures one perfdhcp run. perfdhcp acts as a relay: it
// sends from the interface's address, puts that address in giaddr, and
// the server answers it there on port 67, so the interface needs an
// address inside the scope under test.
type PerfOptions struct {
	Iface     string        // -l
	Rate      int           // -r: new exchanges per second; 0 leaves perfdhcp's default
	Clients   int           // -R: how many client MACs perfdhcp may use; 0 means one
	Exchanges int           // -n: stop after this many DISCOVERs
	Duration  time.Duration // -p: stop after this long
	DropTime  time.Duration // -d: an answer later than this is a drop; default 1s
	ExitWait  time.Duration // -W: after the last exchange, keep receiving this long
	Unique    bool          // -u: count addresses handed out twice
	Seed      int           // -s: repeatable client MACs when non-zero
}

// PerfExchange is perfdhcp's statistics for one exchange.
type PerfExchange struct {
	Sent, Received, Drops, Orphans, Rejected, NonUnique int
}

// PerfResult is a perfdhcp run's statistics.
type PerfResult struct {
	DiscoverOffer PerfExchange
	RequestAck    PerfExchange
	Output        string
}

// RunPerfdhcp runs perfdhcp in ns and parses its statistics. perfdhcp's
// own exit status says whether drops occurred; it is not treated as an
// error here: the caller judges the counts.
func RunPerfdhcp(ctx context.Context, ns *netns.NS, opt PerfOptions) (PerfResult, error) {
	args := []string{"-4", "-l", opt.Iface}
	if opt.Rate > 0 {
		args = append(args, "-r", strconv.Itoa(opt.Rate))
	}
	if opt.Clients > 0 {
		args = append(args, "-R", strconv.Itoa(opt.Clients))
	}
	if opt.Exchanges > 0 {
		args = append(args, "-n", strconv.Itoa(opt.Exchanges))
	}
	if opt.Duration > 0 {
		args = append(args, "-p", strconv.Itoa(int(opt.Duration.Seconds())))
	}
	if opt.DropTime > 0 {
		args = append(args, "-d", strconv.FormatFloat(opt.DropTime.Seconds(), 'f', 3, 64))
	}
	if opt.ExitWait > 0 {
		args = append(args, "-W", strconv.FormatInt(opt.ExitWait.Microseconds(), 10))
	}
	if opt.Unique {
		args = append(args, "-u")
	}
	if opt.Seed > 0 {
		args = append(args, "-s", strconv.Itoa(opt.Seed))
	}
	var out SyncBuffer
	cmd := ns.Command(ctx, "perfdhcp", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	res, err := parsePerf(out.String())
	if err != nil {
		return res, fmt.Errorf("perfdhcp %s: %w (exit: %v)\n%s", strings.Join(args, " "), err, runErr, out.String())
	}
	return res, nil
}

// parsePerf reads the "***Statistics for: X***" blocks of perfdhcp's report.
func parsePerf(text string) (PerfResult, error) {
	res := PerfResult{Output: text}
	var cur *PerfExchange
	found := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.Contains(line, "Statistics for: DISCOVER-OFFER"):
			cur, found = &res.DiscoverOffer, found+1
			continue
		case strings.Contains(line, "Statistics for: REQUEST-ACK"):
			cur, found = &res.RequestAck, found+1
			continue
		case strings.HasPrefix(line, "***"):
			cur = nil
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if cur == nil || !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			continue // ratios and delays
		}
		switch key {
		case "sent packets":
			cur.Sent = n
		case "received packets":
			cur.Received = n
		case "drops":
			cur.Drops = n
		case "orphans":
			cur.Orphans = n
		case "rejected leases":
			cur.Rejected = n
		case "non unique addresses":
			cur.NonUnique = n
		}
	}
	if found != 2 {
		return res, fmt.Errorf("no DISCOVER-OFFER and REQUEST-ACK statistics in the output")
	}
	return res, nil
}
