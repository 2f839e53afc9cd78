package loadgen

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/frame"
	"github.com/xdhcp/xdhcp/bench/responder"
	"github.com/xdhcp/xdhcp/bench/stats"
)

// fakeServer is an in-memory PacketIO whose far end is responder.Reply,
// with hooks to drop, NAK or misbehave.
type fakeServer struct {
	t       *testing.T
	cfg     responder.Config
	queue   [][]byte
	seen    int
	drop    func(n int, m *frame.Message) bool // drop the n-th request
	mutate  func(rep *frame.Message)           // rewrite a reply
	checkRq func(m *frame.Message)             // inspect each request
	types   map[uint8]int
}

func newFake(t *testing.T) *fakeServer {
	return &fakeServer{t: t, types: map[uint8]int{}, cfg: responder.Config{
		ServerIP: netip.MustParseAddr("10.99.0.1"), ServerMAC: [6]byte{2, 0xaa, 0, 0, 0, 1},
		Pool: netip.MustParsePrefix("10.64.0.0/10"), LeaseTime: 3600,
	}}
}

func (f *fakeServer) HardwareAddr() [6]byte { return [6]byte{2, 0xbb, 0, 0, 0, 2} }
func (f *fakeServer) BatchSize() int        { return 16 }

func (f *fakeServer) Send(frames [][]byte) (int, error) {
	for _, b := range frames {
		var m frame.Message
		if err := frame.Parse(b, &m); err != nil {
			continue // ARP and the like
		}
		f.types[m.Type]++
		if f.checkRq != nil {
			f.checkRq(&m)
		}
		f.seen++
		if f.drop != nil && f.drop(f.seen, &m) {
			continue
		}
		out := make([]byte, frame.MaxLen)
		n := responder.Reply(&f.cfg, &m, out)
		if n == 0 {
			continue
		}
		if f.mutate != nil {
			var rep frame.Message
			if err := frame.Parse(out[:n], &rep); err != nil {
				f.t.Fatal(err)
			}
			f.mutate(&rep)
			n, _ = frame.Build(out, &rep)
		}
		f.queue = append(f.queue, out[:n])
	}
	return len(frames), nil
}

func (f *fakeServer) Receive(timeout time.Duration, fn func([]byte)) (int, error) {
	if len(f.queue) == 0 && timeout > 0 {
		time.Sleep(min(timeout, 200*time.Microsecond))
	}
	q := f.queue
	f.queue = nil
	for _, b := range q {
		fn(b)
	}
	return len(q), nil
}

