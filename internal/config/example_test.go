package config_test

import (
	"fmt"

	"github.com/xdhcp/xdhcp/internal/config"
)

func ExampleParse() {
	cfg, err := config.Parse([]byte(`
server:
  interfaces: [eth1]
options:
  domain-name-servers: [192.0.2.53]
scopes:
  - subnet: 192.0.2.0/24
    pools: [192.0.2.100-192.0.2.199]
    options:
      routers: [192.0.2.1]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := cfg.Scopes[0]
	fmt.Println(s.Subnet, s.Pools[0], s.Pools[0].Size(), "addresses, lease", s.LeaseTime)
	for _, code := range []uint8{3, 6} {
		fmt.Printf("%s: % x\n", config.OptionName(code), s.Options[code])
	}
	// Output:
	// 192.0.2.0/24 192.0.2.100-192.0.2.199 100 addresses, lease 8h0m0s
	// routers: c0 00 02 01
	// domain-name-servers: c0 00 02 35
}

func ExampleParse_errors() {
	_, err := config.Parse([]byte(`
server:
  interfaces: [eth1]
scopes:
  - subnet: 192.0.2.0/24
    leese-time: 8h
    pools: [192.0.2.200-192.0.2.100]
`))
	fmt.Println(err)
	// Output:
	// config: line 6: unknown key "leese-time" in scopes[0] (did you mean "lease-time"?); known keys: subnet, pools, exclude, lease-time, protocol, options, reservations
	// config: line 7: scopes[0].pools[0] "192.0.2.200-192.0.2.100": start is after end; write the lower address first
}
