package handler

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/xdhcp/xdhcp/internal/config"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden/replies.txt from the current handler")

// goldenFile pins the wire bytes of the replies to goldenSteps. It was
// written by the handler before its hot path was reworked for speed, so
// any change to what a client receives shows up as a diff.
const goldenFile = "testdata/golden/replies.txt"

// isp is the scope of the golden test and the benchmarks: an ISP access
// network of 10.0.0.0/16 with the options such networks hand out,
// including one longer than 255 bytes (split on the wire, RFC 3396), and
// one reservation.
func ispScope() config.Scope {
	search := []byte{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0}
	return config.Scope{
		Subnet:    netip.MustParsePrefix("10.0.0.0/16"),
		Pools:     []config.Range{{Start: netip.MustParseAddr("10.0.0.10"), End: netip.MustParseAddr("10.0.255.250")}},
		LeaseTime: config.Duration(8 * time.Hour),
		Protocol:  config.ProtocolBoth,
		Options: config.Options{
			3:   {10, 0, 0, 1},
			6:   {10, 0, 0, 53, 10, 0, 1, 53},
			15:  []byte("access.example.net"),
			42:  {10, 0, 0, 123},
			119: bytes.Repeat(search, 24), // 312 bytes
		},
		Reservations: []config.Reservation{
			{HWAddress: net.HardwareAddr{2, 0xbb, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.0.5"), Hostname: "cpe-reserved"},
		},
	}
}

// ispLink is the interface the ISP scope is served on directly.
const ispLink = 3

// newISPHandler serves ispScope on ispLink and, for relayed clients,
// 198.51.100.0/24 without options.
func newISPHandler(tb testing.TB, log *zap.Logger, replies *ReplyPool) *Handler {
	tb.Helper()
	cfgs := []config.Scope{ispScope(), {
		Subnet:    netip.MustParsePrefix("198.51.100.0/24"),
		Pools:     []config.Range{{Start: netip.MustParseAddr("198.51.100.100"), End: netip.MustParseAddr("198.51.100.199")}},
		LeaseTime: config.Duration(2 * time.Hour),
		Protocol:  config.ProtocolDHCP,
	}}
	scopes := newScopes(tb, cfgs)
	links := []Link{{Index: ispLink, Name: "access0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/16")}}}
	h, err := New(log, netip.MustParseAddr("10.0.0.1"), scopes, links, replies)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// goldenStep is one message of the golden sequence; the handler's state
// carries from step to step.
type goldenStep struct {
	name string
	link int
	req  *dhcpv4.DHCPv4
}

func goldenSteps() []goldenStep {
	prl := withOpt(dhcpv4.OptionParameterRequestList, []byte{1, 3, 6, 15, 42, 51, 54, 58, 59, 119})
	sid := withAddr(dhcpv4.OptionServerIdentifier, "10.0.0.1")
	cid := withOpt(dhcpv4.OptionClientIdentifier, []byte{1, 2, 0xcc, 0, 0, 0, 2})
	agent := withOpt(dhcpv4.OptionRelayAgentInformation, []byte{1, 4, 'p', 'o', 'r', 't', 2, 3, 'c', 'p', 'e'})
	broadcast := func(m *dhcpv4.DHCPv4) { m.SetBroadcast() }
	mac := func(last byte) net.HardwareAddr { return net.HardwareAddr{2, 0xcc, 0, 0, 0, last} }
	return []goldenStep{
		{"discover, all options", ispLink, msg(dhcpv4.MessageTypeDiscover, mac(1))},
		{"request selecting, all options", ispLink, msg(dhcpv4.MessageTypeRequest, mac(1), sid, withAddr(dhcpv4.OptionRequestedIPAddress, "10.0.0.10"))},
		{"discover with parameter list", ispLink, msg(dhcpv4.MessageTypeDiscover, mac(3), prl, broadcast)},
		{"request with parameter list", ispLink, msg(dhcpv4.MessageTypeRequest, mac(3), prl, sid, broadcast, withAddr(dhcpv4.OptionRequestedIPAddress, "10.0.0.11"))},
		{"renew", ispLink, msg(dhcpv4.MessageTypeRequest, mac(1), prl, withCiaddr("10.0.0.10"))},
		{"rebind", ispLink, msg(dhcpv4.MessageTypeRequest, mac(3), prl, withCiaddr("10.0.0.11"), broadcast)},
		{"discover, client id, host name, short lease", ispLink, msg(dhcpv4.MessageTypeDiscover, mac(2), cid, prl,
			withOpt(dhcpv4.OptionHostName, []byte("laptop")), withOpt(dhcpv4.OptionIPAddressLeaseTime, []byte{0, 0, 0x0e, 0x10}))},
		{"request, client id, host name, short lease", ispLink, msg(dhcpv4.MessageTypeRequest, mac(2), cid, prl, sid,
			withAddr(dhcpv4.OptionRequestedIPAddress, "10.0.0.12"),
			withOpt(dhcpv4.OptionHostName, []byte("laptop")), withOpt(dhcpv4.OptionIPAddressLeaseTime, []byte{0, 0, 0x0e, 0x10}))},
		{"init-reboot, same address", ispLink, msg(dhcpv4.MessageTypeRequest, mac(2), cid, prl, withAddr(dhcpv4.OptionRequestedIPAddress, "10.0.0.12"))},
		{"discover, reservation", ispLink, msg(dhcpv4.MessageTypeDiscover, net.HardwareAddr{2, 0xbb, 0, 0, 0, 1}, prl)},
		{"request, reservation", ispLink, msg(dhcpv4.MessageTypeRequest, net.HardwareAddr{2, 0xbb, 0, 0, 0, 1}, prl, sid, withAddr(dhcpv4.OptionRequestedIPAddress, "10.0.0.5"))},
		{"relayed discover with agent information", 0, msg(dhcpv4.MessageTypeDiscover, mac(4), withGiaddr("198.51.100.1"), cid, agent)},
		{"relayed request with agent information", 0, msg(dhcpv4.MessageTypeRequest, mac(4), withGiaddr("198.51.100.1"), cid, agent, sid,
			withAddr(dhcpv4.OptionRequestedIPAddress, "198.51.100.100"))},
		{"init-reboot, foreign address: nak", ispLink, msg(dhcpv4.MessageTypeRequest, mac(5), withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.9"))},
		{"relayed request for another client's address: nak", 0, msg(dhcpv4.MessageTypeRequest, mac(6), withGiaddr("198.51.100.1"), agent,
			withAddr(dhcpv4.OptionRequestedIPAddress, "198.51.100.100"))},
		{"renew of another client's address: nak", ispLink, msg(dhcpv4.MessageTypeRequest, mac(7), withCiaddr("10.0.0.10"))},
		{"inform", ispLink, msg(dhcpv4.MessageTypeInform, mac(8), prl, withCiaddr("10.0.9.9"))},
		{"bootp", ispLink, msg(0, mac(9))},
		{"release", ispLink, msg(dhcpv4.MessageTypeRelease, mac(1), sid, withCiaddr("10.0.0.10"))},
		{"discover after release", ispLink, msg(dhcpv4.MessageTypeDiscover, mac(1), prl)},
		{"decline", ispLink, msg(dhcpv4.MessageTypeDecline, mac(3), sid, withAddr(dhcpv4.OptionRequestedIPAddress, "10.0.0.11"))},
		{"discover after decline", ispLink, msg(dhcpv4.MessageTypeDiscover, mac(3), prl)},
	}
}

// TestRepliesMatchGolden runs goldenSteps through one handler, recycling
// each reply and request as the server does, and compares every reply's
// wire bytes with the pinned ones, for Handle and for HandleDecoded.
func TestRepliesMatchGolden(t *testing.T) {
	_, wantLeases := runGolden(t, false)
	if len(wantLeases) == 0 {
		t.Fatal("the golden steps bind no lease")
	}
	for _, mode := range []string{"Handle", "HandleDecoded"} {
		t.Run(mode, func(t *testing.T) {
			got, leases := runGolden(t, mode == "HandleDecoded")
			compareGolden(t, strings.Join(leases, "\n"), strings.Join(wantLeases, "\n"))
			if *updateGolden {
				if mode != "Handle" {
					return
				}
				if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(goldenFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run with -update-golden to create it)", err)
			}
			compareGolden(t, string(got), string(want))
		})
	}
}

// runGolden returns one line per golden step: its name, the outcome and
// the reply's wire bytes in hex ("-" for none); and the leases to persist.
// Decoded requests go back to their pool once the reply is encoded, as
// the server does.
func runGolden(t *testing.T, decoded bool) (replies []byte, leases []string) {
	replyPool := new(ReplyPool)
	var requests RequestPool
	h := newISPHandler(t, zaptest.NewLogger(t), replyPool)
	var out bytes.Buffer
	for k, st := range goldenSteps() {
		now := t0.Add(time.Duration(k) * time.Second)
		var res Result
		var d *Decoded
		if decoded {
			var err error
			if d, err = requests.Decode(st.req.ToBytes()); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			res = h.HandleDecoded(d, st.link, now)
		} else {
			res = h.Handle(Request{Msg: st.req, Link: st.link, Now: now})
		}
		wire := "-"
		if res.Reply != nil {
			b := res.Reply.ToBytes()
			if enc := AppendReply(nil, res.Reply); !bytes.Equal(enc, b) {
				t.Errorf("%s: AppendReply differs from ToBytes\n got %x\nwant %x", st.name, enc, b)
			}
			wire = hex.EncodeToString(b)
			replyPool.Put(res.Reply)
		}
		if res.Lease != nil {
			leases = append(leases, fmt.Sprintf("%s: %+v", st.name, *res.Lease))
		}
		requests.Put(d)
		fmt.Fprintf(&out, "%s\t%s\t%s\n", st.name, res.Outcome, wire)
	}
	return out.Bytes(), leases
}

// compareGolden reports the first differing step by name, with both replies.
func compareGolden(t *testing.T, got, want string) {
	t.Helper()
	gl, wl := lines(got), lines(want)
	if len(gl) != len(wl) {
		t.Errorf("%d steps, golden file has %d", len(gl), len(wl))
	}
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Errorf("step %d differs\n got %s\nwant %s", i, gl[i], wl[i])
		}
	}
}

func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
