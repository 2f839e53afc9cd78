package dataplane

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// With split 50 as primary, buckets 0..127 are ours.
var (
	ourMAC     = keyWhere(1, func(b uint8) bool { return b < 128 })
	partnerMAC = keyWhere(1, func(b uint8) bool { return b >= 128 })
)

func withMAC(m []byte) func(*msg) {
	return func(x *msg) { x.chaddr = m; x.hlen = uint8(len(m)) }
}
func withType(t uint8, more ...[]byte) func(*msg) {
	return func(x *msg) { x.options = concat(append([][]byte{msgType(t)}, append(more, endOpt)...)...) }
}
func withOptions(o ...[]byte) func(*msg) { return func(x *msg) { x.options = concat(o...) } }
func withSecs(s uint16) func(*msg)       { return func(x *msg) { x.secs = s } }
func withCiaddr() func(*msg)             { return func(x *msg) { x.ciaddr = [4]byte{10, 0, 0, 5} } }

var (
	serverID    = opt(optServerID, 10, 0, 0, 1)
	requestedIP = opt(optRequestedIP, 10, 0, 0, 5)
	partnerCID  = append([]byte{1}, keyWhere(7, func(b uint8) bool { return b >= 128 })...)
)

// cidWhere returns option 61 data of n bytes whose bucket satisfies want.
func cidWhere(n int, want func(uint8) bool) []byte {
	for i := 0; ; i++ {
		d := bytes.Repeat([]byte{0x5a}, n)
		d[0], d[n-1] = byte(i), byte(i>>8)
		if want(loadbalance.Hash(d)) {
			return d
		}
	}
}

func partnerFrame(mods ...func(*msg)) []byte {
	return dhcpFrame(newMsg(append([]func(*msg){withMAC(partnerMAC)}, mods...)...))
}
func oursFrame(mods ...func(*msg)) []byte {
	return dhcpFrame(newMsg(append([]func(*msg){withMAC(ourMAC)}, mods...)...))
}

type verdictCase struct {
	name  string
	frame []byte
	want  Verdict
}

var (
	passOurs       = Verdict{Pass, ReasonOurs}
	dropPartner    = Verdict{Drop, ReasonPartner}
	passUnbalanced = Verdict{Pass, ReasonUnbalanced}
	passNotDHCP    = Verdict{Pass, ReasonNotDHCP}
	dropMalformed  = Verdict{Drop, ReasonMalformed}
	passBypass     = Verdict{Pass, ReasonSecsBypass}
)

