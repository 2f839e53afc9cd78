package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// place is where a decoded value came from, for messages about it.
type place struct {
	path string
	line int
}

// meta keeps the places of decoded values for the checks that span fields.
// Its slices run parallel to the Config's.
type meta struct {
	root        place
	server      place // the server section, or the root when it is missing
	address     place
	globalLines map[uint8]int
	burstSet    bool
	sourceBurst bool // source-limit.burst was given
	budgetBurst bool // discover-budget.burst was given
	budgetRetry bool // discover-budget.retry-pps was given
	retryLine   int  // its line
	scopes      []scopeMeta
	failover    *failoverMeta
}

// scopeMeta keeps the places inside one scope.
type scopeMeta struct {
	place
	subnet       place // line 0: the subnet is missing or bad, so checks that need it are skipped
	pools        []place
	exclude      []place
	reservations []place
	optionLines  map[uint8]int
}

// config decodes the top level.
func (w *walker) config(root *yaml.Node, cfg *Config, m *meta) {
	m.root = place{line: root.Line}
	m.server = m.root
	w.mapping(root, "", []field{
		{"server", func(n *yaml.Node, p string) {
			m.server = place{p, n.Line}
			w.server(n, p, &cfg.Server, m)
		}},
		{"options", func(n *yaml.Node, p string) { cfg.Options = w.options(n, p, m.globalLines) }},
		{"dataplane", func(n *yaml.Node, p string) { w.dataplane(n, p, &cfg.Dataplane, m) }},
		{"scopes", func(n *yaml.Node, p string) {
			w.sequence(n, p, func(item *yaml.Node, p string) {
				if s, sm, ok := w.scope(item, p); ok {
					cfg.Scopes = append(cfg.Scopes, s)
					m.scopes = append(m.scopes, sm)
				}
			})
		}},
		{"failover", func(n *yaml.Node, p string) { w.failover(n, p, cfg, m) }},
	})
}

// server decodes the server section.
func (w *walker) server(n *yaml.Node, path string, s *Server, m *meta) {
	w.mapping(n, path, []field{
		{"interfaces", func(n *yaml.Node, p string) { s.Interfaces = w.interfaces(n, p) }},
		{"address", func(n *yaml.Node, p string) {
			v, ok := w.scalar(n, p)
			if !ok {
				return
			}
			a, err := parseIPv4(v)
			switch {
			case err != nil:
				w.badValue(n.Line, p, v, "%v", err)
			case a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
				w.badValue(n.Line, p, v, "must be a unicast address of this host; write one of its addresses, or remove the key to use the first IPv4 address of the first interface")
			default:
				s.Address = a
				m.address = place{p, n.Line}
			}
		}},
		{"data-dir", textField(w, &s.DataDir, nonEmpty("a directory such as "+DefaultDataDir))},
		{"control-socket", textField(w, &s.ControlSocket, checkSocketPath)},
		{"metrics-listen", textField(w, &s.MetricsListen, checkListen)},
		{"log-level", choiceField(w, &s.LogLevel, "debug", "info", "warn", "error")},
		{"log-format", choiceField(w, &s.LogFormat, "console", "json")},
		{"offer-hold", durationField(w, &s.OfferHold, Duration(time.Second), Duration(10*time.Minute), false)},
		{"decline-hold", durationField(w, &s.DeclineHold, Duration(time.Minute), Duration(365*day), false)},
		{"workers", intField(w, &s.Workers, 1, 4096)},
		{"commit-batch", intField(w, &s.CommitBatch, 1, 65536)},
		{"commit-delay", durationField(w, &s.CommitDelay, 0, Duration(100*time.Millisecond), false)},
		{"cache-threshold-percent", intField(w, &s.CacheThresholdPercent, 0, 100)},
	})
}

// interfaces decodes the list of interface names, refusing names Linux
// would refuse and names given twice.
func (w *walker) interfaces(n *yaml.Node, path string) []string {
	var names []string
	seen := map[string]bool{}
	w.sequence(n, path, func(item *yaml.Node, p string) {
		s, ok := w.scalar(item, p)
		if !ok {
			return
		}
		switch {
		case s == "" || len(s) > 15 || s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n"):
			w.badValue(item.Line, p, s, "not an interface name; Linux names are 1 to 15 characters without '/', ':' or spaces, like eth1")
		case seen[s]:
			w.badValue(item.Line, p, s, "listed twice; remove one")
		default:
			seen[s] = true
			names = append(names, s)
		}
	})
	return names
}

// nonEmpty refuses an empty string, suggesting example.
func nonEmpty(example string) func(string) string {
	return func(s string) string {
		if s == "" {
			return "must not be empty; write " + example
		}
		return ""
	}
}

// checkSocketPath accepts a path that fits a Unix socket address.
func checkSocketPath(s string) string {
	if s == "" {
		return "must not be empty; write a path such as " + DefaultControlSocket
	}
	if len(s) > 107 {
		return "longer than the 107 bytes a Unix socket path may have; use a shorter path"
	}
	return ""
}

