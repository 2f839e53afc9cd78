package config

import (
	"net"
	"net/netip"
	"time"
)

// Config is the whole xdhcpd configuration file after parsing, defaulting
// and validation. A *Config returned by Load or Parse is always valid.
type Config struct {
	Server    Server    `yaml:"server"`
	Options   Options   `yaml:"options"` // global options, inherited by every scope
	Dataplane Dataplane `yaml:"dataplane"`
	Scopes    []Scope   `yaml:"scopes"`
	Failover  *Failover `yaml:"failover"` // nil: no failover partner (see failover.go)
}

// Server holds the daemon-wide settings.
type Server struct {
	Interfaces    []string   `yaml:"interfaces"`     // where DHCP is served; at least one
	Address       netip.Addr `yaml:"address"`        // server identifier; zero: first IPv4 of the first interface (resolved at start, not here)
	DataDir       string     `yaml:"data-dir"`       // Badger lease store directory; default /var/lib/xdhcp
	ControlSocket string     `yaml:"control-socket"` // default /run/xdhcp/xdhcpd.sock
	MetricsListen string     `yaml:"metrics-listen"` // host:port; "" disables; default 127.0.0.1:9267
	LogLevel      string     `yaml:"log-level"`      // debug|info|warn|error; default info
	LogFormat     string     `yaml:"log-format"`     // console|json; default console
	OfferHold     Duration   `yaml:"offer-hold"`     // how long an OFFERed address is held for its client; default 10s
	DeclineHold   Duration   `yaml:"decline-hold"`   // how long a DECLINEd address is kept out of use; default 24h
	Workers       int        `yaml:"workers"`        // packet-handling goroutines per interface; default 4*GOMAXPROCS
	CommitBatch   int        `yaml:"commit-batch"`   // most leases in one durable store commit; default 512
	CommitDelay   Duration   `yaml:"commit-delay"`   // how long a lease may wait for others to share its synced commit; default 1ms, 0 disables
	// CacheThresholdPercent is how far into a lease, in percent of the time
	// it was granted for, a client's REQUEST for it is answered with the
	// stored lease and its remaining time, without a write; 0 disables;
	// default 25.
	CacheThresholdPercent int `yaml:"cache-threshold-percent"`
}

// Dataplane configures the XDP program on the serving interfaces.
type Dataplane struct {
	Mode       DataplaneMode `yaml:"mode"`        // auto|native|generic|off; default auto
	RateLimit  RateLimit     `yaml:"rate-limit"`  // per-client flood guard; off when PerClientPPS is 0
	SecsBypass int           `yaml:"secs-bypass"` // a client whose secs field is at least this is answered whatever its hash bucket; 0 disables; default 0 (failover sets it)
	// SourceLimit is the per-source flood guard (Ethernet source and VLAN
	// tags, or relay address and option 82); off when PPS is 0.
	SourceLimit SourceLimit `yaml:"source-limit"`
	// DiscoverBudget caps the DISCOVERs (and BOOTP requests) passed to the
	// control plane, from everyone together; off when PPS is 0.
	DiscoverBudget DiscoverBudget `yaml:"discover-budget"`
	// AFXDP says whether requests the XDP program passes reach the control
	// plane through AF_XDP sockets (skipping the kernel's UDP stack) or
	// through the UDP socket; default auto.
	AFXDP AFXDPMode `yaml:"afxdp"`
}

// AFXDPMode selects the control plane's receive path behind XDP.
type AFXDPMode string

// The AF_XDP modes.
const (
	AFXDPAuto AFXDPMode = "auto" // AF_XDP where XDP is attached and the sockets open; else the UDP socket
	AFXDPOn   AFXDPMode = "on"   // AF_XDP on every interface, or xdhcpd does not start
	AFXDPOff  AFXDPMode = "off"  // the UDP socket only
)

// DataplaneMode selects how the XDP program is attached.
type DataplaneMode string

// The dataplane modes.
const (
	DataplaneAuto    DataplaneMode = "auto"    // native XDP, falling back to generic
	DataplaneNative  DataplaneMode = "native"  // native XDP or fail
	DataplaneGeneric DataplaneMode = "generic" // generic (skb) XDP
	DataplaneOff     DataplaneMode = "off"     // no XDP; the Go filter decides
)