func run(t *testing.T, f *fakeServer, cfg Config) *Result {
	t.Helper()
	if cfg.Duration == 0 {
		cfg.Duration = 150 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 300 * time.Millisecond // generous: the fake answers at once, but CI machines stall
	}
	res, err := Run(context.Background(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		setup func(f *fakeServer)
		check func(t *testing.T, r *Result, f *fakeServer)
	}{
		{
			name: "dora completes without loss",
			cfg:  Config{Clients: 100},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				d := r.Stats.Kinds[stats.DORA]
				if d.Completed == 0 || d.Timeouts != 0 || d.Latency.Count() != d.Completed || r.Stats.DupAddresses != 0 {
					t.Errorf("dora %+v dups %d", d, r.Stats.DupAddresses)
				}
				if d.Started != d.Completed+uint64(r.Inflight) {
					t.Errorf("started %d, completed %d, in flight %d", d.Started, d.Completed, r.Inflight)
				}
			},
		},
		{
			name: "rate bounds starts",
			cfg:  Config{Clients: 1000, Rate: 2000, Duration: 300 * time.Millisecond},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if got := r.Offered(stats.DORA); got < 1000 || got > 2300 {
					t.Errorf("offered %.0f/s, want about 2000", got)
				}
			},
		},
		{
			name: "waiting in poll holds the rate too",
			cfg:  Config{Clients: 1000, Rate: 2000, Idle: IdlePoll, Duration: 300 * time.Millisecond},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				d := r.Stats.Kinds[stats.DORA]
				if got := r.Offered(stats.DORA); got < 1000 || got > 2300 || d.Timeouts != 0 {
					t.Errorf("offered %.0f/s, %d timeouts; want about 2000, none", got, d.Timeouts)
				}
			},
		},
		{
			name: "a coarse tick releases starts in bursts at the same rate",
			cfg:  Config{Clients: 1000, Rate: 2000, Tick: 50 * time.Millisecond, Duration: 300 * time.Millisecond},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if got := r.Offered(stats.DORA); got < 1000 || got > 2300 {
					t.Errorf("offered %.0f/s, want about 2000", got)
				}
			},
		},
		{
			name:  "lost first attempts are retried",
			cfg:   Config{Clients: 50, Retries: 2, Timeout: 20 * time.Millisecond},
			setup: func(f *fakeServer) { f.drop = func(n int, _ *frame.Message) bool { return n%2 == 1 } },
			check: func(t *testing.T, r *Result, f *fakeServer) {
				d := r.Stats.Kinds[stats.DORA]
				if d.Retries == 0 || d.Completed == 0 {
					t.Errorf("dora %+v", d)
				}
			},
		},
		{
			name:  "silent server times out every exchange",
			cfg:   Config{Clients: 50, Retries: 1, Timeout: 20 * time.Millisecond},
			setup: func(f *fakeServer) { f.drop = func(int, *frame.Message) bool { return true } },
			check: func(t *testing.T, r *Result, f *fakeServer) {
				d := r.Stats.Kinds[stats.DORA]
				if d.Completed != 0 || d.Timeouts != d.Started || d.Retries != d.Started || r.DropRatio(stats.DORA) != 1 {
					t.Errorf("dora %+v", d)
				}
			},
		},
		{
			name: "NAKs are counted",
			cfg:  Config{Clients: 50},
			setup: func(f *fakeServer) {
				f.mutate = func(rep *frame.Message) {
					if rep.Type == frame.Ack {
						rep.Type = frame.Nak
					}
				}
			},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				d := r.Stats.Kinds[stats.DORA]
				if d.NAKs == 0 || d.Completed != 0 {
					t.Errorf("dora %+v", d)
				}
			},
		},
		{
			name:  "duplicate addresses are detected",
			cfg:   Config{Clients: 50},
			setup: func(f *fakeServer) { f.mutate = func(rep *frame.Message) { rep.Yiaddr = [4]byte{10, 64, 0, 9} } },
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if r.Stats.DupAddresses == 0 {
					t.Error("no duplicates counted")
				}
			},
		},
		{
			name: "renew warms up then renews by unicast",
			cfg:  Config{Scenario: ScenarioRenew, Clients: 64},
			setup: func(f *fakeServer) {
				f.checkRq = func(m *frame.Message) {
					if m.Ciaddr != ([4]byte{}) && (m.DstIP != [4]byte{10, 99, 0, 1} || m.DstMAC != f.cfg.ServerMAC || m.SrcIP != m.Ciaddr) {
						t.Errorf("renew not unicast to the server: %+v", m)
					}
				}
			},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if r.Stats.Kinds[stats.DORA].Started != 0 || r.Stats.Kinds[stats.Renew].Completed == 0 || r.Warmup == 0 {
					t.Errorf("kinds %+v warmup %v", r.Stats.Kinds, r.Warmup)
				}
			},
		},
		{
			// Every client's first renewal is lost; each stays bound
			// and its later renewals complete.
			name: "a client whose renewal times out renews again",
			cfg:  Config{Scenario: ScenarioRenew, Clients: 32, Timeout: 20 * time.Millisecond},
			setup: func(f *fakeServer) {
				renewals := 0
				f.drop = func(_ int, m *frame.Message) bool {
					if m.Ciaddr == ([4]byte{}) {
						return false // the warm-up's DORA
					}
					renewals++
					return renewals <= 32
				}
			},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				n := r.Stats.Kinds[stats.Renew]
				if n.Timeouts != 32 || n.Completed == 0 {
					t.Errorf("renew %+v: want 32 timeouts, then renewals completing", n)
				}
			},
		},
		{
			name: "rebind broadcasts",
			cfg:  Config{Scenario: ScenarioRebind, Clients: 32},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if r.Stats.Kinds[stats.Rebind].Completed == 0 || r.Primary() != stats.Rebind {
					t.Errorf("kinds %+v", r.Stats.Kinds)
				}
			},
		},
		{
			name: "mix runs both kinds",
			cfg:  Config{Scenario: ScenarioMix, Clients: 100, Rate: 2000},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				d, n := r.Stats.Kinds[stats.DORA].Completed, r.Stats.Kinds[stats.Renew].Completed
				if d == 0 || n == 0 || d > 2*n+5 || n > 2*d+5 {
					t.Errorf("dora %d renew %d, want about equal", d, n)
				}
			},
		},
		{
			name: "flood with legitimate clients",
			cfg:  Config{Scenario: ScenarioFlood, Clients: 10, Rate: 5000, LegitRate: 200},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				fl, d := r.Stats.Kinds[stats.Flood], r.Stats.Kinds[stats.DORA]
				if fl.Started == 0 || fl.Completed != fl.Started || d.Completed == 0 {
					t.Errorf("flood %+v dora %+v", fl, d)
				}
			},
		},
		{
			name: "spoofed flood: each frame from its chaddr",
			cfg:  Config{Scenario: ScenarioFlood, Clients: 10, Rate: 5000, LegitRate: 200},
			setup: func(f *fakeServer) {
				f.checkRq = func(m *frame.Message) {
					if m.SrcMAC != m.CHAddr {
						t.Errorf("frame from %x with chaddr %x", m.SrcMAC, m.CHAddr)
					}
				}
			},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if r.Stats.Kinds[stats.Flood].Started == 0 {
					t.Error("no flood sent")
				}
			},
		},
		{
			name: "flood from one port, legitimate clients from their own MACs",
			cfg:  Config{Scenario: ScenarioFlood, Clients: 10, Rate: 5000, LegitRate: 200, FloodSource: FloodOnePort},
			setup: func(f *fakeServer) {
				f.checkRq = func(m *frame.Message) {
					flood := m.CHAddr[0] == 0x06 // flood chaddrs; legitimate ones start with 0x02
					if flood && m.SrcMAC != f.HardwareAddr() || !flood && m.SrcMAC != m.CHAddr {
						t.Errorf("frame from %x with chaddr %x (flood %v)", m.SrcMAC, m.CHAddr, flood)
					}
				}
			},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				fl, d := r.Stats.Kinds[stats.Flood], r.Stats.Kinds[stats.DORA]
				if fl.Started == 0 || d.Completed == 0 {
					t.Errorf("flood %+v dora %+v", fl, d)
				}
			},
		},
		{
			name: "release after ack",
			cfg:  Config{Clients: 20, Release: true},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if r.Stats.Kinds[stats.Release].Completed == 0 || f.types[frame.Release] == 0 {
					t.Errorf("releases %+v, seen %d", r.Stats.Kinds[stats.Release], f.types[frame.Release])
				}
			},
		},
		{
			name: "decline after ack",
			cfg:  Config{Clients: 20, Decline: true},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if f.types[frame.Decline] == 0 {
					t.Error("no DECLINE sent")
				}
			},
		},
		{
			name: "relayed clients with option 82 and client id",
			cfg: Config{Clients: 20, ClientID: true, Relay: netip.MustParseAddr("10.99.0.2"),
				Servers: []netip.Addr{netip.MustParseAddr("10.99.0.1")}, ServerMAC: [6]byte{2, 0xaa, 0, 0, 0, 1}},
			setup: func(f *fakeServer) {
				f.checkRq = func(m *frame.Message) {
					if m.Giaddr != [4]byte{10, 99, 0, 2} || len(m.CircuitID) != 4 || len(m.ClientID) != 7 || m.SrcPort != 67 || m.DstIP != [4]byte{10, 99, 0, 1} {
						t.Errorf("not relayed: %+v", m)
					}
				}
			},
			check: func(t *testing.T, r *Result, f *fakeServer) {
				if r.Stats.Kinds[stats.DORA].Completed == 0 {
					t.Errorf("dora %+v", r.Stats.Kinds[stats.DORA])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			tt.check(t, run(t, f, tt.cfg), f)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Scenario: "storm"},
		{Clients: 1},
		{Rate: -1},
		{Release: true, Decline: true},
		{Retries: 11},
		{Tick: -time.Microsecond},
		{Tick: 2 * time.Second},
		{Idle: "nap"},
		{Relay: netip.MustParseAddr("10.0.0.1")},
		{Scenario: ScenarioFlood, FloodSource: "everywhere"},
	} {
		if _, err := Run(context.Background(), newFake(t), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Run(%+v) err = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestCancelReturnsPartialResult(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, newFake(t), Config{Clients: 100, Duration: time.Hour, Timeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Elapsed > time.Second || res.Stats.Kinds[stats.DORA].Completed == 0 {
		t.Errorf("elapsed %v, dora %+v", res.Elapsed, res.Stats.Kinds[stats.DORA])
	}
}

func TestOnPhaseBracketsTheMeasuredWindow(t *testing.T) {
	f := newFake(t)
	var phases []string
	var doraAtMeasure uint64
	res := run(t, f, Config{Scenario: ScenarioRenew, Clients: 40, OnPhase: func(p string) {
		phases = append(phases, p)
		if p == "measure" {
			doraAtMeasure = uint64(f.types[frame.Request]) // warm-up REQUESTs already sent
		}
	}})
	if len(phases) != 2 || phases[0] != "measure" || phases[1] != "done" {
		t.Fatalf("phases %v, want [measure done]", phases)
	}
	if doraAtMeasure < 40 || res.Stats.Kinds[stats.Renew].Completed == 0 {
		t.Errorf("warm-up REQUESTs before measure: %d; renews %d", doraAtMeasure, res.Stats.Kinds[stats.Renew].Completed)
	}
}
