package dataplane

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
)

var (
	dropSourceLimit = Verdict{Drop, ReasonSourceLimit}
	dropBudget      = Verdict{Drop, ReasonDiscoverBudget}
	portA           = []byte{0x02, 0xa0, 0, 0, 0, 1} // an attacking port's Ethernet source
	relayG          = [4]byte{10, 9, 0, 1}
)

// nthClient is a DISCOVER from the i-th client of a random-chaddr flood,
// in one of our buckets at split 50.
func nthClient(i int, mods ...func(*msg)) msg {
	chaddr := keyWhere(1000*(i+1), func(b uint8) bool { return b < 128 })
	return newMsg(append([]func(*msg){withMAC(chaddr)}, mods...)...)
}

// relayed makes a message relayed by giaddr with option 82 data circuit
// (none when nil).
func relayed(giaddr [4]byte, circuit []byte, typ uint8) func(*msg) {
	return func(m *msg) {
		m.giaddr = giaddr
		o := [][]byte{msgType(typ)}
		if circuit != nil {
			o = append(o, opt(optRelayAgent, circuit...))
		}
		m.options = concat(append(o, endOpt)...)
	}
}

// sourceCases are floods from one source, each frame from a new client.
// With a source limit of burst 3, the fourth frame tells whether the
// source is limited: by default (limited) and with source-limit.relayed on
// (limitedRelayed).
func sourceCases() []struct {
	name                    string
	frame                   func(i int) []byte
	limited, limitedRelayed bool
} {
	circuit := []byte("\x01\x06port-7")
	long := bytes.Repeat([]byte{0x5c}, 255)
	return []struct {
		name                    string
		frame                   func(i int) []byte
		limited, limitedRelayed bool
	}{
		{"untagged", func(i int) []byte {
			return frame{srcMAC: portA, payload: nthClient(i).bytes()}.bytes()
		}, true, true},
		{"802.1Q", func(i int) []byte {
			return frame{srcMAC: portA, vlanTPIDs: []uint16{etherType8021Q}, vlanIDs: []uint16{7}, payload: nthClient(i).bytes()}.bytes()
		}, true, true},
		{"QinQ", func(i int) []byte {
			return frame{srcMAC: portA, vlanTPIDs: []uint16{etherType8021AD, etherType8021Q}, vlanIDs: []uint16{7, 9}, payload: nthClient(i).bytes()}.bytes()
		}, true, true},
		{"QinQ, priority bits differ", func(i int) []byte {
			pcp := uint16(i%8) << 13 // only the VLAN ID is the key
			return frame{srcMAC: portA, vlanTPIDs: []uint16{etherType8021AD, etherType8021Q}, vlanIDs: []uint16{7 | pcp, 9 | pcp}, payload: nthClient(i).bytes()}.bytes()
		}, true, true},
		{"direct renewals", func(i int) []byte {
			return frame{srcMAC: portA, payload: nthClient(i, withType(dhcpRequest), withCiaddr()).bytes()}.bytes()
		}, true, true},
		{"relayed with option 82", func(i int) []byte {
			return frame{srcMAC: mac(byte(i)), payload: nthClient(i, relayed(relayG, circuit, dhcpDiscover)).bytes()}.bytes()
		}, false, true},
		{"relayed with 255-byte option 82", func(i int) []byte {
			return frame{payload: nthClient(i, relayed(relayG, long, dhcpDiscover)).bytes()}.bytes()
		}, false, true},
		{"relayed without option 82", func(i int) []byte {
			return frame{payload: nthClient(i, relayed(relayG, nil, dhcpDiscover)).bytes()}.bytes()
		}, false, false},
		{"relayed with empty option 82", func(i int) []byte {
			return frame{payload: nthClient(i, relayed(relayG, []byte{}, dhcpDiscover)).bytes()}.bytes()
		}, false, false},
		{"partner's buckets are not charged", func(i int) []byte {
			return frame{srcMAC: portA, payload: newMsg(withMAC(partnerMAC), withSecs(uint16(i%2))).bytes()}.bytes()
		}, false, false},
	}
}

// TestSourceLimit floods from one source at a limit of 2 packets a second
// with a burst of 3.
// Relayed frames are limited only with source-limit.relayed on.
func TestSourceLimit(t *testing.T) {
	for _, c := range sourceCases() {
		for _, relayedOn := range []bool{false, true} {
			limited := c.limited
			if relayedOn {
				limited = c.limitedRelayed
			}
			t.Run(fmt.Sprintf("%s/relayed=%t", c.name, relayedOn), func(t *testing.T) {
				cfg := config.Dataplane{SourceLimit: config.SourceLimit{PPS: 2, Burst: 3, Relayed: relayedOn}}
				forBothTwins(t, cfg, func(t *testing.T, tw twin) {
					if err := tw.SetSplit(50, true); err != nil {
						t.Fatal(err)
					}
					for i := range 3 {
						if got := tw.run(t, c.frame(i)); got.Action != Pass && got != dropPartner {
							t.Fatalf("frame %d of the burst: %s, want it passed", i+1, got)
						}
					}
					got := tw.run(t, c.frame(3))
					if limited && got != dropSourceLimit {
						t.Fatalf("frame past the burst: %s, want %s", got, dropSourceLimit)
					}
					if !limited && got.Reason == ReasonSourceLimit {
						t.Fatalf("frame past the burst: %s, want no source limit", got)
					}
				})
			})
		}
	}
	t.Run("overflowing option 82", func(t *testing.T) {
		forBothTwins(t, config.Dataplane{SourceLimit: config.SourceLimit{PPS: 2, Burst: 3}}, func(t *testing.T, tw twin) {
			m := nthClient(1)
			m.giaddr = relayG
			m.options = concat(msgType(dhcpDiscover), []byte{optRelayAgent, 40, 1, 2, 3})
			if got := tw.run(t, frame{payload: m.bytes()}.bytes()); got != dropMalformed {
				t.Fatalf("%s, want %s", got, dropMalformed)
			}
		})
	})
}

