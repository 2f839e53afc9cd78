package config

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// validate applies the remaining defaults and checks the rules that span
// fields and scopes. Values that failed to decode are absent from cfg, so
// they cause no follow-on complaints here.
func (w *walker) validate(cfg *Config, m *meta) {
	if len(cfg.Server.Interfaces) == 0 && !w.failed("server.interfaces") {
		w.bad(m.server.line, "server.interfaces", "needs at least one interface to serve DHCP on; add interfaces: [eth1] under server:")
	}
	if len(cfg.Scopes) == 0 && !w.failed("scopes") {
		w.bad(m.root.line, "scopes", "needs at least one scope; add a scopes: list with a subnet and pools (see docs/examples/single.yaml)")
	}
	if rl := &cfg.Dataplane.RateLimit; !m.burstSet {
		rl.Burst = 2 * rl.PerClientPPS
	}
	if sl := &cfg.Dataplane.SourceLimit; !m.sourceBurst {
		sl.Burst = 2 * sl.PPS
	}
	if db := &cfg.Dataplane.DiscoverBudget; !m.budgetBurst {
		db.Burst = DiscoverBudgetBurst(db.PPS)
	}
	if db := &cfg.Dataplane.DiscoverBudget; !m.budgetRetry {
		db.RetryPPS = db.PPS
	} else if db.PPS == 0 && db.RetryPPS > 0 {
		w.bad(m.retryLine, "dataplane.discover-budget.retry-pps", "is %d but the discover budget is off (pps 0): the retry lane only takes what the budget refuses; set discover-budget.pps, or remove retry-pps", db.RetryPPS)
	}
	_, globalRouters := cfg.Options[3]
	if routes, ok := cfg.Options[121]; ok && globalRouters && !hasDefaultRoute(routes) {
		w.bad(m.globalLines[121], "options.classless-static-routes", "%s", routesWithoutDefault)
	}
	w.checkSubnetOverlaps(cfg, m)
	for i := range cfg.Scopes {
		w.checkScope(cfg, m, i)
	}
	w.checkPoolOverlaps(cfg, m)
	w.checkReservedIPs(cfg, m)
	w.checkServerAddress(cfg, m)
	w.checkFailover(cfg, m)
}

// failed reports whether a problem was already recorded at or below path.
func (w *walker) failed(path string) bool {
	for _, e := range w.list {
		if e.Path == path || strings.HasPrefix(e.Path, path+".") || strings.HasPrefix(e.Path, path+"[") {
			return true
		}
	}
	return false
}

// checkSubnetOverlaps refuses subnets that share addresses.
func (w *walker) checkSubnetOverlaps(cfg *Config, m *meta) {
	var spans []span
	for i, s := range cfg.Scopes {
		if m.scopes[i].subnet.line > 0 {
			spans = append(spans, span{prefixRange(s.Subnet), i})
		}
	}
	for _, pair := range overlapping(spans) {
		a, b := pair[0], pair[1]
		w.badValue(m.scopes[b].subnet.line, m.scopes[b].subnet.path, cfg.Scopes[b].Subnet.String(),
			"overlaps %s %s (line %d); subnets must not share addresses, so merge them into one scope or correct the prefix",
			m.scopes[a].subnet.path, cfg.Scopes[a].Subnet, m.scopes[a].subnet.line)
	}
}

// checkScope checks one scope's pools, exclusions, reservations and options
// against its subnet.
func (w *walker) checkScope(cfg *Config, m *meta, i int) {
	s, sm := &cfg.Scopes[i], &m.scopes[i]
	if sm.subnet.line > 0 {
		for k, r := range s.Pools {
			w.checkPool(s.Subnet, r, sm.pools[k])
		}
	}
	sorted := append([]Range(nil), s.Pools...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Start.Less(sorted[b].Start) })
	for k, r := range s.Exclude {
		if !within(r, sorted) {
			w.badValue(sm.exclude[k].line, sm.exclude[k].path, r.String(), "is not inside this scope's pools; exclude only addresses a pool holds, or remove it")
		}
	}
	idents := map[string]place{}
	for k, r := range s.Reservations {
		p := sm.reservations[k]
		key, what := reservationKey(r)
		if first, dup := idents[key]; dup {
			w.bad(p.line, p.path, "reserves %s again (first at %s, line %d); a client gets one address per scope, so remove one", what, first.path, first.line)
		} else {
			idents[key] = p
		}
		if sm.subnet.line > 0 {
			w.checkReservationIP(cfg, m, i, r, p)
		}
	}
	w.checkRoutes(cfg, m, i)
}

// checkPool checks that a pool lies inside its subnet and leaves out the
// network and broadcast addresses.
func (w *walker) checkPool(subnet netip.Prefix, r Range, p place) {
	if !subnet.Contains(r.Start) || !subnet.Contains(r.End) {
		w.badValue(p.line, p.path, r.String(), "lies outside the scope's subnet %s; keep pools inside %s", subnet, prefixRange(subnet))
		return
	}
	if e := edges(subnet); e != nil {
		if r.Contains(e[0]) {
			w.badValue(p.line, p.path, r.String(), "holds the network address %s of %s; start the pool at %s or later", e[0], subnet, e[0].Next())
		}
		if r.Contains(e[1]) {
			w.badValue(p.line, p.path, r.String(), "holds the broadcast address %s of %s; end the pool at %s or earlier", e[1], subnet, e[1].Prev())
		}
	}
}

