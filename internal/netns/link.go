package netns

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// Veth creates a veth pair with end aIf in a and end bIf in b, both up.
// Deleting either namespace removes the pair.
func Veth(a *NS, aIf string, b *NS, bIf string) error {
	if err := a.Run("ip", "link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", b.Name); err != nil {
		return fmt.Errorf("veth %s/%s - %s/%s: %w", a.Name, aIf, b.Name, bIf, err)
	}
	if err := a.LinkUp(aIf); err != nil {
		return err
	}
	return b.LinkUp(bIf)
}

// VethPair is Veth for tests: it fails the test on error.
func VethPair(tb testing.TB, a *NS, aIf string, b *NS, bIf string) {
	tb.Helper()
	if err := Veth(a, aIf, b, bIf); err != nil {
		tb.Fatal(err)
	}
}

// AddBridge creates the bridge name in ns, enslaves ports (existing
// interfaces of ns) to it and brings it up. STP is off and forwarding
// starts at once.
func (ns *NS) AddBridge(name string, ports ...string) error {
	if err := ns.Run("ip", "link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"); err != nil {
		return err
	}
	for _, port := range ports {
		if err := ns.AddBridgePort(name, port); err != nil {
			return err
		}
	}
	return ns.LinkUp(name)
}

// AddBridgePort enslaves the interface port of ns to bridge.
func (ns *NS) AddBridgePort(bridge, port string) error {
	return ns.Run("ip", "link", "set", port, "master", bridge)
}

// Bridge is AddBridge for tests: it fails the test on error.
func Bridge(tb testing.TB, ns *NS, name string, ports ...string) {
	tb.Helper()
	if err := ns.AddBridge(name, ports...); err != nil {
		tb.Fatal(err)
	}
}

// LinkUp brings the interface up.
func (ns *NS) LinkUp(ifName string) error {
	return ns.Run("ip", "link", "set", ifName, "up")
}

// SetMAC sets the interface's hardware address.
func (ns *NS) SetMAC(ifName string, mac net.HardwareAddr) error {
	return ns.Run("ip", "link", "set", ifName, "address", mac.String())
}

// MAC returns the interface's hardware address.
func (ns *NS) MAC(ifName string) (net.HardwareAddr, error) {
	out, err := ns.Output("cat", "/sys/class/net/"+ifName+"/address")
	if err != nil {
		return nil, err
	}
	mac, err := net.ParseMAC(strings.TrimSpace(out))
	if err != nil {
		return nil, fmt.Errorf("address of %s in %s: %w", ifName, ns.Name, err)
	}
	return mac, nil
}

// AddAddr adds an address in CIDR form ("192.0.2.1/24") to the interface.
func (ns *NS) AddAddr(ifName, cidr string) error {
	return ns.Run("ip", "addr", "add", cidr, "dev", ifName)
}

// AddRoute adds a route to dst ("198.51.100.0/24" or "default") via the
// gateway.
func (ns *NS) AddRoute(dst, via string) error {
	return ns.Run("ip", "route", "add", dst, "via", via)
}

// EnableForwarding turns IPv4 forwarding on inside the namespace.
func (ns *NS) EnableForwarding() error {
	return ns.Run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
}