// TestSourceLimitKeys exhausts one source of each kind and checks that
// the sources next to it still pass and the source itself recovers.
func TestSourceLimitKeys(t *testing.T) {
	qinq := func(src []byte, outer, inner uint16) []byte {
		return frame{srcMAC: src, vlanTPIDs: []uint16{etherType8021AD, etherType8021Q}, vlanIDs: []uint16{outer, inner}, payload: nthClient(1).bytes()}.bytes()
	}
	rel := func(g [4]byte, circuit string) []byte {
		return frame{payload: nthClient(1, relayed(g, []byte(circuit), dhcpDiscover)).bytes()}.bytes()
	}
	portB := []byte{0x02, 0xa0, 0, 0, 0, 2}
	cases := []struct {
		name      string
		flood     []byte
		neighbors map[string][]byte
	}{
		{"QinQ port", qinq(portA, 7, 9), map[string][]byte{
			"other inner VLAN": qinq(portA, 7, 10),
			"other outer VLAN": qinq(portA, 8, 9),
			"other MAC":        qinq(portB, 7, 9),
			"untagged":         frame{srcMAC: portA, payload: nthClient(1).bytes()}.bytes(),
		}},
		{"relay circuit", rel(relayG, "port-7"), map[string][]byte{
			"other circuit": rel(relayG, "port-8"),
			"other relay":   rel([4]byte{10, 9, 0, 2}, "port-7"),
			"direct":        frame{srcMAC: portA, payload: nthClient(1).bytes()}.bytes(),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Dataplane{SourceLimit: config.SourceLimit{PPS: 2, Burst: 1, Relayed: true}}
			forBothTwins(t, cfg, func(t *testing.T, tw twin) {
				if got := tw.run(t, c.flood); got != passOurs {
					t.Fatalf("first frame: %s, want %s", got, passOurs)
				}
				if got := tw.run(t, c.flood); got != dropSourceLimit {
					t.Fatalf("second frame: %s, want %s", got, dropSourceLimit)
				}
				for name, fr := range c.neighbors {
					if got := tw.run(t, fr); got != passOurs {
						t.Errorf("%s: %s, want %s", name, got, passOurs)
					}
				}
				// One token comes back every 500ms.
				time.Sleep(600 * time.Millisecond)
				if got := tw.run(t, c.flood); got != passOurs {
					t.Fatalf("after 600ms: %s, want %s", got, passOurs)
				}
				if got := tw.run(t, c.flood); got != dropSourceLimit {
					t.Fatalf("again after 600ms: %s, want %s", got, dropSourceLimit)
				}
			})
		})
	}
}

// TestDiscoverBudget spends a budget of 2 DISCOVERs a second with a burst
// of 3, then checks what still passes and that the budget recovers.
func TestDiscoverBudget(t *testing.T) {
	cfg := config.Dataplane{DiscoverBudget: config.DiscoverBudget{PPS: 2, Burst: 3}}
	forBothTwins(t, cfg, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		disc := func(i int) []byte { return oursFrame(withMAC(keyWhere(100+i, func(b uint8) bool { return b < 128 }))) }
		for i := range 3 {
			if got := tw.run(t, disc(i)); got != passOurs {
				t.Fatalf("DISCOVER %d of the burst: %s, want %s", i+1, got, passOurs)
			}
		}
		bootp := newMsg(withMAC(ourMAC))
		bootp.cookie = false
		for _, c := range []struct {
			name  string
			frame []byte
			want  Verdict
		}{
			{"DISCOVER past the budget", disc(3), dropBudget},
			{"BOOTP request", frame{payload: bootp.bytes()}.bytes(), dropBudget},
			{"relayed DISCOVER", frame{payload: newMsg(withMAC(ourMAC), relayed(relayG, []byte("c"), dhcpDiscover)).bytes()}.bytes(), dropBudget},
			{"partner's DISCOVER", partnerFrame(), dropPartner},
			{"REQUEST selecting", oursFrame(withType(dhcpRequest, serverID, requestedIP)), passOurs},
			{"REQUEST init-reboot", oursFrame(withType(dhcpRequest, requestedIP)), passOurs},
			{"REQUEST renewing", oursFrame(withType(dhcpRequest), withCiaddr()), passUnbalanced},
			{"DECLINE", oursFrame(withType(4, serverID, requestedIP)), passUnbalanced},
			{"RELEASE", oursFrame(withType(7, serverID), withCiaddr()), passUnbalanced},
			{"INFORM", oursFrame(withType(8), withCiaddr()), passUnbalanced},
			{"overload, type unknown", oursFrame(withOptions(opt(optOverload, 3), endOpt)), Verdict{Pass, ReasonOverload}},
		} {
			if got := tw.run(t, c.frame); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
		time.Sleep(600 * time.Millisecond)
		if got := tw.run(t, disc(4)); got != passOurs {
			t.Fatalf("after 600ms: %s, want %s", got, passOurs)
		}
		if got := tw.run(t, disc(5)); got != dropBudget {
			t.Fatalf("again after 600ms: %s, want %s", got, dropBudget)
		}
	})
}