// checkListen accepts "" (metrics off) or host:port.
func checkListen(s string) string {
	if s == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || !digitsOnly(port) || len(port) > 5 || strings.ContainsAny(host, " /") {
		return "write host:port such as 127.0.0.1:9267 or [::1]:9267, or \"\" to turn metrics off"
	}
	if p, _ := strconv.Atoi(port); p > 65535 {
		return "port must be at most 65535"
	}
	return ""
}

// dataplane decodes the dataplane section.
func (w *walker) dataplane(n *yaml.Node, path string, d *Dataplane, m *meta) {
	w.mapping(n, path, []field{
		{"mode", choiceField(w, &d.Mode, DataplaneAuto, DataplaneNative, DataplaneGeneric, DataplaneOff)},
		{"rate-limit", w.tokenBucket(tokenBucketFields{ppsKey: "per-client-pps", pps: &d.RateLimit.PerClientPPS,
			burst: &d.RateLimit.Burst, burstSet: &m.burstSet, tableSize: &d.RateLimit.TableSize, maxPPS: 1_000_000})},
		{"secs-bypass", intField(w, &d.SecsBypass, 0, math.MaxUint16)},
		{"source-limit", w.tokenBucket(tokenBucketFields{ppsKey: "pps", pps: &d.SourceLimit.PPS,
			burst: &d.SourceLimit.Burst, burstSet: &m.sourceBurst, tableSize: &d.SourceLimit.TableSize, maxPPS: 1_000_000,
			more: []field{{"relayed", boolField(w, &d.SourceLimit.Relayed)}}})},
		{"discover-budget", w.tokenBucket(tokenBucketFields{ppsKey: "pps", pps: &d.DiscoverBudget.PPS,
			burst: &d.DiscoverBudget.Burst, burstSet: &m.budgetBurst, maxPPS: 100_000_000,
			more: []field{{"retry-pps", func(n *yaml.Node, p string) {
				m.budgetRetry, m.retryLine = true, n.Line
				intField(w, &d.DiscoverBudget.RetryPPS, 0, 100_000_000)(n, p)
			}}}})},
		{"afxdp", choiceField(w, &d.AFXDP, AFXDPAuto, AFXDPOn, AFXDPOff)},
	})
}

// tokenBucketFields names where a token bucket section of dataplane is
// decoded to. tableSize is nil for a bucket without a table.
type tokenBucketFields struct {
	ppsKey    string
	pps       *uint32
	burst     *uint32
	burstSet  *bool
	tableSize *uint32
	maxPPS    int64   // burst may be up to twice this
	more      []field // keys of this bucket alone
}

// tokenBucket decodes a rate, burst and table size mapping.
func (w *walker) tokenBucket(f tokenBucketFields) func(*yaml.Node, string) {
	return func(n *yaml.Node, p string) {
		fields := []field{
			{f.ppsKey, intField(w, f.pps, 0, f.maxPPS)},
			{"burst", func(n *yaml.Node, p string) {
				*f.burstSet = true
				intField(w, f.burst, 1, 2*f.maxPPS)(n, p)
			}},
		}
		if f.tableSize != nil {
			fields = append(fields, field{"table-size", intField(w, f.tableSize, 1, 1<<24)})
		}
		w.mapping(n, p, append(fields, f.more...))
	}
}

// boolField decodes true or false into dst.
func boolField(w *walker, dst *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := w.scalar(n, path)
		if !ok {
			return
		}
		if n.ShortTag() != "!!bool" || n.Decode(dst) != nil {
			w.badValue(n.Line, path, s, "must be true or false")
		}
	}
}

// scope decodes one scope. ok is false when it is not a mapping at all.
func (w *walker) scope(n *yaml.Node, path string) (s Scope, sm scopeMeta, ok bool) {
	s = Scope{LeaseTime: DefaultLeaseTime, Protocol: ProtocolDHCP, Options: Options{}, Line: n.Line}
	sm = scopeMeta{place: place{path, n.Line}, optionLines: map[uint8]int{}}
	haveSubnet := false
	ok = w.mapping(n, path, []field{
		{"subnet", func(n *yaml.Node, p string) {
			haveSubnet = true
			if v, ok := w.scalar(n, p); ok {
				if pfx, msg := parseSubnet(v); msg != "" {
					w.badValue(n.Line, p, v, "%s", msg)
				} else {
					s.Subnet = pfx
					sm.subnet = place{p, n.Line}
				}
			}
		}},
		{"pools", func(n *yaml.Node, p string) { s.Pools, sm.pools = w.ranges(n, p) }},
		{"exclude", func(n *yaml.Node, p string) { s.Exclude, sm.exclude = w.ranges(n, p) }},
		{"lease-time", durationField(w, &s.LeaseTime, Duration(time.Minute), Duration(math.MaxUint32-1)*Duration(time.Second), true)},
		{"protocol", choiceField(w, &s.Protocol, ProtocolDHCP, ProtocolBOOTP, ProtocolBoth)},
		{"options", func(n *yaml.Node, p string) { s.Options = w.options(n, p, sm.optionLines) }},
		{"reservations", func(n *yaml.Node, p string) {
			w.sequence(n, p, func(item *yaml.Node, p string) {
				if r, ok := w.reservation(item, p); ok {
					s.Reservations = append(s.Reservations, r)
					sm.reservations = append(sm.reservations, place{p, item.Line})
				}
			})
		}},
	})
	if ok && !haveSubnet {
		w.bad(n.Line, path, "has no subnet; add subnet: with the prefix it serves, like subnet: 192.0.2.0/24")
	}
	return s, sm, ok
}

