package alloc_test

import (
	"errors"
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
	}, 10*time.Second, 24*time.Hour, 0)
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

// A failover pair: both servers divide the pool the same way, the primary
// leases an address and tells the secondary (BNDUPD), and the secondary's
// conflicting binding of the same address is settled by §7.1.3.
func ExampleScope_SetShare() {
	cfg := config.Scope{
		Subnet: netip.MustParsePrefix("192.0.2.0/24"),
		Pools:  []config.Range{{Start: netip.MustParseAddr("192.0.2.100"), End: netip.MustParseAddr("192.0.2.109")}},
	}
	primary, _ := alloc.NewScope(cfg, 10*time.Second, time.Hour, 0)
	secondary, _ := alloc.NewScope(cfg, 10*time.Second, time.Hour, 0)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Both pass the primary's share (70%) and their own role.
	if _, err := primary.SetShare(alloc.RolePrimary, 700, now); err != nil {
		panic(err)
	}
	if _, err := secondary.SetShare(alloc.RoleSecondary, 700, now); err != nil {
		panic(err)
	}
	fmt.Println("primary owns", primary.Stats().FreeMine, "secondary owns", secondary.Stats().FreeMine)

	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	client := alloc.Client{HWType: 1, HWAddr: mac}
	ip, _ := primary.Offer(client, netip.Addr{}, now)
	l, _ := primary.Request(client, ip, time.Hour, now)
	if _, err := secondary.Apply(l, now); err != nil { // the primary's BNDUPD
		panic(err)
	}
	_, mine := secondary.Owner(ip)
	fmt.Println("secondary may still allocate it:", mine)

	// A binding of another client on the same address loses at the primary.
	other := l
	other.HWAddr = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	_, err := primary.Apply(other, now.Add(time.Minute))
	var reject *alloc.RejectError
	if errors.As(err, &reject) {
		fmt.Println("primary rejects with reason", reject.Reason)
	}
	// Output:
	// primary owns 7 secondary owns 3
	// secondary may still allocate it: false
	// primary rejects with reason 2
}
