package suite

import (
	"context"
	"fmt"

	"github.com/xdhcp/xdhcp/bench/perfdhcp"
)

// PerfDHCP drives the suite with ISC perfdhcp. It knows one scenario, dora.
type PerfDHCP struct {
	Clients int // -R; default 60000
}

// Name implements Driver.
func (PerfDHCP) Name() string { return "perfdhcp" }

// Scenarios implements Driver.
func (PerfDHCP) Scenarios() []string { return []string{"dora"} }

// Step implements Driver.
func (p PerfDHCP) Step(ctx context.Context, req StepRequest) (Step, error) {
	topo, scenario, rate, d := req.Topo, req.Scenario, req.Rate, req.Duration
	clients := p.Clients
	if clients <= 0 {
		clients = 60000
	}
	opts := perfdhcp.Options{Namespace: topo.GenNS, Iface: topo.GenIface, Rate: rate, Clients: clients, Period: d,
		Extra: []string{"-W", "300000"}}
	switch scenario {
	case "dora":
	case "probe":
		opts.Extra = append(opts.Extra, "-n", "3")
		opts.Clients = 3
	default:
		return Step{}, fmt.Errorf("perfdhcp driver: scenario %q not supported (only dora)", scenario)
	}
	res, _, err := perfdhcp.Run(ctx, opts)
	if err != nil {
		return Step{}, err
	}
	return Step{
		Offered: float64(rate), Completed: res.Rate, DropRatio: res.DropRatio(),
		// perfdhcp reports only min/avg/max per half-exchange; the
		// DORA average and max are the sums of the two halves.
		P50: res.DO.AvgDelay + res.RA.AvgDelay, Max: res.DO.MaxDelay + res.RA.MaxDelay,
		Dups: res.DO.NonUnique + res.RA.NonUnique, GenCPU: res.CPU.Seconds(),
		Extra: "latency: perfdhcp average (shown as p50), max is the sum of half-exchange maxima",
	}, nil
}
