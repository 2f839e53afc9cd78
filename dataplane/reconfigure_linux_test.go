package dataplane

import (
	"testing"

	"github.com/xdhcp/xdhcp/internal/config"
)

// TestReconfigure changes the guards and the secs bypass of a running
// twin step by step, and checks each change on the next frame: a raised
// per-client limit lets a client that was dropped pass, relayed frames are
// source limited only while source-limit.relayed is on, the discover budget
// and the bypass take effect, an invalid config changes nothing and the
// tables keep their size.
func TestReconfigure(t *testing.T) {
	strict := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1}}
	forBothTwins(t, strict, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		client := frame{srcMAC: portA, payload: nthClient(0).bytes()}.bytes()
		circuit := func(i int) []byte {
			return frame{payload: nthClient(10+i, relayed(relayG, []byte("port-7"), dhcpDiscover)).bytes()}.bytes()
		}
		lenient := config.RateLimit{PerClientPPS: 1000, Burst: 2000}
		steps := []struct {
			name  string
			cfg   *config.Dataplane // applied before the frame; nil: none
			frame []byte
			want  Verdict
		}{
			{"client's first frame", nil, client, passOurs},
			{"client over its rate", nil, client, Verdict{Drop, ReasonRateLimit}},
			{"per-client limit raised: the client passes", &config.Dataplane{RateLimit: lenient}, client, passOurs},
			{"relayed, source-limit.relayed on", &config.Dataplane{RateLimit: lenient,
				SourceLimit: config.SourceLimit{PPS: 1, Burst: 1, Relayed: true}}, circuit(0), passOurs},
			{"same circuit, another client", nil, circuit(1), dropSourceLimit},
			{"source-limit.relayed off: the circuit passes", &config.Dataplane{RateLimit: lenient,
				SourceLimit: config.SourceLimit{PPS: 1, Burst: 1}}, circuit(2), passOurs},
			{"discover budget on", &config.Dataplane{RateLimit: lenient,
				DiscoverBudget: config.DiscoverBudget{PPS: 1, Burst: 1}}, dhcpFrame(nthClient(20)), passOurs},
			{"budget spent", nil, dhcpFrame(nthClient(21)), dropBudget},
			{"partner's bucket, secs 10", nil, partnerFrame(withSecs(10)), dropPartner},
			{"secs-bypass 5", &config.Dataplane{RateLimit: lenient, SecsBypass: 5}, partnerFrame(withSecs(10)), Verdict{Pass, ReasonSecsBypass}},
			{"invalid config: the budget is still off", &config.Dataplane{Mode: "turbo"}, dhcpFrame(nthClient(22)), passOurs},
			{"new table sizes: accepted, kept for a restart", &config.Dataplane{
				RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1, TableSize: 8}, SourceLimit: config.SourceLimit{TableSize: 8}}, client, Verdict{Drop, ReasonRateLimit}},
		}
		for _, s := range steps {
			if s.cfg != nil {
				err := tw.Reconfigure(*s.cfg)
				if s.cfg.Mode == "turbo" {
					if err == nil {
						t.Fatalf("%s: Reconfigure accepted mode turbo", s.name)
					}
				} else if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			if got := tw.run(t, s.frame); got != s.want {
				t.Fatalf("%s: %s, want %s", s.name, got, s.want)
			}
		}
		clients, sources := tableSizes(tw.policy)
		if clients != defaultTableSize || sources != defaultTableSize {
			t.Errorf("table sizes %d and %d after Reconfigure, want both kept at %d", clients, sources, defaultTableSize)
		}
	})
}

// tableSizes returns the sizes of a twin's per-client and per-source tables.
func tableSizes(p policy) (clients, sources uint32) {
	switch p := p.(type) {
	case *Dataplane:
		return p.objs.RatelimitMap.MaxEntries(), p.objs.SourceMap.MaxEntries()
	case *Filter:
		return uint32(p.clients.size), uint32(p.sources.size)
	}
	return 0, 0
}
