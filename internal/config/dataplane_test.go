package config

import (
	"strings"
	"testing"
)

// TestFloodGuardDefaults checks the source limit and the discover budget
// as written, left out, and turned off.
func TestFloodGuardDefaults(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		source   SourceLimit
		discover DiscoverBudget
	}{
		{"absent", "", SourceLimit{PPS: 20, Burst: 40, TableSize: 65536}, DiscoverBudget{}},
		{"source off", "  source-limit: {pps: 0}\n", SourceLimit{TableSize: 65536}, DiscoverBudget{}},
		{"source rate only", "  source-limit: {pps: 5}\n", SourceLimit{PPS: 5, Burst: 10, TableSize: 65536}, DiscoverBudget{}},
		{"source all", "  source-limit: {pps: 5, burst: 7, table-size: 100}\n", SourceLimit{PPS: 5, Burst: 7, TableSize: 100}, DiscoverBudget{}},
		{"source relayed", "  source-limit: {relayed: true}\n", SourceLimit{PPS: 20, Burst: 40, TableSize: 65536, Relayed: true}, DiscoverBudget{}},
		{"source relayed off", "  source-limit: {pps: 5, relayed: false}\n", SourceLimit{PPS: 5, Burst: 10, TableSize: 65536}, DiscoverBudget{}},
		{"budget rate only", "  discover-budget: {pps: 5000}\n", SourceLimit{PPS: 20, Burst: 40, TableSize: 65536}, DiscoverBudget{PPS: 5000, Burst: 500, RetryPPS: 5000}},
		{"budget small rate", "  discover-budget: {pps: 3}\n", SourceLimit{PPS: 20, Burst: 40, TableSize: 65536}, DiscoverBudget{PPS: 3, Burst: 1, RetryPPS: 3}},
		{"budget both", "  discover-budget: {pps: 5000, burst: 64}\n", SourceLimit{PPS: 20, Burst: 40, TableSize: 65536}, DiscoverBudget{PPS: 5000, Burst: 64, RetryPPS: 5000}},
		{"budget retry lane rate", "  discover-budget: {pps: 5000, retry-pps: 200}\n", SourceLimit{PPS: 20, Burst: 40, TableSize: 65536}, DiscoverBudget{PPS: 5000, Burst: 500, RetryPPS: 200}},
		{"budget retry lane off", "  discover-budget: {pps: 5000, retry-pps: 0}\n", SourceLimit{PPS: 20, Burst: 40, TableSize: 65536}, DiscoverBudget{PPS: 5000, Burst: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := minimal
			if tt.yaml != "" {
				doc += "dataplane:\n" + tt.yaml
			}
			cfg := mustParse(t, doc)
			if got := cfg.Dataplane.SourceLimit; got != tt.source {
				t.Errorf("source-limit = %+v, want %+v", got, tt.source)
			}
			if got := cfg.Dataplane.DiscoverBudget; got != tt.discover {
				t.Errorf("discover-budget = %+v, want %+v", got, tt.discover)
			}
		})
	}
}

// TestFloodGuardErrors checks that a bad value names its field.
func TestFloodGuardErrors(t *testing.T) {
	tests := []struct {
		yaml string
		path string
	}{
		{"  source-limit: {pps: -1}\n", "dataplane.source-limit.pps"},
		{"  source-limit: {pps: 2000000}\n", "dataplane.source-limit.pps"},
		{"  source-limit: {burst: 0}\n", "dataplane.source-limit.burst"},
		{"  source-limit: {table-size: 0}\n", "dataplane.source-limit.table-size"},
		{"  source-limit: {rate: 5}\n", "unknown key \"rate\" in dataplane.source-limit"},
		{"  source-limit: {relayed: yes}\n", "dataplane.source-limit.relayed"},
		{"  source-limit: {relayed: 1}\n", "dataplane.source-limit.relayed"},
		{"  rate-limit: {relayed: true}\n", "unknown key \"relayed\" in dataplane.rate-limit"},
		{"  discover-budget: {pps: x}\n", "dataplane.discover-budget.pps"},
		{"  discover-budget: {burst: 0}\n", "dataplane.discover-budget.burst"},
		{"  discover-budget: {table-size: 5}\n", "unknown key \"table-size\" in dataplane.discover-budget"},
		{"  discover-budget: {pps: 10, retry-pps: -1}\n", "dataplane.discover-budget.retry-pps"},
		{"  discover-budget: {pps: 10, retry-pps: many}\n", "dataplane.discover-budget.retry-pps"},
		{"  discover-budget: {retry-pps: 100}\n", "dataplane.discover-budget.retry-pps"},
		{"  afxdp: yes\n", "dataplane.afxdp"},
		{"  afxdp: always\n", "dataplane.afxdp"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(minimal + "dataplane:\n" + tt.yaml))
		if err == nil {
			t.Errorf("%s: parsed", strings.TrimSpace(tt.yaml))
			continue
		}
		if !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: error %q does not name %s", strings.TrimSpace(tt.yaml), err, tt.path)
		}
	}
}

// TestAFXDPMode checks dataplane.afxdp's choices; unset stays "" (auto).
func TestAFXDPMode(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want AFXDPMode
	}{
		{"", ""},
		{"dataplane:\n  afxdp: auto\n", AFXDPAuto},
		{"dataplane:\n  afxdp: \"on\"\n", AFXDPOn},
		{"dataplane:\n  afxdp: off\n", AFXDPOff},
	} {
		cfg, err := Parse([]byte(minimal + tt.yaml))
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if cfg.Dataplane.AFXDP != tt.want {
			t.Errorf("%q: afxdp = %q, want %q", tt.yaml, cfg.Dataplane.AFXDP, tt.want)
		}
	}
}