// balancedCases run with split 50 as primary and secs-bypass 3.
func balancedCases() []verdictCase {
	ours, partner := newMsg(withMAC(ourMAC)), newMsg(withMAC(partnerMAC))
	bootpPartner := partner
	bootpPartner.cookie = false
	bootpOurs := ours
	bootpOurs.cookie = false
	hugeCID := func(pred func(uint8) bool) []byte { return opt(optClientID, cidWhere(255, pred)...) }
	isOurs := func(b uint8) bool { return b < 128 }
	isPartner := func(b uint8) bool { return b >= 128 }
	pads := func(n int) []byte { return make([]byte, n) }
	return []verdictCase{
		// Message types.
		{"discover ours", oursFrame(), passOurs},
		{"discover partner", partnerFrame(), dropPartner},
		{"request selecting partner", partnerFrame(withType(dhcpRequest, serverID, requestedIP)), dropPartner},
		{"request selecting ours", oursFrame(withType(dhcpRequest, serverID, requestedIP)), passOurs},
		{"request init-reboot partner", partnerFrame(withType(dhcpRequest, requestedIP)), dropPartner},
		{"request renewing partner", partnerFrame(withType(dhcpRequest), withCiaddr()), passUnbalanced},
		{"request ciaddr with server id partner", partnerFrame(withType(dhcpRequest, serverID), withCiaddr()), dropPartner},
		{"decline partner", partnerFrame(withType(4, serverID, requestedIP)), passUnbalanced},
		{"release partner", partnerFrame(withType(7, serverID), withCiaddr()), passUnbalanced},
		{"inform partner", partnerFrame(withType(8), withCiaddr()), passUnbalanced},
		{"offer partner", partnerFrame(withType(2)), passUnbalanced},
		{"ack partner", partnerFrame(withType(5)), passUnbalanced},
		{"nak partner", partnerFrame(withType(6)), passUnbalanced},
		{"leasequery partner", partnerFrame(withType(10)), passUnbalanced},
		{"message type 0 partner", partnerFrame(withType(0)), passUnbalanced},
		{"message type 255 partner", partnerFrame(withType(255)), passUnbalanced},
		{"first message type wins", partnerFrame(withOptions(msgType(7), msgType(1), endOpt)), passUnbalanced},
		{"bootp partner", frame{payload: bootpPartner.bytes()}.bytes(), dropPartner},
		{"bootp ours", frame{payload: bootpOurs.bytes()}.bytes(), passOurs},
		{"bootp bad cookie partner", frame{payload: append(bootpPartner.bytes(), 1, 2, 3, 4, 53, 1, 3)}.bytes(), dropPartner},
		{"cookie and no option 53 partner", partnerFrame(withOptions(requestedIP, endOpt)), dropPartner},
		{"overload without type", partnerFrame(withOptions(opt(optOverload, 3), endOpt)), Verdict{Pass, ReasonOverload}},
		{"overload with type", partnerFrame(withOptions(opt(optOverload, 3), msgType(1), endOpt)), dropPartner},
		{"not a request (op 2)", partnerFrame(func(m *msg) { m.op = 2 }), Verdict{Pass, ReasonNotRequest}},

		// Secs bypass (3 seconds).
		{"partner secs 2", partnerFrame(withSecs(2)), dropPartner},
		{"partner secs 3", partnerFrame(withSecs(3)), passBypass},
		{"partner secs 600", partnerFrame(withSecs(600)), passBypass},
		{"ours secs 600", oursFrame(withSecs(600)), passOurs},

		// Option 61.
		{"client id decides over chaddr", oursFrame(withType(1, opt(optClientID, partnerCID...))), dropPartner},
		{"client id of ours over partner chaddr", partnerFrame(withType(1, opt(optClientID, cidWhere(7, isOurs)...))), passOurs},
		{"empty client id falls back to chaddr", partnerFrame(withType(1, opt(optClientID))), dropPartner},
		{"empty client id, ours chaddr", oursFrame(withType(1, opt(optClientID))), passOurs},
		{"first client id wins", oursFrame(withType(1, opt(optClientID, partnerCID...), opt(optClientID, cidWhere(7, isOurs)...))), dropPartner},
		{"255-byte client id partner", oursFrame(withType(1, hugeCID(isPartner))), dropPartner},
		{"255-byte client id ours", partnerFrame(withType(1, hugeCID(isOurs))), passOurs},
		{"client id overflows packet", oursFrame(withOptions(msgType(1), []byte{optClientID, 200, 1, 2, 3})), dropMalformed},

		// Option walk.
		{"no end option", partnerFrame(withOptions(msgType(1))), dropPartner},
		{"no options at all", partnerFrame(withOptions()), dropPartner},
		{"options after end ignored", partnerFrame(withOptions(msgType(1), endOpt, []byte{optClientID, 250})), dropPartner},
		{"option header cut", partnerFrame(withOptions(msgType(1), []byte{12})), dropMalformed},
		{"option data cut", partnerFrame(withOptions(msgType(1), []byte{12, 10, 'a'})), dropMalformed},
		{"message type length 2", partnerFrame(withOptions(opt(optMessageType, 1, 1), endOpt)), dropMalformed},
		{"requested ip length 3", oursFrame(withType(1, opt(optRequestedIP, 1, 2, 3))), dropMalformed},
		{"server id length 5", oursFrame(withType(3, opt(optServerID, 1, 2, 3, 4, 5))), dropMalformed},
		{"100 pads then type", partnerFrame(withOptions(pads(100), msgType(7), endOpt)), passUnbalanced},
		{"200 pads", partnerFrame(withOptions(pads(200), msgType(1), endOpt)), Verdict{Pass, ReasonOptionLimit}},
		{"127 options then end", partnerFrame(withOptions(msgType(1), bytes.Repeat(opt(12, 'x'), 126), endOpt)), dropPartner},
		{"128 options filling the payload", partnerFrame(withOptions(msgType(1), bytes.Repeat(opt(12, 'x'), 127))), dropPartner},
		{"129 options", partnerFrame(withOptions(msgType(1), bytes.Repeat(opt(12, 'x'), 128))), Verdict{Pass, ReasonOptionLimit}},

		// BOOTP header.
		{"hlen 16", partnerFrame(func(m *msg) { m.hlen = 16 }), verdictOfKey(append(partnerMAC, make([]byte, 10)...))},
		{"hlen 17", oursFrame(func(m *msg) { m.hlen = 17 }), dropMalformed},
		{"hlen 0", oursFrame(func(m *msg) { m.hlen = 0 }), passOurs}, // Hash of nothing is bucket 0
		{"payload 236 bytes", frame{payload: ours.bytes()[:236]}.bytes(), passOurs},
		{"payload 235 bytes", frame{payload: ours.bytes()[:235]}.bytes(), dropMalformed},
		{"payload 239 bytes", frame{payload: partner.bytes()[:239]}.bytes(), dropPartner},
		{"zero-length udp payload", frame{}.bytes(), dropMalformed},

		// Lengths and truncation.
		{"udp length past frame", frame{payload: ours.bytes(), udpLenAdj: 1, totLenAdj: 1}.bytes(), dropMalformed},
		{"udp length past ip", frame{payload: ours.bytes(), totLenAdj: -1}.bytes(), dropMalformed},
		{"udp length below 8", frame{payload: ours.bytes(), udpLenAdj: -len(ours.bytes()) - 1}.bytes(), dropMalformed},
		{"udp length short of payload", frame{payload: partner.bytes(), udpLenAdj: -4}.bytes(), dropPartner},
		{"ethernet padding", frame{payload: partner.bytes(), trailer: 20}.bytes(), dropPartner},
		{"ip total length shorter than header", frame{payload: ours.bytes(), totLenAdj: 10 - 28 - len(ours.bytes())}.bytes(), dropMalformed},
		{"frame cut in bootp", frame{payload: ours.bytes(), cut: 100}.bytes(), dropMalformed},
		{"frame cut in udp header", frame{payload: ours.bytes(), cut: 14 + 20 + 5}.bytes(), passNotDHCP},
		{"frame cut in ip header", frame{payload: ours.bytes(), cut: 14 + 10}.bytes(), passNotDHCP},
		{"frame cut in ip options", frame{payload: ours.bytes(), ipOptions: make([]byte, 8), cut: 14 + 24}.bytes(), passNotDHCP},
		{"ethernet header only", frame{cut: 14}.bytes(), passNotDHCP},

		// Encapsulation.
		{"802.1Q ours", frame{vlanTPIDs: []uint16{etherType8021Q}, payload: ours.bytes()}.bytes(), passOurs},
		{"802.1Q partner", frame{vlanTPIDs: []uint16{etherType8021Q}, payload: partner.bytes()}.bytes(), dropPartner},
		{"QinQ partner", frame{vlanTPIDs: []uint16{etherType8021AD, etherType8021Q}, payload: partner.bytes()}.bytes(), dropPartner},
		{"QinQ ours", frame{vlanTPIDs: []uint16{etherType8021AD, etherType8021Q}, payload: ours.bytes()}.bytes(), passOurs},
		{"double 802.1Q partner", frame{vlanTPIDs: []uint16{etherType8021Q, etherType8021Q}, payload: partner.bytes()}.bytes(), dropPartner},
		{"three tags", frame{vlanTPIDs: []uint16{etherType8021AD, etherType8021Q, etherType8021Q}, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"vlan tag cut", frame{vlanTPIDs: []uint16{etherType8021Q}, cut: 16}.bytes(), passNotDHCP},
		{"ip options partner", frame{ipOptions: []byte{7, 7, 4, 0, 0, 0, 0, 1}, payload: partner.bytes()}.bytes(), dropPartner},
		{"40 bytes of ip options ours", frame{ipOptions: bytes.Repeat([]byte{1}, 40), payload: ours.bytes()}.bytes(), passOurs},
		{"vlan and ip options partner", frame{vlanTPIDs: []uint16{etherType8021Q}, ipOptions: make([]byte, 4), payload: partner.bytes()}.bytes(), dropPartner},

		// Not ours to judge.
		{"more fragments", frame{fragField: 0x2000, payload: partner.bytes()}.bytes(), Verdict{Pass, ReasonFragment}},
		{"fragment offset", frame{fragField: 0x0010, payload: partner.bytes()}.bytes(), Verdict{Pass, ReasonFragment}},
		{"dont fragment", frame{fragField: 0x4000, payload: partner.bytes()}.bytes(), dropPartner},
		{"ipv6 ethertype", frame{etherType: 0x86dd, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"arp", frame{etherType: 0x0806, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"ip version 6 in ipv4 ethertype", frame{ipVersion: 6, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"tcp", frame{ipProto: 6, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"udp to 68", frame{dport: 68, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"udp to 53", frame{dport: 53, payload: []byte("dns")}.bytes(), passNotDHCP},
	}
}

// verdictOfKey is the verdict split 50 as primary gives a DISCOVER keyed by key.
func verdictOfKey(key []byte) Verdict {
	if loadbalance.Hash(key) < 128 {
		return passOurs
	}
	return dropPartner
}

func TestVerdicts(t *testing.T) {
	cases := balancedCases()
	forBothTwins(t, config.Dataplane{SecsBypass: 3}, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if got := tw.run(t, c.frame); got != c.want {
				t.Errorf("%s: %s says %s, want %s", c.name, tw.name, got, c.want)
			}
		}
		s, err := tw.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if s.Total() != uint64(len(cases)) {
			t.Errorf("counters total %d, want %d frames", s.Total(), len(cases))
		}
	})
}

func TestLoadBalancingOffOwnsEverything(t *testing.T) {
	forBothTwins(t, config.Dataplane{}, func(t *testing.T, tw twin) {
		if got := tw.run(t, partnerFrame()); got != passOurs {
			t.Fatalf("default: partner key gives %s, want %s", got, passOurs)
		}
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, partnerFrame()); got != dropPartner {
			t.Fatalf("split 50: partner key gives %s, want %s", got, dropPartner)
		}
		if err := tw.SetLoadBalancing(false); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, partnerFrame()); got != passOurs {
			t.Fatalf("balancing off: partner key gives %s, want %s", got, passOurs)
		}
		if n := loadbalance.Count(tw.Buckets()); n != 256 {
			t.Fatalf("balancing off: Buckets owns %d, want 256", n)
		}
		if err := tw.SetLoadBalancing(true); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, partnerFrame()); got != dropPartner {
			t.Fatalf("balancing back on: partner key gives %s, want %s", got, dropPartner)
		}
	})
}

func TestSecsBypassChanges(t *testing.T) {
	forBothTwins(t, config.Dataplane{}, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		late := partnerFrame(withSecs(10))
		if got := tw.run(t, late); got != dropPartner {
			t.Fatalf("bypass off: %s, want %s", got, dropPartner)
		}
		if err := tw.SetSecsBypass(10); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, late); got != passBypass {
			t.Fatalf("bypass 10: %s, want %s", got, passBypass)
		}
		if err := tw.SetSecsBypass(70000); err == nil {
			t.Fatal("SetSecsBypass(70000) succeeded")
		}
	})
}

