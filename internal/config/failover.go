package config

import (
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Failover is the optional failover section: this server and one partner
// serve the same scopes (docs/FAILOVER.md). Absent: Config.Failover is nil.
type Failover struct {
	Name                    string         `yaml:"name"`                      // relationship name, the same on both partners; required
	Role                    FailoverRole   `yaml:"role"`                      // primary|secondary; required
	Listen                  string         `yaml:"listen"`                    // host:port this server accepts the partner on (port default 647); required
	Partner                 string         `yaml:"partner"`                   // host:port of the partner (port default 647); required
	Mode                    FailoverMode   `yaml:"mode"`                      // load-balance|hot-standby; default load-balance
	LoadBalancePercent      int            `yaml:"load-balance-percent"`      // the primary's share of clients and free addresses; default 50
	HotStandby              HotStandby     `yaml:"hot-standby"`               // hot-standby mode settings
	MCLT                    Duration       `yaml:"mclt"`                      // maximum client lead time; default 1h
	StateSwitchoverInterval Duration       `yaml:"state-switchover-interval"` // COMMUNICATIONS-INTERRUPTED to PARTNER-DOWN after this; 0 (omitted): only by command
	SharedSecretFile        string         `yaml:"shared-secret-file"`        // HMAC-SHA256 key file; "": unauthenticated
	MaxUnackedBndUpd        int            `yaml:"max-unacked-bndupd"`        // binding updates in flight; default 1000
	LoadBalanceMaxSeconds   int            `yaml:"load-balance-max-seconds"`  // clients whose secs reach this are answered whatever their bucket; default 3
	MaxResponseDelay        Duration       `yaml:"max-response-delay"`        // partner silence after which the link is declared lost; default 10s
	MaxClockSkew            Duration       `yaml:"max-clock-skew"`            // warn when the partner's clock differs more; default 5s
	Scopes                  []netip.Prefix `yaml:"scopes"`                    // subnets under failover; each must be a configured scope's subnet; default all scopes
	ReplicateScopes         ReplicateMode  `yaml:"replicate-scopes"`          // manual|auto: push the failover scopes' settings to the partner only by command, or also after every reload and on reconnect; default manual
	StopState               StopState      `yaml:"stop-state"`                // paused|shutdown: the state a stopping server announces; default paused
	Line                    int            `yaml:"-"`                         // line of the section, for messages
}

// FailoverRole is the server's role in the pair.
type FailoverRole string

// The failover roles.
const (
	FailoverPrimary   FailoverRole = "primary"
	FailoverSecondary FailoverRole = "secondary"
)

// FailoverMode is how the partners share the clients.
type FailoverMode string

// The failover modes.
const (
	FailoverLoadBalance FailoverMode = "load-balance"
	FailoverHotStandby  FailoverMode = "hot-standby"
)

// ReplicateMode says when the failover scopes' settings are pushed to the
// partner (docs/FAILOVER.md, "Scope settings replication").
type ReplicateMode string

// The replication modes.
const (
	ReplicateManual ReplicateMode = "manual" // only xdhcpctl failover replicate
	ReplicateAuto   ReplicateMode = "auto"   // also after every successful reload and on every connection
)

// StopState is the state a stopping server announces to its partner.
type StopState string

// The stop states (draft-12 §9's PAUSED and SHUTDOWN).
const (
	StopPaused   StopState = "paused"   // a restart: the partner serves alone in COMMUNICATIONS-INTERRUPTED; the default
	StopShutdown StopState = "shutdown" // a long stop: the partner takes over at once (PARTNER-DOWN), as ISC dhcpd does
)

// HotStandby holds the failover hot-standby settings.
type HotStandby struct {
	ServerRole     string `yaml:"server-role"`     // active|standby; required in hot-standby mode
	ReservePercent int    `yaml:"reserve-percent"` // the standby's share of free addresses; default 5
}

// Failover defaults.
const (
	DefaultFailoverPort          = 647
	DefaultFailoverPercent       = 50
	DefaultFailoverReserve       = 5
	DefaultFailoverMCLT          = Duration(time.Hour)
	DefaultFailoverMaxUnacked    = 1000
	DefaultFailoverLBMaxSeconds  = 3
	DefaultFailoverResponseDelay = Duration(10 * time.Second)
	DefaultFailoverMaxClockSkew  = Duration(5 * time.Second)
	failoverExample              = "failover:\n  name: edge-pair\n  role: primary\n  listen: 192.0.2.1:647\n  partner: 192.0.2.2:647"
)

// failoverMeta keeps the places inside the failover section.
type failoverMeta struct {
	place
	scopes []place
	keys   map[string]int // lines of the keys given
}

// failover decodes the failover section.
func (w *walker) failover(n *yaml.Node, path string, cfg *Config, m *meta) {
	f := &Failover{
		Mode: FailoverLoadBalance, LoadBalancePercent: DefaultFailoverPercent,
		HotStandby: HotStandby{ReservePercent: DefaultFailoverReserve},
		MCLT:       DefaultFailoverMCLT, MaxUnackedBndUpd: DefaultFailoverMaxUnacked,
		LoadBalanceMaxSeconds: DefaultFailoverLBMaxSeconds, MaxResponseDelay: DefaultFailoverResponseDelay,
		MaxClockSkew: DefaultFailoverMaxClockSkew, ReplicateScopes: ReplicateManual, StopState: StopPaused, Line: n.Line,
	}
	fm := &failoverMeta{place: place{path, n.Line}, keys: map[string]int{}}
	seen := func(key string, decode func(*yaml.Node, string)) func(*yaml.Node, string) {
		return func(n *yaml.Node, p string) {
			fm.keys[key] = n.Line
			decode(n, p)
		}
	}
	ok := w.mapping(n, path, []field{
		{"name", seen("name", textField(w, &f.Name, checkRelationshipName))},
		{"role", seen("role", choiceField(w, &f.Role, FailoverPrimary, FailoverSecondary))},
		{"listen", seen("listen", hostPortField(w, &f.Listen, true))},
		{"partner", seen("partner", hostPortField(w, &f.Partner, false))},
		{"mode", seen("mode", choiceField(w, &f.Mode, FailoverLoadBalance, FailoverHotStandby))},
		{"load-balance-percent", intField(w, &f.LoadBalancePercent, 0, 100)},
		{"hot-standby", func(n *yaml.Node, p string) {
			w.mapping(n, p, []field{
				{"server-role", seen("server-role", func(n *yaml.Node, p string) {
					choiceField(w, &f.HotStandby.ServerRole, "active", "standby")(n, p)
				})},
				{"reserve-percent", intField(w, &f.HotStandby.ReservePercent, 0, 100)},
			})
		}},
		{"mclt", durationField(w, &f.MCLT, Duration(time.Second), Duration(math.MaxUint32)*Duration(time.Second), true)},
		{"state-switchover-interval", seen("state-switchover-interval", durationField(w, &f.StateSwitchoverInterval, Duration(time.Second), Duration(365*day), false))},
		{"shared-secret-file", textField(w, &f.SharedSecretFile, nonEmpty("a path such as /etc/xdhcp/failover.secret, or remove the key to run unauthenticated"))},
		{"max-unacked-bndupd", intField(w, &f.MaxUnackedBndUpd, 1, 65535)},
		{"load-balance-max-seconds", intField(w, &f.LoadBalanceMaxSeconds, 0, math.MaxUint16)},
		{"max-response-delay", durationField(w, &f.MaxResponseDelay, Duration(time.Second), Duration(time.Hour), true)},
		{"max-clock-skew", durationField(w, &f.MaxClockSkew, Duration(time.Second), Duration(day), false)},
		{"replicate-scopes", choiceField(w, &f.ReplicateScopes, ReplicateManual, ReplicateAuto)},
		{"stop-state", choiceField(w, &f.StopState, StopPaused, StopShutdown)},
		{"scopes", func(n *yaml.Node, p string) {
			w.sequence(n, p, func(item *yaml.Node, p string) {
				v, ok := w.scalar(item, p)
				if !ok {
					return
				}
				pfx, msg := parseSubnet(v)
				if msg != "" {
					w.badValue(item.Line, p, v, "%s", msg)
					return
				}
				f.Scopes = append(f.Scopes, pfx)
				fm.scopes = append(fm.scopes, place{p, item.Line})
			})
		}},
	})
	if ok {
		cfg.Failover = f
		m.failover = fm
	}
}

// checkRelationshipName accepts what fits the relationship-name option.
func checkRelationshipName(s string) string {
	switch {
	case s == "":
		return "must not be empty; write the relationship's name, the same on both partners, e.g. edge-pair"
	case len(s) > 255:
		return "longer than 255 bytes; use a shorter name"
	}
	return ""
}

// hostPortField decodes host or host:port (port default 647) into dst as
// host:port. listen demands an IP address for the host.
func hostPortField(w *walker, dst *string, listen bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := w.scalar(n, path)
		if !ok {
			return
		}
		host, port := s, strconv.Itoa(DefaultFailoverPort)
		if h, p, err := net.SplitHostPort(s); err == nil {
			host, port = h, p
		}
		pn, err := strconv.Atoi(port)
		switch {
		case host == "" || strings.ContainsAny(host, " /"):
			w.badValue(n.Line, path, s, "write host:port such as 192.0.2.1:647 (the port defaults to 647)")
		case err != nil || !digitsOnly(port) || pn < 1 || pn > 65535:
			w.badValue(n.Line, path, s, "port must be a number from 1 to 65535, such as 647")
		case listen && !isIP(host):
			w.badValue(n.Line, path, s, "the host must be an IP address of this server, such as 192.0.2.1:647")
		default:
			*dst = net.JoinHostPort(host, port)
		}
	}
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// checkFailover applies the rules that span the failover section and the
// scopes.
func (w *walker) checkFailover(cfg *Config, m *meta) {
	f, fm := cfg.Failover, m.failover
	if f == nil {
		return
	}
	for _, req := range []struct{ key, example string }{
		{"name", "name: edge-pair (the same on both partners)"},
		{"role", "role: primary (and role: secondary on the partner)"},
		{"listen", "listen: 192.0.2.1:647 (an address of this server)"},
		{"partner", "partner: 192.0.2.2:647"},
	} {
		if _, ok := fm.keys[req.key]; !ok && !w.failed(child("failover", req.key)) {
			w.bad(fm.line, "failover."+req.key, "is required in a failover section; add %s", req.example)
		}
	}
	if f.Mode == FailoverHotStandby && f.HotStandby.ServerRole == "" && !w.failed("failover.hot-standby") {
		w.bad(fm.line, "failover.hot-standby.server-role", "is required in hot-standby mode; write hot-standby: {server-role: active} on one partner and {server-role: standby} on the other")
	}
	if f.Listen != "" && f.Listen == f.Partner {
		w.badValue(fm.keys["partner"], "failover.partner", f.Partner, "is the same as failover.listen; give the partner's address")
	}
	if f.StateSwitchoverInterval > 0 && f.StateSwitchoverInterval < f.MaxResponseDelay {
		w.badValue(fm.keys["state-switchover-interval"], "failover.state-switchover-interval", f.StateSwitchoverInterval.String(),
			"is shorter than max-response-delay (%s): the partner would be declared down before its loss is even noticed; make it longer, or remove it", f.MaxResponseDelay)
	}
	seen := map[netip.Prefix]place{}
	for i, pfx := range f.Scopes {
		p := fm.scopes[i]
		if first, dup := seen[pfx]; dup {
			w.badValue(p.line, p.path, pfx.String(), "listed twice (first on line %d); remove one", first.line)
			continue
		}
		seen[pfx] = p
		found := false
		for _, s := range cfg.Scopes {
			found = found || s.Subnet == pfx
		}
		if !found && !w.failed("scopes") {
			w.badValue(p.line, p.path, pfx.String(), "is not the subnet of any scope; list subnets of the scopes: section, or remove the key to put every scope under failover")
		}
	}
	if len(f.Scopes) == 0 {
		for _, s := range cfg.Scopes {
			f.Scopes = append(f.Scopes, s.Subnet)
		}
	}
}