// RateLimit is the per-client (chaddr) token bucket of the flood guard.
type RateLimit struct {
	PerClientPPS uint32 `yaml:"per-client-pps"` // sustained packets per second per client; 0 disables
	Burst        uint32 `yaml:"burst"`          // bucket depth; default 2*PerClientPPS
	TableSize    uint32 `yaml:"table-size"`     // LRU entries; default 65536
}

// SourceLimit is the token bucket per source of the flood guard. A source
// is where a frame entered the network: for a direct client the Ethernet
// source address with the VLAN IDs, for a relayed one the relay's giaddr
// with its option 82 (the subscriber port). Relayed frames are source
// limited only when Relayed is set, and never without option 82: a relay
// that stamps one circuit id on a whole subnet would make it one source.
type SourceLimit struct {
	PPS       uint32 `yaml:"pps"`        // sustained packets per second per source; 0 disables; default DefaultSourcePPS
	Burst     uint32 `yaml:"burst"`      // bucket depth; default 2*PPS
	TableSize uint32 `yaml:"table-size"` // LRU entries; default 65536
	Relayed   bool   `yaml:"relayed"`    // also limit relayed frames, by giaddr and option 82; default false
}

// DiscoverBudget is one token bucket shared by every DISCOVER and BOOTP
// request that passes the other guards.
type DiscoverBudget struct {
	PPS   uint32 `yaml:"pps"`   // sustained DISCOVERs per second passed on; 0 disables (the default)
	Burst uint32 `yaml:"burst"` // bucket depth; default PPS/10, at least 1
	// RetryPPS is the retry lane: once the budget is spent, DISCOVERs a
	// second passed on from clients the budget refused before (their
	// retransmissions), in a bucket of their own; default PPS; 0
	// disables it.
	RetryPPS uint32 `yaml:"retry-pps"`
}

// Protocol says which kinds of client a scope answers.
type Protocol string

// The scope protocols.
const (
	ProtocolDHCP  Protocol = "dhcp"
	ProtocolBOOTP Protocol = "bootp"
	ProtocolBoth  Protocol = "both"
)

// Scope is one subnet served by xdhcpd.
type Scope struct {
	Subnet       netip.Prefix  `yaml:"subnet"`       // masked; required
	Pools        []Range       `yaml:"pools"`        // dynamic ranges inside Subnet; may be empty (reservations only)
	Exclude      []Range       `yaml:"exclude"`      // addresses inside pools never handed out dynamically
	LeaseTime    Duration      `yaml:"lease-time"`   // default 8h
	Protocol     Protocol      `yaml:"protocol"`     // default dhcp
	Options      Options       `yaml:"options"`      // after Parse: the global options merged under the scope's own
	Reservations []Reservation `yaml:"reservations"` // fixed addresses; may lie inside or outside the pools, but inside Subnet
	Line         int           `yaml:"-"`            // line of the scope in the file, for messages
}

// Range is an inclusive range of IPv4 addresses, written "a-b" or a single "a".
type Range struct {
	Start netip.Addr
	End   netip.Addr
}

// Reservation binds one client to one address. Exactly one of HWAddress,
// ClientID and CircuitID identifies the client.
type Reservation struct {
	HWAddress net.HardwareAddr `yaml:"hw-address"` // chaddr
	ClientID  []byte           `yaml:"client-id"`  // option 61 data, including its type byte; written as hex "01:02:..."
	CircuitID []byte           `yaml:"circuit-id"` // option 82 sub-option 1, written as text
	IP        netip.Addr       `yaml:"ip"`
	Hostname  string           `yaml:"hostname"` // sent as option 12 when set
	Line      int              `yaml:"-"`
}

// Options maps DHCP option codes to their wire-encoded values (without code
// and length bytes). Parse encodes named options (routers, domain-name, ...)
// by their known type and numbered ones ("252") from a string, an integer or
// a list of IPv4 addresses, or from "hex:..." bytes.
type Options map[uint8][]byte

// Duration is a time.Duration written as a Go duration ("8h", "90s"), with
// "d" for days ("7d"), or as a whole number of seconds.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
