package alloc_test

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/control/alloc"
	"github.com/xdhcp/xdhcp/internal/config"
)

// One client's DISCOVER, REQUEST and lease expiry, as the DHCP handler
// drives them.
func Example() {
	scope, err := alloc.NewScope(config.Scope{
		Subnet: netip.MustParsePrefix("192.0.2.0/24"),
		Pools:  []config.Range{{Start: netip.MustParseAddr("192.0.2.100"), End: netip.MustParseAddr("192.0.2.199")}},
	}, 10*time.Second, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	client := alloc.Client{Key: alloc.KeyOf(nil, 1, mac), HWType: 1, HWAddr: mac}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	offered, err := scope.Offer(client, netip.Addr{}, now) // DHCPDISCOVER
	if err != nil {
		panic(err) // errors.Is(err, alloc.ErrNoAddrAvail): count, log, stay silent
	}
	bound, err := scope.Request(client, offered, time.Hour, now.Add(time.Second)) // DHCPREQUEST
	if err != nil {
		panic(err) // errors.Is(err, alloc.ErrNotAvailable): DHCPNAK
	}
	fmt.Println("offered", offered, "bound", bound.IP, bound.State, "until", bound.Expiry.Format(time.TimeOnly))
	// The caller persists bound, then answers DHCPACK.

	for _, l := range scope.Expire(now.Add(2 * time.Hour)) { // periodically
		fmt.Println("expired", l.IP, l.State) // the caller persists these too
	}
	again, _ := scope.Offer(client, netip.Addr{}, now.Add(3*time.Hour))
	fmt.Println("offered again", again)
	// Output:
	// offered 192.0.2.100 bound 192.0.2.100 active until 01:00:01
	// expired 192.0.2.100 expired
	// offered again 192.0.2.100
}
