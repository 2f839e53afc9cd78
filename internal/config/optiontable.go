package config

import (
	"strconv"
	"strings"
)

// optionKind says how an option's value is written in the file and encoded.
type optionKind uint8

const (
	kindGeneric    optionKind = iota // numbered options without a known type
	kindOwned                        // set by the server itself; refused
	kindIPs                          // one or more IPv4 addresses, 4 bytes each
	kindIP                           // exactly one IPv4 address
	kindText                         // text, sent as its bytes
	kindDomain                       // one DNS name, sent as text
	kindURI                          // a URI with a scheme, sent as text
	kindInt32                        // signed 32-bit, big-endian
	kindUint8                        // unsigned 8-bit
	kindUint16                       // unsigned 16-bit, big-endian
	kindUint32                       // unsigned 32-bit, big-endian
	kindBool                         // true/false as one byte 1/0
	kindHex                          // raw bytes written in hex
	kindDomainList                   // DNS names, RFC 1035 encoded with compression (RFC 3397)
	kindRoutes                       // "prefix via router" lines, RFC 3442 encoding
)

// optionDef describes one named option.
type optionDef struct {
	code   uint8
	name   string
	kind   optionKind
	lo, hi int64  // bounds for integer kinds; both 0 means the type's own range
	reason string // for kindOwned: why the server owns it and what to write instead
}

// optionTable lists the named options. It is read-only.
var optionTable = [...]optionDef{
	{code: 0, name: "pad", kind: kindOwned, reason: "it is padding, not an option"},
	{code: 1, name: "subnet-mask", kind: kindOwned, reason: "the server computes it from the scope's subnet; remove it"},
	{code: 2, name: "time-offset", kind: kindInt32},
	{code: 3, name: "routers", kind: kindIPs},
	{code: 4, name: "time-servers", kind: kindIPs},
	{code: 5, name: "name-servers", kind: kindIPs},
	{code: 6, name: "domain-name-servers", kind: kindIPs},
	{code: 7, name: "log-servers", kind: kindIPs},
	{code: 8, name: "cookie-servers", kind: kindIPs},
	{code: 9, name: "lpr-servers", kind: kindIPs},
	{code: 12, name: "host-name", kind: kindOwned, reason: "it is per client; set hostname on a reservation instead"},
	{code: 13, name: "boot-file-size", kind: kindUint16},
	{code: 15, name: "domain-name", kind: kindDomain},
	{code: 16, name: "swap-server", kind: kindIP},
	{code: 17, name: "root-path", kind: kindText},
	{code: 19, name: "ip-forwarding", kind: kindBool},
	{code: 23, name: "default-ip-ttl", kind: kindUint8, lo: 1, hi: 255},
	{code: 26, name: "interface-mtu", kind: kindUint16, lo: 68, hi: 65535},
	{code: 28, name: "broadcast-address", kind: kindIP},
	{code: 35, name: "arp-cache-timeout", kind: kindUint32},
	{code: 40, name: "nis-domain", kind: kindText},
	{code: 41, name: "nis-servers", kind: kindIPs},
	{code: 42, name: "ntp-servers", kind: kindIPs},
	{code: 43, name: "vendor-encapsulated-options", kind: kindHex},
	{code: 44, name: "netbios-name-servers", kind: kindIPs},
	{code: 45, name: "netbios-dd-servers", kind: kindIPs},
	{code: 46, name: "netbios-node-type", kind: kindUint8, lo: 1, hi: 8},
	{code: 47, name: "netbios-scope", kind: kindText},
	{code: 50, name: "requested-ip-address", kind: kindOwned, reason: "clients send it, servers do not"},
	{code: 51, name: "ip-address-lease-time", kind: kindOwned, reason: "the server sends the scope's lease-time; set lease-time instead"},
	{code: 52, name: "option-overload", kind: kindOwned, reason: "the server lays out its own packets"},
	{code: 53, name: "dhcp-message-type", kind: kindOwned, reason: "the server sets it on every message"},
	{code: 54, name: "server-identifier", kind: kindOwned, reason: "the server sends its own address; set server.address instead"},
	{code: 55, name: "parameter-request-list", kind: kindOwned, reason: "clients send it, servers do not"},
	{code: 56, name: "message", kind: kindOwned, reason: "the server writes it when it refuses a request"},
	{code: 57, name: "maximum-dhcp-message-size", kind: kindOwned, reason: "clients send it, servers do not"},
	{code: 58, name: "renewal-time", kind: kindOwned, reason: "the server derives it from lease-time; set lease-time instead"},
	{code: 59, name: "rebinding-time", kind: kindOwned, reason: "the server derives it from lease-time; set lease-time instead"},
	{code: 60, name: "vendor-class-identifier", kind: kindText},
	{code: 61, name: "client-identifier", kind: kindOwned, reason: "clients send it; to reserve an address by it, use a reservation's client-id"},
	{code: 66, name: "tftp-server-name", kind: kindText},
	{code: 67, name: "bootfile-name", kind: kindText},
	{code: 69, name: "smtp-servers", kind: kindIPs},
	{code: 70, name: "pop3-servers", kind: kindIPs},
	{code: 72, name: "www-servers", kind: kindIPs},
	{code: 82, name: "relay-agent-information", kind: kindOwned, reason: "relays add it and the server echoes it back"},
	{code: 100, name: "posix-timezone", kind: kindText},
	{code: 101, name: "tz-database-timezone", kind: kindText},
	{code: 114, name: "captive-portal", kind: kindURI},
	{code: 119, name: "domain-search", kind: kindDomainList},
	{code: 121, name: "classless-static-routes", kind: kindRoutes},
	{code: 150, name: "tftp-server-address", kind: kindIPs},
	{code: 255, name: "end", kind: kindOwned, reason: "it marks the end of the options, not an option"},
}

// OptionName returns the name the file uses for an option code, such as
// "routers", or "option-252" for codes without a name.
func OptionName(code uint8) string {
	if def, ok := optionByCode(code); ok {
		return def.name
	}
	return "option-" + strconv.Itoa(int(code))
}

// optionByCode finds a named option by its code.
func optionByCode(code uint8) (optionDef, bool) {
	for _, def := range optionTable {
		if def.code == code {
			return def, true
		}
	}
	return optionDef{}, false
}

// optionByName finds a named option by its name.
func optionByName(name string) (optionDef, bool) {
	for _, def := range optionTable {
		if def.name == name {
			return def, true
		}
	}
	return optionDef{}, false
}

// optionNames lists the names that may be set, for messages.
func optionNames() []string {
	var names []string
	for _, def := range optionTable {
		if def.kind != kindOwned {
			names = append(names, def.name)
		}
	}
	return names
}

// optionAlias maps names other DHCP servers and habit use to ours, for the
// "did you mean" hint.
func optionAlias(key string) string {
	switch strings.ToLower(key) {
	case "dns", "dns-server", "dns-servers", "domain-name-server", "nameservers":
		return "domain-name-servers"
	case "router", "gateway", "default-gateway":
		return "routers"
	case "ntp", "ntp-server":
		return "ntp-servers"
	case "search", "search-domains", "domain-search-list", "dns-search":
		return "domain-search"
	case "mtu":
		return "interface-mtu"
	case "static-routes", "classless-routes", "routes":
		return "classless-static-routes"
	case "tftp-server", "next-server":
		return "tftp-server-name"
	case "bootfile", "filename", "boot-file-name":
		return "bootfile-name"
	case "domain", "dns-domain":
		return "domain-name"
	case "wpad":
		return "252"
	}
	return ""
}