// TestSplits checks every bucket at several splits, for both roles: the
// primary serves buckets 0..N-1, the secondary the rest.
func TestSplits(t *testing.T) {
	var keys [loadbalance.Buckets][]byte
	for b := range keys {
		keys[b] = keyIn(uint8(b))
	}
	forBothTwins(t, config.Dataplane{}, func(t *testing.T, tw twin) {
		for _, percent := range []int{0, 1, 33, 50, 67, 99, 100} {
			for _, primary := range []bool{true, false} {
				if err := tw.SetSplit(percent, primary); err != nil {
					t.Fatal(err)
				}
				n := loadbalance.SplitCount(percent)
				for b, key := range keys {
					want := (b < n) == primary
					got := tw.run(t, dhcpFrame(newMsg(withMAC(key))))
					if (got == passOurs) != want || (got != passOurs && got != dropPartner) {
						t.Fatalf("split %d%% primary=%v bucket %d: %s, want ours=%v", percent, primary, b, got, want)
					}
				}
			}
		}
		if err := tw.SetSplit(101, true); err == nil {
			t.Error("SetSplit(101) succeeded")
		}
	})
}

// TestRateLimit sends from one client faster than its rate, then waits for
// the bucket to refill. The limit is 2 packets/s with a burst of 3.
func TestRateLimit(t *testing.T) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 2, Burst: 3, TableSize: 64}}
	forBothTwins(t, cfg, func(t *testing.T, tw twin) {
		looping, other := oursFrame(), dhcpFrame(newMsg(withMAC(mac(0x77))))
		for i := range 3 {
			if got := tw.run(t, looping); got != passOurs {
				t.Fatalf("packet %d of the burst: %s, want %s", i+1, got, passOurs)
			}
		}
		if got := tw.run(t, looping); got != (Verdict{Drop, ReasonRateLimit}) {
			t.Fatalf("packet past the burst: %s, want dropped-ratelimit", got)
		}
		if got := tw.run(t, other); got != passOurs {
			t.Fatalf("another client: %s, want %s", got, passOurs)
		}
		// A request that is never balanced is limited too.
		renew := oursFrame(withType(dhcpRequest), withCiaddr())
		if got := tw.run(t, renew); got != (Verdict{Drop, ReasonRateLimit}) {
			t.Fatalf("renewal past the burst: %s, want dropped-ratelimit", got)
		}
		// One token comes back every 500ms.
		time.Sleep(600 * time.Millisecond)
		if got := tw.run(t, looping); got != passOurs {
			t.Fatalf("after 600ms: %s, want %s", got, passOurs)
		}
		if got := tw.run(t, looping); got != (Verdict{Drop, ReasonRateLimit}) {
			t.Fatalf("second packet after 600ms: %s, want dropped-ratelimit", got)
		}
	})
}