// TestRetryLane spends a discover budget of 1 DISCOVER a second and checks
// that a refused client passes on its retransmission, once per refusal and
// within the lane's own budget, while clients that never ask twice (a flood
// that forges a new address a frame) do not; with retry-pps 0 nobody does.
func TestRetryLane(t *testing.T) {
	client := func(i int) []byte {
		return oursFrame(withMAC(keyWhere(300+i, func(b uint8) bool { return b < 128 })))
	}
	passRetry := Verdict{Pass, ReasonRetryLane}
	type step struct {
		name  string
		frame []byte
		want  Verdict
	}
	cases := []struct {
		name     string
		retryPPS uint32
		steps    []step
	}{
		{"lane on", 1, []step{
			{"first client, the budget's token", client(0), passOurs},
			{"second client, refused", client(1), dropBudget},
			{"second client asks again", client(1), passRetry},
			{"and again: its entry is spent", client(1), dropBudget},
			{"third client, refused", client(2), dropBudget},
			{"third client asks again, the lane's token is spent", client(2), dropBudget},
			{"a spoofed flood, one frame a client", client(3), dropBudget},
			{"", client(4), dropBudget},
			{"", client(5), dropBudget},
			{"REQUESTs never need the lane", oursFrame(withType(dhcpRequest, serverID, requestedIP)), passOurs},
		}},
		{"lane off", 0, []step{
			{"first client, the budget's token", client(0), passOurs},
			{"second client, refused", client(1), dropBudget},
			{"second client asks again, still refused", client(1), dropBudget},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Dataplane{DiscoverBudget: config.DiscoverBudget{PPS: 1, Burst: 1, RetryPPS: tc.retryPPS}}
			forBothTwins(t, cfg, func(t *testing.T, tw twin) {
				if err := tw.SetSplit(50, true); err != nil {
					t.Fatal(err)
				}
				for i, st := range tc.steps {
					if got := tw.run(t, st.frame); got != st.want {
						t.Fatalf("step %d (%s): %s, want %s", i+1, st.name, got, st.want)
					}
				}
				if tc.retryPPS == 0 {
					return
				}
				// A second on, the lane has a token again: the third
				// client, refused before, gets it.
				time.Sleep(1100 * time.Millisecond)
				if got := tw.run(t, client(6)); got != passOurs {
					t.Fatalf("a second later, a new client: %s, want %s", got, passOurs)
				}
				if got := tw.run(t, client(2)); got != passRetry {
					t.Fatalf("a second later, the third client again: %s, want %s", got, passRetry)
				}
			})
		})
	}
}

// TestGuardsInOrder checks that a frame dropped by one guard uses no
// tokens of the guards after it: the per-client limit, then the source
// limit, then the discover budget.
func TestGuardsInOrder(t *testing.T) {
	cfg := config.Dataplane{
		RateLimit:      config.RateLimit{PerClientPPS: 1, Burst: 1},
		SourceLimit:    config.SourceLimit{PPS: 1, Burst: 2},
		DiscoverBudget: config.DiscoverBudget{PPS: 1, Burst: 3},
	}
	forBothTwins(t, cfg, func(t *testing.T, tw twin) {
		fromA := func(i int) []byte { return frame{srcMAC: portA, payload: nthClient(i).bytes()}.bytes() }
		steps := []struct {
			name  string
			frame []byte
			want  Verdict
		}{
			{"A, client 0", fromA(0), passOurs},
			{"A, client 0 again: per-client limit", fromA(0), Verdict{Drop, ReasonRateLimit}},
			{"A, client 1", fromA(1), passOurs},
			{"A, client 2: source limit", fromA(2), dropSourceLimit},
			{"A, client 3: source limit", fromA(3), dropSourceLimit},
			{"B, client 4: the budget's last token", frame{srcMAC: mac(0xb), payload: nthClient(4).bytes()}.bytes(), passOurs},
			{"C, client 5: budget spent", frame{srcMAC: mac(0xc), payload: nthClient(5).bytes()}.bytes(), dropBudget},
		}
		for _, s := range steps {
			if got := tw.run(t, s.frame); got != s.want {
				t.Fatalf("%s: %s, want %s", s.name, got, s.want)
			}
		}
	})
}