// reservationKey returns a comparable key for a reservation's client and a
// description of it.
func reservationKey(r Reservation) (key, what string) {
	switch {
	case r.HWAddress != nil:
		return "hw:" + string(r.HWAddress), "hw-address " + r.HWAddress.String()
	case r.ClientID != nil:
		return "id:" + string(r.ClientID), fmt.Sprintf("client-id % x", r.ClientID)
	}
	return "ci:" + string(r.CircuitID), fmt.Sprintf("circuit-id %q", r.CircuitID)
}

// checkReservationIP checks that a reservation's address belongs to its own
// scope's subnet and is not its network or broadcast address.
func (w *walker) checkReservationIP(cfg *Config, m *meta, i int, r Reservation, p place) {
	s := &cfg.Scopes[i]
	path := p.path + ".ip"
	if !s.Subnet.Contains(r.IP) {
		for j, other := range cfg.Scopes {
			if j != i && m.scopes[j].subnet.line > 0 && other.Subnet.Contains(r.IP) {
				w.badValue(p.line, path, r.IP.String(), "belongs to %s (subnet %s, line %d), not to this scope's subnet %s; move the reservation to that scope",
					m.scopes[j].path, other.Subnet, m.scopes[j].line, s.Subnet)
				return
			}
		}
		w.badValue(p.line, path, r.IP.String(), "lies outside the scope's subnet %s; reserve an address inside it", s.Subnet)
		return
	}
	for k, e := range edges(s.Subnet) {
		if r.IP == e {
			what := [2]string{"network", "broadcast"}[k]
			w.badValue(p.line, path, r.IP.String(), "is the %s address of %s; reserve another address", what, s.Subnet)
		}
	}
}

// checkRoutes refuses classless static routes without a default route
// alongside routers: clients that get option 121 ignore option 3 (RFC 3442),
// so they would lose their default gateway. The global pair is checked once
// in validate; here a scope is checked when it sets either option itself.
func (w *walker) checkRoutes(cfg *Config, m *meta, i int) {
	s, sm := &cfg.Scopes[i], &m.scopes[i]
	routes, ownRoutes := s.Options[121]
	_, ownRouters := s.Options[3]
	if !ownRoutes && !ownRouters {
		return
	}
	if !ownRoutes {
		routes = cfg.Options[121]
	}
	_, globalRouters := cfg.Options[3]
	if routes == nil || !(ownRouters || globalRouters) || hasDefaultRoute(routes) {
		return
	}
	line, where := sm.optionLines[121], sm.path+".options.classless-static-routes"
	if !ownRoutes {
		line, where = sm.optionLines[3], sm.path+".options.routers"
	}
	w.bad(line, where, "%s", routesWithoutDefault)
}

// routesWithoutDefault explains the routers and classless-static-routes
// conflict.
const routesWithoutDefault = "clients that get classless-static-routes ignore routers (RFC 3442), so they would have no default route; " +
	"add \"0.0.0.0/0 via <router>\" to classless-static-routes, or drop routers"

// checkPoolOverlaps refuses pools that share addresses, within a scope or
// across scopes; the pool later in the file gets the message.
func (w *walker) checkPoolOverlaps(cfg *Config, m *meta) {
	var spans []span
	var places []place
	for i, s := range cfg.Scopes {
		for k, r := range s.Pools {
			spans = append(spans, span{r, len(places)})
			places = append(places, m.scopes[i].pools[k])
		}
	}
	for _, pair := range overlapping(spans) {
		a, b := pair[0], pair[1]
		if places[b].line < places[a].line {
			a, b = b, a
		}
		w.badValue(places[b].line, places[b].path, spans[b].String(), "overlaps %s %q (line %d); pools must not share addresses, so shrink or remove one",
			places[a].path, spans[a].String(), places[a].line)
	}
}

// checkReservedIPs refuses an address reserved twice.
func (w *walker) checkReservedIPs(cfg *Config, m *meta) {
	first := map[netip.Addr]place{}
	for i, s := range cfg.Scopes {
		for k, r := range s.Reservations {
			p := m.scopes[i].reservations[k]
			if f, dup := first[r.IP]; dup {
				w.badValue(p.line, p.path+".ip", r.IP.String(), "is already reserved by %s (line %d); each address can be reserved once", f.path, f.line)
				continue
			}
			first[r.IP] = p
		}
	}
}

// checkServerAddress refuses a server address that a client could be given.
func (w *walker) checkServerAddress(cfg *Config, m *meta) {
	a := cfg.Server.Address
	if !a.IsValid() {
		return
	}
	for i, s := range cfg.Scopes {
		for k, r := range s.Pools {
			if r.Contains(a) && !excluded(s, a) {
				p := m.scopes[i].pools[k]
				w.badValue(m.address.line, m.address.path, a.String(), "lies in %s %q (line %d), so it could be leased to a client; exclude it or move the pool", p.path, r.String(), p.line)
			}
		}
		for k, r := range s.Reservations {
			if r.IP == a {
				p := m.scopes[i].reservations[k]
				w.badValue(m.address.line, m.address.path, a.String(), "is reserved for a client by %s (line %d); reserve another address", p.path, p.line)
			}
		}
	}
}

// excluded reports whether a lies in one of the scope's exclude ranges.
func excluded(s Scope, a netip.Addr) bool {
	for _, r := range s.Exclude {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// DiscoverBudgetBurst is the discover budget's default depth for pps: a
// tenth of a second's worth, at least 1 (0 when the budget is off).
func DiscoverBudgetBurst(pps uint32) uint32 {
	if pps == 0 {
		return 0
	}
	return max(pps/10, 1)
}