// TestRateLimitSparesPartnerDrops checks that frames dropped for the
// partner do not use up the client's tokens.
func TestRateLimitSparesPartnerDrops(t *testing.T) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1}}
	forBothTwins(t, cfg, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if got := tw.run(t, partnerFrame()); got != dropPartner {
				t.Fatalf("%s, want %s", got, dropPartner)
			}
		}
		if got := tw.run(t, partnerFrame(withType(dhcpRequest), withCiaddr())); got != passUnbalanced {
			t.Fatalf("renewal after partner drops: %s, want %s", got, passUnbalanced)
		}
	})
}

func TestRateLimitTableEviction(t *testing.T) {
	// The Go table holds 2 clients: a third evicts the least recently used.
	f := NewFilter(config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1, TableSize: 2}})
	now := time.Now()
	a, b, c := dhcpFrame(newMsg(withMAC(mac(1)))), dhcpFrame(newMsg(withMAC(mac(2)))), dhcpFrame(newMsg(withMAC(mac(3))))
	for _, fr := range [][]byte{a, b, c} {
		if got := f.Frame(fr, now); got != passOurs {
			t.Fatalf("first packet: %s", got)
		}
	}
	if got := f.Frame(a, now); got != passOurs {
		t.Fatalf("evicted client: %s, want %s (a fresh bucket)", got, passOurs)
	}
	if got := f.Frame(c, now); got != (Verdict{Drop, ReasonRateLimit}) {
		t.Fatalf("remembered client: %s, want dropped-ratelimit", got)
	}
}

func TestPayloadMatchesFrame(t *testing.T) {
	for _, c := range balancedCases() {
		payload, _, ok := frameBOOTP(c.frame)
		if !ok {
			continue
		}
		f := NewFilter(config.Dataplane{SecsBypass: 3})
		if err := f.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		if got := f.Payload(payload, time.Now()); got != c.want {
			t.Errorf("%s: Payload says %s, Frame says %s", c.name, got, c.want)
		}
	}
}

func TestVerdictNames(t *testing.T) {
	for _, tt := range []struct {
		v    Verdict
		want string
	}{
		{passOurs, "passed-ours"},
		{dropPartner, "dropped-partner"},
		{Verdict{Drop, ReasonRateLimit}, "dropped-ratelimit"},
		{passNotDHCP, "passed-not-dhcp"},
		{passBypass, "passed-secs-bypass"},
		{Verdict{Action(9), Reason(99)}, "action(9)-reason(99)"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.v, got, tt.want)
		}
	}
	for i := range counterSlots {
		if got := counterIndex(verdictOfIndex(i)); got != i {
			t.Fatalf("counter index %d round-trips to %d", i, got)
		}
	}
	_ = fmt.Sprint(newStats())
}