// parseSubnet reads an IPv4 prefix with no host bits set.
func parseSubnet(v string) (netip.Prefix, string) {
	pfx, err := netip.ParsePrefix(strings.TrimSpace(v))
	switch {
	case err != nil && !strings.Contains(v, "/"):
		return pfx, "needs a prefix length; write it like 192.0.2.0/24"
	case err != nil || !pfx.Addr().Is4():
		return pfx, "not an IPv4 prefix; write it like 192.0.2.0/24"
	case pfx.Masked() != pfx:
		return pfx, fmt.Sprintf("host bits are set; write %s", pfx.Masked())
	case pfx.Bits() == 0:
		return pfx, "a /0 subnet covers every address; write the prefix of the link you serve"
	case pfx.Overlaps(netip.MustParsePrefix("224.0.0.0/3")):
		return pfx, "multicast and reserved addresses (224.0.0.0/3) cannot be leased; use a unicast prefix"
	}
	return pfx, ""
}

// ranges decodes a list of address ranges.
func (w *walker) ranges(n *yaml.Node, path string) ([]Range, []place) {
	var rs []Range
	var places []place
	w.sequence(n, path, func(item *yaml.Node, p string) {
		s, ok := w.scalar(item, p)
		if !ok {
			return
		}
		r, err := parseRange(s)
		if err != nil {
			w.badValue(item.Line, p, s, "%v", err)
			return
		}
		rs = append(rs, r)
		places = append(places, place{p, item.Line})
	})
	return rs, places
}

// reservation decodes one reservation; ok is false if it is unusable.
func (w *walker) reservation(n *yaml.Node, path string) (Reservation, bool) {
	r := Reservation{Line: n.Line}
	before := len(w.list)
	var idents []string
	ident := func(key string, parse func(string) error) field {
		return field{key, func(n *yaml.Node, p string) {
			idents = append(idents, key)
			if v, ok := w.scalar(n, p); ok {
				if err := parse(v); err != nil {
					w.badValue(n.Line, p, v, "%v", err)
				}
			}
		}}
	}
	isMap := w.mapping(n, path, []field{
		ident("hw-address", func(v string) (err error) { r.HWAddress, err = parseMAC(v); return err }),
		ident("client-id", func(v string) (err error) { r.ClientID, err = parseClientID(v); return err }),
		ident("circuit-id", func(v string) (err error) { r.CircuitID, err = parseCircuitID(v); return err }),
		{"ip", func(n *yaml.Node, p string) {
			if v, ok := w.scalar(n, p); ok {
				a, err := parseIPv4(v)
				if err != nil {
					w.badValue(n.Line, p, v, "%v", err)
				}
				r.IP = a
			}
		}},
		{"hostname", textField(w, &r.Hostname, checkHostname)},
	})
	if !isMap {
		return r, false
	}
	switch {
	case len(idents) == 0:
		w.bad(n.Line, path, "names no client; give exactly one of hw-address, client-id or circuit-id")
	case len(idents) > 1:
		w.bad(n.Line, path, "names the client more than one way (%s); keep exactly one", strings.Join(idents, ", "))
	}
	if !r.IP.IsValid() && len(w.list) == before {
		w.bad(n.Line, path, "has no ip; add the address to reserve, like ip: 192.0.2.10")
	}
	return r, len(w.list) == before
}

// parseClientID reads option 61 data written as hex; RFC 2132 wants at
// least two bytes (a type and one byte of identifier).
func parseClientID(v string) ([]byte, error) {
	b, err := parseHex(v)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || len(b) > maxOptionLen {
		return nil, fmt.Errorf("a client identifier is 2 to %d bytes: a type byte and the identifier, like 01:02:00:00:00:00:09", maxOptionLen)
	}
	return b, nil
}

// parseCircuitID reads an option 82 circuit id: text as written, or raw
// bytes after "hex:".
func parseCircuitID(v string) ([]byte, error) {
	if strings.HasPrefix(v, "hex:") {
		b, err := parseHex(v)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	if v == "" || len(v) > maxOptionLen {
		return nil, fmt.Errorf("a circuit id is 1 to %d bytes; write it as the relay sends it, like eth0/1/3:100, or as hex:...", maxOptionLen)
	}
	return []byte(v), nil
}
