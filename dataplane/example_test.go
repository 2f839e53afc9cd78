package dataplane_test

import (
	"fmt"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/dataplane"
	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// The control plane asks the filter about each datagram it reads from
// port 67 when XDP is off, and drops what the filter drops.
func ExampleFilter_Payload() {
	f := dataplane.NewFilter(config.Dataplane{SecsBypass: 3})
	if err := f.SetSplit(50, true); err != nil { // primary: buckets 0..127
		panic(err)
	}
	for _, mac := range []string{"00:11:22:33:44:55", "02:42:5a:00:00:01"} {
		hw, _ := net.ParseMAC(mac)
		discover, err := dhcpv4.NewDiscovery(hw)
		if err != nil {
			panic(err)
		}
		v := f.Payload(discover.ToBytes(), time.Now())
		fmt.Printf("%s bucket %d: %s\n", mac, loadbalance.Hash(hw), v)
	}
	// Output:
	// 00:11:22:33:44:55 bucket 135: dropped-partner
	// 02:42:5a:00:00:01 bucket 49: passed-ours
}
