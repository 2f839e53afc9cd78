package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// markedLine returns the 1-based line of doc holding the marker "#<".
func markedLine(t *testing.T, doc string) int {
	t.Helper()
	for i, line := range strings.Split(doc, "\n") {
		if strings.Contains(line, "#<") {
			return i + 1
		}
	}
	t.Fatalf("test document has no #< marker:\n%s", doc)
	return 0
}

// TestParseRejects checks that each broken file fails with a message naming
// the marked line, the field path and the fix.
func TestParseRejects(t *testing.T) {
	const head = "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 192.0.2.0/24\n"
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the message, besides "line N:"
	}{
		// Structure and strictness.
		{"unknown top-level key", head + "failsafe: {}  #<\n", []string{`unknown key "failsafe" at the top level`, "known keys: server, options, dataplane, scopes, failover"}},
		{"unknown scope key", head + "    leese-time: 8h  #<\n", []string{`unknown key "leese-time" in scopes[0]`, `did you mean "lease-time"`, "known keys: subnet, pools, exclude, lease-time"}},
		{"unknown server key", "server:\n  interfaces: [eth1]\n  adress: 192.0.2.1  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`unknown key "adress" in server`, `did you mean "address"`}},
		{"unknown rate-limit key", head + "dataplane:\n  rate-limit: {pps: 3}  #<\n", []string{`unknown key "pps" in dataplane.rate-limit`, "per-client-pps"}},
		{"unknown reservation key", head + "    reservations:\n      - {mac: \"02:00:00:00:00:01\", ip: 192.0.2.9}  #<\n", []string{`unknown key "mac" in scopes[0].reservations[0]`, "hw-address"}},
		{"duplicate key", head + "    lease-time: 1h\n    lease-time: 2h  #<\n", []string{`duplicate key "lease-time" in scopes[0] (first on line 5)`, "keep one"}},
		{"scopes not a list", "server:\n  interfaces: [eth1]\nscopes: 192.0.2.0/24  #<\n", []string{"scopes: must be a list"}},
		{"server not a mapping", "server: eth1  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{"server: must be a mapping"}},
		{"alias", "x: &a [eth1]  #<\n" + head, []string{`unknown key "x"`}},
		{"alias use", "server:\n  interfaces: &i [eth1]\n  data-dir: *i  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{"server.data-dir: YAML aliases (*i) are not supported"}},
		{"syntax error in flow list", "server:\n  interfaces: [eth1  #<\nscopes:\n", []string{"not valid YAML: did not find expected ',' or ']'"}},
		{"syntax error in block list", "scopes:\n  - subnet: 192.0.2.0/24  #<\n  pools: []\n", []string{"not valid YAML: did not find expected '-' indicator"}},
		{"syntax error indentation", "server:\n  interfaces: [eth1]\n data-dir: /x  #<\n", []string{"not valid YAML"}},
		{"tab indentation", "server:\n\tinterfaces: [eth1]  #<\n", []string{"not valid YAML", "indent with spaces, YAML does not allow tabs"}},
		{"two documents", head + "---  #<\nserver: {}\n", []string{"more than one YAML document"}},

		// Required parts.
		{"no interfaces", "server: {}  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{"server.interfaces: needs at least one interface", "interfaces: [eth1]"}},
		{"no server", "scopes:  #<\n  - subnet: 192.0.2.0/24\n", []string{"server.interfaces: needs at least one interface"}},
		{"no scopes", "server:  #<\n  interfaces: [eth1]\n", []string{"scopes: needs at least one scope"}},
		{"scope without subnet", "server:\n  interfaces: [eth1]\nscopes:\n  - pools: [192.0.2.10-192.0.2.20]  #<\n", []string{"scopes[0]: has no subnet", "subnet: 192.0.2.0/24"}},
		{"bad interface name", "server:\n  interfaces: [eth1, \"a/b\"]  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.interfaces[1] "a/b": not an interface name`}},
		{"interface twice", "server:\n  interfaces: [eth1, eth1]  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.interfaces[1] "eth1": listed twice`}},

		// Server values.
		{"bad address", "server:\n  interfaces: [eth1]\n  address: 192.0.2.300  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.address "192.0.2.300": not an IPv4 address`}},
		{"broadcast address", "server:\n  interfaces: [eth1]\n  address: 255.255.255.255  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.address "255.255.255.255": must be a unicast address`}},
		{"address in pool", "server:\n  interfaces: [eth1]\n  address: 192.0.2.10  #<\nscopes:\n  - subnet: 192.0.2.0/24\n    pools: [192.0.2.10-192.0.2.20]\n", []string{`server.address "192.0.2.10": lies in scopes[0].pools[0] "192.0.2.10-192.0.2.20" (line 6)`, "exclude it"}},
		{"address reserved", "server:\n  interfaces: [eth1]\n  address: 192.0.2.5  #<\nscopes:\n  - subnet: 192.0.2.0/24\n    reservations: [{hw-address: 020000000001, ip: 192.0.2.5}]\n", []string{`server.address "192.0.2.5": is reserved for a client by scopes[0].reservations[0]`}},
		{"log level", "server:\n  interfaces: [eth1]\n  log-level: verbose  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.log-level "verbose": must be one of debug, info, warn, error`}},
		{"log format", "server:\n  interfaces: [eth1]\n  log-format: text  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.log-format "text": must be one of console, json`}},
		{"metrics listen", "server:\n  interfaces: [eth1]\n  metrics-listen: 9267  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.metrics-listen "9267": write host:port`}},
		{"metrics port", "server:\n  interfaces: [eth1]\n  metrics-listen: \":70000\"  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.metrics-listen ":70000": port must be at most 65535`}},
		{"empty data dir", "server:\n  interfaces: [eth1]\n  data-dir: \"\"  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.data-dir "": must not be empty`}},
		{"long socket path", "server:\n  interfaces: [eth1]\n  control-socket: /" + strings.Repeat("s", 120) + "  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{"server.control-socket", "107 bytes"}},
		{"commit batch", "server:\n  interfaces: [eth1]\n  commit-batch: 0  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.commit-batch "0": out of range; use a number from 1 to 65536`}},
		{"commit delay too long", "server:\n  interfaces: [eth1]\n  commit-delay: 1s  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.commit-delay "1s": out of range; use a duration from 0s to 100ms`}},
		{"cache threshold over 100", "server:\n  interfaces: [eth1]\n  cache-threshold-percent: 101  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.cache-threshold-percent "101": out of range; use a number from 0 to 100`}},
		{"cache threshold as a fraction", "server:\n  interfaces: [eth1]\n  cache-threshold-percent: 0.25  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.cache-threshold-percent "0.25": must be a whole number from 0 to 100`}},
		{"commit batch big", "server:\n  interfaces: [eth1]\n  commit-batch: 65537  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.commit-batch "65537": out of range`}},
		{"workers text", "server:\n  interfaces: [eth1]\n  workers: many  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.workers "many": must be a whole number from 1 to 4096`}},
		{"offer hold", "server:\n  interfaces: [eth1]\n  offer-hold: 0s  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.offer-hold "0s": out of range; use a duration from 1s to 10m0s`}},
		{"decline hold", "server:\n  interfaces: [eth1]\n  decline-hold: soon  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{`server.decline-hold "soon": not a duration`}},

		// Dataplane.
		{"dataplane mode", head + "dataplane:\n  mode: turbo  #<\n", []string{`dataplane.mode "turbo": must be one of auto, native, generic, off`}},
		{"burst zero", head + "dataplane:\n  rate-limit:\n    per-client-pps: 5\n    burst: 0  #<\n", []string{`dataplane.rate-limit.burst "0": out of range`}},
		{"table size", head + "dataplane:\n  rate-limit:\n    table-size: -1  #<\n", []string{`dataplane.rate-limit.table-size "-1": out of range`}},
		{"secs bypass", head + "dataplane:\n  secs-bypass: 70000  #<\n", []string{`dataplane.secs-bypass "70000": out of range; use a number from 0 to 65535`}},

		// Subnets.
		{"host bits", "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 192.0.2.1/24  #<\n", []string{`scopes[0].subnet "192.0.2.1/24": host bits are set; write 192.0.2.0/24`}},
		{"subnet without length", "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 192.0.2.0  #<\n", []string{`scopes[0].subnet "192.0.2.0": needs a prefix length`}},
		{"ipv6 subnet", "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 2001:db8::/64  #<\n", []string{`scopes[0].subnet "2001:db8::/64": not an IPv4 prefix`}},
		{"multicast subnet", "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 239.0.0.0/24  #<\n", []string{`scopes[0].subnet "239.0.0.0/24": multicast`}},
		{"overlapping subnets", head + "  - subnet: 192.0.2.128/25  #<\n", []string{`scopes[1].subnet "192.0.2.128/25": overlaps scopes[0].subnet 192.0.2.0/24 (line 4)`, "merge them"}},

		// Pools and exclusions.
		{"reversed pool", head + "    pools:\n      - 192.0.2.10-192.0.2.20\n      - 192.0.2.200-192.0.2.100  #<\n", []string{`scopes[0].pools[1] "192.0.2.200-192.0.2.100": start is after end; write the lower address first`}},
		{"pool as prefix", head + "    pools: [192.0.2.0/25]  #<\n", []string{`scopes[0].pools[0] "192.0.2.0/25": ranges are written first-last`}},
		{"pool bad address", head + "    pools: [192.0.2.10-192.0.2.x]  #<\n", []string{`scopes[0].pools[0] "192.0.2.10-192.0.2.x": end: not an IPv4 address`}},
		{"pool outside subnet", head + "    pools: [192.0.3.10-192.0.3.20]  #<\n", []string{`scopes[0].pools[0] "192.0.3.10-192.0.3.20": lies outside the scope's subnet 192.0.2.0/24`}},
		{"pool holds network", head + "    pools: [192.0.2.0-192.0.2.20]  #<\n", []string{`scopes[0].pools[0] "192.0.2.0-192.0.2.20": holds the network address 192.0.2.0`, "start the pool at 192.0.2.1"}},
		{"pool holds broadcast", head + "    pools: [192.0.2.200-192.0.2.255]  #<\n", []string{`holds the broadcast address 192.0.2.255`, "end the pool at 192.0.2.254"}},
		{"pools overlap in scope", head + "    pools:\n      - 192.0.2.10-192.0.2.20\n      - 192.0.2.20-192.0.2.30  #<\n", []string{`scopes[0].pools[1] "192.0.2.20-192.0.2.30": overlaps scopes[0].pools[0] "192.0.2.10-192.0.2.20" (line 6)`, "shrink or remove one"}},
		{"exclude outside pools", head + "    pools: [192.0.2.10-192.0.2.20]\n    exclude: [192.0.2.15-192.0.2.25]  #<\n", []string{`scopes[0].exclude[0] "192.0.2.15-192.0.2.25": is not inside this scope's pools`}},

		// Lease time and protocol.
		{"lease time short", head + "    lease-time: 30s  #<\n", []string{`scopes[0].lease-time "30s": out of range; use a duration from 1m0s`}},
		{"lease time fraction", head + "    lease-time: 90.5s  #<\n", []string{`scopes[0].lease-time "90.5s": must be whole seconds`}},
		{"lease time negative", head + "    lease-time: -1h  #<\n", []string{`scopes[0].lease-time "-1h": negative duration`}},
		{"protocol", head + "    protocol: dhcpv6  #<\n", []string{`scopes[0].protocol "dhcpv6": must be one of dhcp, bootp, both`}},

		// Reservations.
		{"no identifier", head + "    reservations:\n      - {ip: 192.0.2.9}  #<\n", []string{"scopes[0].reservations[0]: names no client; give exactly one of hw-address, client-id or circuit-id"}},
		{"two identifiers", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01, client-id: \"01:02\", ip: 192.0.2.9}  #<\n", []string{"scopes[0].reservations[0]: names the client more than one way (hw-address, client-id); keep exactly one"}},
		{"no ip", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01}  #<\n", []string{"scopes[0].reservations[0]: has no ip"}},
		{"bad mac", head + "    reservations:\n      - {hw-address: 02:00:00:00:01, ip: 192.0.2.9}  #<\n", []string{`scopes[0].reservations[0].hw-address "02:00:00:00:01": not a hardware address; write it as 02:00:00:00:00:01`}},
		{"bad client id", head + "    reservations:\n      - {client-id: \"1:2\", ip: 192.0.2.9}  #<\n", []string{`scopes[0].reservations[0].client-id "1:2": not hex bytes`}},
		{"short client id", head + "    reservations:\n      - {client-id: \"01\", ip: 192.0.2.9}  #<\n", []string{`scopes[0].reservations[0].client-id "01": a client identifier is 2 to 255 bytes`}},
		{"bad hostname", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01, ip: 192.0.2.9, hostname: \"my printer\"}  #<\n", []string{`scopes[0].reservations[0].hostname "my printer": not a host name`}},
		{"ip outside subnet", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01, ip: 198.51.100.9}  #<\n", []string{`scopes[0].reservations[0].ip "198.51.100.9": lies outside the scope's subnet 192.0.2.0/24`}},
		{"ip in other scope", head + "  - subnet: 198.51.100.0/24\n    reservations:\n      - {hw-address: 02:00:00:00:00:01, ip: 192.0.2.9}  #<\n", []string{`scopes[1].reservations[0].ip "192.0.2.9": belongs to scopes[0] (subnet 192.0.2.0/24, line 4)`, "move the reservation to that scope"}},
		{"ip is network", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01, ip: 192.0.2.0}  #<\n", []string{`scopes[0].reservations[0].ip "192.0.2.0": is the network address of 192.0.2.0/24`}},
		{"ip is broadcast", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01, ip: 192.0.2.255}  #<\n", []string{`is the broadcast address of 192.0.2.0/24`}},
		{"ip reserved twice", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01, ip: 192.0.2.9}\n      - {hw-address: 02:00:00:00:00:02, ip: 192.0.2.9}  #<\n", []string{`scopes[0].reservations[1].ip "192.0.2.9": is already reserved by scopes[0].reservations[0] (line 6)`}},
		{"mac reserved twice", head + "    reservations:\n      - {hw-address: 02:00:00:00:00:01, ip: 192.0.2.9}\n      - {hw-address: 0200.0000.0001, ip: 192.0.2.10}  #<\n", []string{"scopes[0].reservations[1]: reserves hw-address 02:00:00:00:00:01 again (first at scopes[0].reservations[0], line 6)"}},
		{"circuit reserved twice", head + "    reservations:\n      - {circuit-id: a, ip: 192.0.2.9}\n      - {circuit-id: a, ip: 192.0.2.10}  #<\n", []string{`reserves circuit-id "a" again`}},

		// Options.
		{"unknown option", head + "    options:\n      dns-servers: [192.0.2.53]  #<\n", []string{`scopes[0].options.dns-servers: unknown option (did you mean "domain-name-servers"?)`}},
		{"subnet mask option", head + "    options:\n      subnet-mask: 255.255.255.0  #<\n", []string{"scopes[0].options.subnet-mask: option 1 (subnet-mask) cannot be set: the server computes it from the scope's subnet"}},
		{"host name option", head + "    options:\n      host-name: x  #<\n", []string{"option 12 (host-name) cannot be set", "set hostname on a reservation"}},
		{"lease time option", "server:\n  interfaces: [eth1]\noptions:\n  \"51\": 3600  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{"options.51: option 51 (ip-address-lease-time) cannot be set", "set lease-time instead"}},
		{"relay agent option", head + "    options:\n      \"82\": hex:0102  #<\n", []string{"option 82 (relay-agent-information) cannot be set"}},
		{"code 255", head + "    options:\n      \"255\": x  #<\n", []string{"scopes[0].options.255: option codes run from 1 to 254"}},
		{"duplicate option", head + "    options:\n      routers: [192.0.2.1]\n      \"3\": [192.0.2.2]  #<\n", []string{"scopes[0].options.3: same option as routers (both are option 3, routers); keep one"}},
		{"bad router", head + "    options:\n      routers: [192.0.2.1, gw]  #<\n", []string{`scopes[0].options.routers[1] "gw": not an IPv4 address`}},
		{"empty routers", head + "    options:\n      routers: []  #<\n", []string{"scopes[0].options.routers: empty list"}},
		{"mtu small", head + "    options:\n      interface-mtu: 60  #<\n", []string{`scopes[0].options.interface-mtu "60": out of range; use a number from 68 to 65535`}},
		{"time offset text", head + "    options:\n      time-offset: east  #<\n", []string{`scopes[0].options.time-offset "east": must be a whole number`}},
		{"bad domain", head + "    options:\n      domain-name: \"exa mple.net\"  #<\n", []string{`scopes[0].options.domain-name "exa mple.net": not a domain name`}},
		{"bad captive portal", head + "    options:\n      captive-portal: portal  #<\n", []string{`scopes[0].options.captive-portal "portal": not a URI`}},
		{"bad ip-forwarding", head + "    options:\n      ip-forwarding: 2  #<\n", []string{`scopes[0].options.ip-forwarding "2": must be true or false`}},
		{"bad hex", head + "    options:\n      vendor-encapsulated-options: 0g  #<\n", []string{`scopes[0].options.vendor-encapsulated-options "0g": not hex bytes`}},
		{"duplicate search domain", head + "    options:\n      domain-search: [a.net, A.net.]  #<\n", []string{`scopes[0].options.domain-search: "A.net." is listed twice`}},
		{"bad route", head + "    options:\n      classless-static-routes: [\"10.0.0.0/8 192.0.2.1\"]  #<\n", []string{`scopes[0].options.classless-static-routes[0] "10.0.0.0/8 192.0.2.1": write a route as "prefix via router"`}},
		{"route host bits", head + "    options:\n      classless-static-routes: [\"10.1.0.0/8 via 192.0.2.1\"]  #<\n", []string{"destination has host bits set; write 10.0.0.0/8"}},
		{"duplicate route", head + "    options:\n      classless-static-routes: [\"10.0.0.0/8 via 192.0.2.1\", \"10.0.0.0/8 via 192.0.2.2\"]  #<\n", []string{"a second route to 10.0.0.0/8"}},
		{"routes without default", head + "    options:\n      routers: [192.0.2.1]\n      classless-static-routes: [\"10.0.0.0/8 via 192.0.2.1\"]  #<\n", []string{"scopes[0].options.classless-static-routes: clients that get classless-static-routes ignore routers", "0.0.0.0/0 via <router>"}},
		{"global routes and routers", "server:\n  interfaces: [eth1]\noptions:\n  routers: [192.0.2.1]\n  classless-static-routes: [\"10.0.0.0/8 via 192.0.2.1\"]  #<\nscopes:\n  - subnet: 192.0.2.0/24\n", []string{"options.classless-static-routes: clients that get"}},
		{"global routes, scope routers", "server:\n  interfaces: [eth1]\noptions:\n  classless-static-routes: [\"10.0.0.0/8 via 192.0.2.1\"]\nscopes:\n  - subnet: 192.0.2.0/24\n    options:\n      routers: [192.0.2.1]  #<\n", []string{"scopes[0].options.routers: clients that get classless-static-routes ignore routers"}},
		{"global routers, scope routes", "server:\n  interfaces: [eth1]\noptions:\n  routers: [192.0.2.1]\nscopes:\n  - subnet: 192.0.2.0/24\n    options:\n      classless-static-routes: [\"10.0.0.0/8 via 192.0.2.1\"]  #<\n", []string{"ignore routers"}},
		{"generic ip scalar", head + "    options:\n      \"224\": 192.0.2.7  #<\n", []string{`scopes[0].options.224 "192.0.2.7": looks like an IPv4 address; write [192.0.2.7]`, `"text:192.0.2.7"`}},
		{"generic bool", head + "    options:\n      \"200\": true  #<\n", []string{`scopes[0].options.200 "true": YAML reads this as bool; quote it`}},
		{"generic negative", head + "    options:\n      \"200\": -1  #<\n", []string{`scopes[0].options.200 "-1": out of range; use a number from 0 to 4294967295`}},
		{"generic list of text", head + "    options:\n      \"200\": [a, b]  #<\n", []string{`scopes[0].options.200[0] "a": a list must hold IPv4 addresses`}},
		{"option too long", head + "    options:\n      \"200\": " + strings.Repeat("x", 256) + "  #<\n", []string{"scopes[0].options.200: encodes to 256 bytes; an option holds at most 255", "RFC 3396", "shorten"}},
		{"option without value", head + "    options:\n      routers:  #<\n", []string{"scopes[0].options.routers: has no value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted the file: %+v\n%s", cfg, tt.doc)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config with the error %v", err)
			}
			line := markedLine(t, tt.doc)
			// One of the reported problems must carry all the wanted parts.
			for _, msg := range strings.Split(err.Error(), "\n") {
				if hasAll(msg, append([]string{fmt.Sprintf("line %d: ", line)}, tt.want...)) {
					return
				}
			}
			t.Errorf("no problem names line %d with %q; got:\n%v", line, tt.want, err)
		})
	}
}

func hasAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestParseReportsAllProblems checks that problems are collected, not just
// the first, and come in line order as *Error values.
func TestParseReportsAllProblems(t *testing.T) {
	doc := `server:
  interfaces: [eth1]
  log-level: loud
scopes:
  - subnet: 192.0.2.1/24
    leese-time: 8h
    pools: [192.0.2.9-192.0.2.1]
`
	_, err := Parse([]byte(doc))
	if err == nil {
		t.Fatal("Parse accepted a file with four problems")
	}
	lines := strings.Split(err.Error(), "\n")
	wantPrefixes := []string{"config: line 3: ", "config: line 5: ", "config: line 6: ", "config: line 7: "}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(wantPrefixes), err)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], p)
		}
	}
	var first *Error
	if !errors.As(err, &first) {
		t.Fatalf("errors.As(*Error) failed on %v", err)
	}
	if first.Line != 3 || first.Path != "server.log-level" {
		t.Errorf("first problem = line %d path %q, want line 3 path server.log-level", first.Line, first.Path)
	}
}

// TestParseLimitsProblems checks that a file with very many problems gives a
// bounded answer.
func TestParseLimitsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 192.0.2.0/24\n    pools:\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "      - 192.0.3.%d\n", i)
	}
	_, err := Parse([]byte(b.String()))
	if err == nil {
		t.Fatal("Parse accepted 200 pools outside the subnet")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || !strings.Contains(lines[maxErrors], "150 more problems not shown") {
		t.Errorf("got %d lines, last %q; want %d problems and a count of the rest", len(lines), lines[len(lines)-1], maxErrors)
	}
}

// TestLoadNamesFile checks that Load's problems name the file, and that a
// missing file is an error that names it.
func TestLoadNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/bad.yaml"
	writeFile(t, path, "server:\n  interfaces: [eth1]\n  bogus: 1\nscopes:\n  - subnet: 192.0.2.0/24\n")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "config "+path+": line 3: unknown key \"bogus\" in server") {
		t.Errorf("Load(bad) = %v, want the file and line named", err)
	}
	_, err = Load(dir + "/missing.yaml")
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) = %v, want an error naming the file", err)
	}
}

// TestParseEmpty checks the answers for files without settings.
func TestParseEmpty(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%q) accepted an empty file", doc)
		}
	}
}

// TestGlobalRoutesConflictReportedOnce checks that a conflict in the global
// options is one problem, not one per scope.
func TestGlobalRoutesConflictReportedOnce(t *testing.T) {
	doc := "server: {interfaces: [eth1]}\noptions:\n  routers: [192.0.2.1]\n  classless-static-routes: [\"10.0.0.0/8 via 192.0.2.1\"]\nscopes:\n" +
		"  - subnet: 192.0.2.0/24\n  - subnet: 198.51.100.0/24\n  - subnet: 203.0.113.0/24\n"
	_, err := Parse([]byte(doc))
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "line 4: options.classless-static-routes") {
		t.Errorf("err = %v, want exactly one problem on line 4", err)
	}
}
