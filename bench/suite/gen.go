package suite

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/report"
)

// Generator drives the suite with xdhcp-bench run, started as its own
// process in the generator namespace so its CPU time is measured apart.
type Generator struct {
	Binary string // the xdhcp-bench executable
	// IO is the generator's packet I/O (xdhcp-bench run --io): recvmmsg,
	// ring or afxdp; "" is xdhcp-bench's default. With afxdp the
	// generator's own XDP program holds the generator interface.
	IO string
	// Idle is how the generator waits with nothing due (xdhcp-bench run
	// --idle): sleep or poll; "" is xdhcp-bench's default.
	Idle       string
	Clients    map[string]int // per scenario; defaults below
	Timeout    time.Duration  // per attempt; default 1s
	LegitRate  float64        // flood: legitimate DORA rate; default 200
	ScenarioOf []string       // scenarios to run; default dora, renew, mix, flood
	// Direct sends renew and mix traffic straight from the clients
	// instead of through a relay. Unicast replies to thousands of client
	// addresses then need as many ARP entries in the server namespace,
	// and the kernel's neighbour table limit (gc_thresh3, 1024 by
	// default) is host-wide; relayed traffic needs one entry, and is what
	// an ISP edge server sees.
	Direct bool
}

var defaultClients = map[string]int{"dora": 60000, "renew": 2000, "mix": 4000, "flood": 1000, "probe": 10}

// maxRenewClients bounds the renewing clients to what the pool holds
// (65,024 addresses), since each is bound before the step.
const maxRenewClients = 60000

// ScenarioRenewCached is the renew scenario with the server's lease cache
// on (servers.LeaseCachePercent): the clients renew within seconds of
// being bound, so a server that has a cache answers from it and writes
// nothing. The suite runs it only for servers that have one
// (servers.Server.LeaseCache), and every other scenario with the cache
// off.
const ScenarioRenewCached = "renew-cached"

// renewLatency is the latency the renew scenario's client count allows
// for: at rate r it renews max(2,000, r × renewLatency) clients (mix:
// max(4,000, r × renewLatency), half renewing, half doing DORA), so a
// fast server's latency under load does not cap its rate (by Little's
// law) while a slow one's warm-up, which binds every client first, stays
// short. At 100 ms the generator ran out of idle clients near
// saturation (49,210 starts skipped at 160,000/s in the 0640Z run, where
// latency tails reached 65-80 ms); 250 ms leaves room for the tail.
const renewLatency = 250 * time.Millisecond

// Name implements Driver.
func (Generator) Name() string { return "xdhcp-bench" }

// Scenarios implements Driver.
func (g Generator) Scenarios() []string {
	if len(g.ScenarioOf) > 0 {
		return g.ScenarioOf
	}
	return []string{"dora", "renew", ScenarioRenewCached, "mix", "flood"}
}

// Step implements Driver.
func (g Generator) Step(ctx context.Context, req StepRequest) (Step, error) {
	topo, scenario, rate, d := req.Topo, req.Scenario, req.Rate, req.Duration
	if scenario == ScenarioRenewCached {
		scenario = "renew" // the same exchanges; the server's configuration differs
	}
	clients := defaultClients[scenario]
	if scenario == "renew" || scenario == "mix" {
		// mix: half the clients renew and half do DORA, each at half the rate
		clients = min(max(clients, int(float64(rate)*renewLatency.Seconds())), maxRenewClients)
	}
	if n, ok := g.Clients[scenario]; ok {
		clients = n
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	legit := g.LegitRate
	if legit <= 0 {
		legit = 200
	}
	scen := scenario
	if scenario == "probe" {
		scen, timeout = "dora", 300*time.Millisecond
	}
	args := []string{"run", "--iface", topo.GenIface, "--scenario", scen, "--clients", strconv.Itoa(clients),
		"--rate", strconv.Itoa(rate), "--duration", d.String(), "--timeout", timeout.String(),
		"--legit-rate", strconv.FormatFloat(legit, 'f', -1, 64), "--json", "--progress", "off", "--phase-marks"}
	if g.IO != "" {
		args = append(args, "--io", g.IO)
	}
	if g.Idle != "" {
		args = append(args, "--idle", g.Idle)
	}
	if !g.Direct && (scenario == "renew" || scenario == "mix") {
		targets := topo.SrvAddr.String()
		if topo.PeerAddr.IsValid() {
			targets += "," + topo.PeerAddr.String()
		}
		args = append(args, "--relay", topo.GenAddr.String(), "--server", targets)
	}
	cmd := netns.Command(ctx, topo.GenNS, g.Binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return Step{}, fmt.Errorf("xdhcp-bench stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return Step{}, fmt.Errorf("start xdhcp-bench: %w", err)
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		if phase, ok := strings.CutPrefix(line, PhaseMark); ok {
			if req.Mark != nil {
				req.Mark(phase)
			}
			continue
		}
		stderr.WriteString(line + "\n")
	}
	if err := cmd.Wait(); err != nil {
		return Step{}, fmt.Errorf("xdhcp-bench %v: %w: %s", args, err, stderr.String())
	}
	var reps []report.Report
	if err := json.Unmarshal(stdout.Bytes(), &reps); err != nil || len(reps) != 1 {
		return Step{}, fmt.Errorf("xdhcp-bench output: %v (%d reports): %s", err, len(reps), stdout.String())
	}
	st := stepFromReport(reps[0], rate, scenario)
	if ps := cmd.ProcessState; ps != nil {
		st.GenCPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	return st, nil
}

// stepFromReport is the suite's step for the generator's report of one
// run at rate: the scenario's primary kind, with what the note column
// should say (skipped starts, replies lost at the generator, a flood's
// legitimate clients, a mix's two halves).
func stepFromReport(r report.Report, rate int, scenario string) Step {
	k := r.PrimaryKind()
	st := Step{
		Offered: float64(rate), Completed: k.CompletedPerS, DropRatio: k.DropRatio,
		P50: us(k.P50us), P90: us(k.P90us), P99: us(k.P99us), Max: us(k.MaxUs),
		NAKs: int64(k.NAKs), Dups: int64(r.DupAddresses),
	}
	var notes []string
	if r.Skipped > 0 {
		notes = append(notes, fmt.Sprintf("%d starts skipped: no free client", r.Skipped))
	}
	if r.RxLost > 0 {
		// These count as the server's drops but were the generator's.
		notes = append(notes, fmt.Sprintf("%d replies lost in the generator's socket", r.RxLost))
	}
	st.Extra = strings.Join(notes, "; ")
	switch scenario {
	case "flood":
		// The sweep is over the flood rate; what counts is the
		// legitimate clients' success inside it.
		for _, fk := range r.Kinds {
			if fk.Kind == "flood" {
				st.Completed = fk.OfferedPerS
				st.Extra = strings.TrimSpace(fmt.Sprintf("flood answered %.1f%%; legit DORA %d/%d done. %s", 100*(1-fk.DropRatio), k.Completed, k.Started, st.Extra))
			}
		}
	case "mix":
		for _, mk := range r.Kinds {
			if mk.Kind == "renew" {
				st.Completed += mk.CompletedPerS
				st.DropRatio = max(st.DropRatio, mk.DropRatio)
				st.Extra = strings.TrimSpace(fmt.Sprintf("dora %.0f/s + renew %.0f/s. %s", k.CompletedPerS, mk.CompletedPerS, st.Extra))
			}
		}
	}
	return st
}

func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
