package e2e

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// Interface names inside the lab's namespaces.
const (
	ServerIface = "srv0" // the server's link to the switch
	HostIface   = "eth0" // a host's link to the switch (or to its relay)
	RelayDown   = "down0"
	bridgeName  = "br0"
)

// Lab is a small LAN: a server namespace whose ServerIface is plugged into
// a bridge in a switch namespace, and hosts added with AddHost or AddRelay.
type Lab struct {
	Server *netns.NS
	Switch *netns.NS

	prefix string
	all    []*netns.NS
	ports  int
}

// NewLab creates the server and switch namespaces, named from prefix, and
// gives the server serverAddr ("192.0.2.1/24") on ServerIface.
func NewLab(prefix string, serverAddr netip.Prefix) (lab *Lab, err error) {
	lab = &Lab{prefix: prefix}
	defer func() {
		if err != nil {
			_ = lab.Close()
		}
	}()
	if lab.Server, err = lab.newNS("srv"); err != nil {
		return nil, err
	}
	if lab.Switch, err = lab.newNS("sw"); err != nil {
		return nil, err
	}
	if err := lab.Switch.AddBridge(bridgeName); err != nil {
		return nil, err
	}
	if err := lab.plug(lab.Server, ServerIface); err != nil {
		return nil, err
	}
	if err := lab.Server.AddAddr(ServerIface, serverAddr.String()); err != nil {
		return nil, err
	}
	return lab, nil
}

func (l *Lab) newNS(role string) (*netns.NS, error) {
	ns, err := netns.Create(l.prefix + "-" + role)
	if err != nil {
		return nil, err
	}
	l.all = append(l.all, ns)
	return ns, nil
}

// plug connects ifName of ns to a new port of the switch's bridge.
func (l *Lab) plug(ns *netns.NS, ifName string) error {
	port := fmt.Sprintf("p%d", l.ports)
	l.ports++
	if err := netns.Veth(ns, ifName, l.Switch, port); err != nil {
		return err
	}
	return l.Switch.AddBridgePort(bridgeName, port)
}

// AddHost creates a namespace for one client, with HostIface on the
// switch and no address.
func (l *Lab) AddHost(role string) (*netns.NS, error) {
	ns, err := l.newNS(role)
	if err != nil {
		return nil, err
	}
	return ns, l.plug(ns, HostIface)
}

// AddRelay creates a relay namespace on the switch (HostIface, upstream
// address up) and a client namespace behind it, linked from the relay's
// RelayDown (address down, the relayed subnet's gateway) to the client's
// HostIface. The server gets a route to down's subnet through the relay.
func (l *Lab) AddRelay(up, down netip.Prefix) (relay, client *netns.NS, err error) {
	if relay, err = l.AddHost("rly"); err != nil {
		return nil, nil, err
	}
	if client, err = l.newNS("rcl"); err != nil {
		return nil, nil, err
	}
	for _, step := range []func() error{
		func() error { return netns.Veth(relay, RelayDown, client, HostIface) },
		func() error { return relay.AddAddr(HostIface, up.String()) },
		func() error { return relay.AddAddr(RelayDown, down.String()) },
		func() error { return l.Server.AddRoute(down.Masked().String(), up.Addr().String()) },
	} {
		if err := step(); err != nil {
			return nil, nil, err
		}
	}
	return relay, client, nil
}

// Close deletes every namespace of the lab, stopping what runs in them.
func (l *Lab) Close() error {
	var errs []error
	for i := len(l.all) - 1; i >= 0; i-- {
		errs = append(errs, l.all[i].Close())
	}
	l.all = nil
	return errors.Join(errs...)
}
