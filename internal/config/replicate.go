package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// ReplicatedFile is the File of problems found in scopes replicated from
// the failover partner.
const ReplicatedFile = "(scopes replicated from the failover partner)"

// ReplaceScopes returns a copy of base in which the failover scopes are
// replaced by scopes, settings replicated from the failover partner
// (docs/FAILOVER.md, "Scope settings replication"). The replicated scopes
// must cover exactly base's failover subnets, and the result must pass the
// checks a configuration file passes. Their options are kept as sent: the
// partner merged its global options into them already, so base's global
// options are not merged again. base is not changed; on error nothing is
// returned.
func ReplaceScopes(base *Config, scopes []Scope) (out *Config, err error) {
	defer func() {
		// A check that meets a value no file could produce must refuse
		// the settings, not take the daemon down.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("config: replicated scopes refused: %v", r)
		}
	}()
	if base == nil || base.Failover == nil {
		return nil, errors.New("config: scopes can be replicated only into a configuration with a failover section")
	}
	if err := sameSubnets(base.Failover.Scopes, scopes); err != nil {
		return nil, err
	}
	cfg := *base
	cfg.Failover = nil // its own checks ran when base was parsed
	cfg.Scopes = slices.Clone(base.Scopes)
	replicated := map[int]bool{}
	for _, s := range scopes {
		for i := range cfg.Scopes {
			if cfg.Scopes[i].Subnet == s.Subnet {
				s.Line = 0
				cfg.Scopes[i] = s
				replicated[i] = true
			}
		}
	}
	w := &walker{problems: problems{file: ReplicatedFile}}
	// Explicit bursts must stay as they are: validate only defaults them.
	m := &meta{root: place{line: 1}, server: place{"server", 1}, address: place{"server.address", 1},
		globalLines: map[uint8]int{}, burstSet: true, sourceBurst: true, budgetBurst: true, budgetRetry: true}
	for i, s := range cfg.Scopes {
		m.scopes = append(m.scopes, syntheticScopeMeta(s, fmt.Sprintf("scopes[%s]", s.Subnet)))
		if replicated[i] {
			w.checkReplicatedScope(s, m.scopes[i].path)
		}
	}
	// The spanning checks assume values that decoded: run them only on
	// scopes that passed the checks above.
	if len(w.list) == 0 {
		w.validate(&cfg, m)
	}
	for _, e := range w.list {
		// The lines are synthetic: drop them and the references to them.
		e.Line = 0
		e.Msg = strings.NewReplacer(" (line 1)", "", ", line 1)", ")").Replace(e.Msg)
	}
	if err := w.err(); err != nil {
		return nil, err
	}
	cfg.Failover = base.Failover
	return &cfg, nil
}

// sameSubnets checks that the replicated scopes are exactly the failover
// subnets, each once.
func sameSubnets(want []netip.Prefix, scopes []Scope) error {
	var errs []error
	got := map[netip.Prefix]bool{}
	for _, s := range scopes {
		switch {
		case got[s.Subnet]:
			errs = append(errs, fmt.Errorf("config: replicated scope %s appears twice", s.Subnet))
		case !slices.Contains(want, s.Subnet):
			errs = append(errs, fmt.Errorf("config: replicated scope %s is not under failover here; list it in failover.scopes on both partners (or remove it from the partner's)", s.Subnet))
		}
		got[s.Subnet] = true
	}
	for _, p := range want {
		if !got[p] {
			errs = append(errs, fmt.Errorf("config: failover scope %s is missing from the replicated settings; both partners must list the same failover.scopes", p))
		}
	}
	return errors.Join(errs...)
}

// syntheticScopeMeta gives a scope that was not read from a file the
// places the checks need (every line 1, so that none is skipped).
func syntheticScopeMeta(s Scope, path string) scopeMeta {
	sm := scopeMeta{place: place{path, 1}, subnet: place{path + ".subnet", 1}, optionLines: map[uint8]int{}}
	for k := range s.Pools {
		sm.pools = append(sm.pools, place{index(path+".pools", k), 1})
	}
	for k := range s.Exclude {
		sm.exclude = append(sm.exclude, place{index(path+".exclude", k), 1})
	}
	for k := range s.Reservations {
		sm.reservations = append(sm.reservations, place{index(path+".reservations", k), 1})
	}
	for code := range s.Options {
		sm.optionLines[code] = 1
	}
	return sm
}

// checkReplicatedScope applies to a scope built elsewhere the checks that
// decoding applies to a file's scope.
func (w *walker) checkReplicatedScope(s Scope, path string) {
	if _, msg := parseSubnet(s.Subnet.String()); msg != "" || !s.Subnet.IsValid() {
		w.badValue(1, path+".subnet", s.Subnet.String(), "not a usable subnet: %s", msg)
	}
	for name, list := range map[string][]Range{"pools": s.Pools, "exclude": s.Exclude} {
		for k, r := range list {
			if !r.Start.Is4() || !r.End.Is4() || r.End.Less(r.Start) {
				w.badValue(1, index(path+"."+name, k), r.String(), "not a range of IPv4 addresses with the lower one first")
			}
		}
	}
	if lt := s.LeaseTime.D(); lt < time.Minute || lt > time.Duration(math.MaxUint32-1)*time.Second {
		w.badValue(1, path+".lease-time", s.LeaseTime.String(), "out of range; want 1m to %ds", uint32(math.MaxUint32-1))
	}
	if s.Protocol != ProtocolDHCP && s.Protocol != ProtocolBOOTP && s.Protocol != ProtocolBoth {
		w.badValue(1, path+".protocol", string(s.Protocol), "must be one of dhcp, bootp, both")
	}
	for code, v := range s.Options {
		p := fmt.Sprintf("%s.options.%d", path, code)
		def, known := optionByCode(code)
		switch {
		case code == 0 || code == 255:
			w.bad(1, p, "option codes run from 1 to 254")
		case known && def.kind == kindOwned:
			w.bad(1, p, "option %d (%s) cannot be set: %s", code, def.name, def.reason)
		case len(v) > maxOptionLen:
			w.bad(1, p, "holds %d bytes; an option holds at most %d", len(v), maxOptionLen)
		case known && (def.kind == kindIPs || def.kind == kindIP) && (len(v) == 0 || len(v)%4 != 0 || def.kind == kindIP && len(v) != 4):
			w.bad(1, p, "option %d (%s) holds %d bytes, not IPv4 addresses", code, def.name, len(v))
		}
	}
	for k, r := range s.Reservations {
		w.checkReplicatedReservation(r, index(path+".reservations", k))
	}
}

func (w *walker) checkReplicatedReservation(r Reservation, p string) {
	idents := 0
	for _, id := range [][]byte{r.HWAddress, r.ClientID, r.CircuitID} {
		if id != nil {
			idents++
		}
	}
	switch {
	case idents != 1:
		w.bad(1, p, "names its client %d ways; exactly one of hw-address, client-id or circuit-id", idents)
	case r.HWAddress != nil && (len(r.HWAddress) == 0 || len(r.HWAddress) > 16):
		w.bad(1, p+".hw-address", "is %d bytes; a hardware address is 1 to 16", len(r.HWAddress))
	case r.ClientID != nil && (len(r.ClientID) < 2 || len(r.ClientID) > maxOptionLen):
		w.bad(1, p+".client-id", "is %d bytes; a client identifier is 2 to %d", len(r.ClientID), maxOptionLen)
	case r.CircuitID != nil && (len(r.CircuitID) == 0 || len(r.CircuitID) > maxOptionLen):
		w.bad(1, p+".circuit-id", "is %d bytes; a circuit id is 1 to %d", len(r.CircuitID), maxOptionLen)
	}
	if !r.IP.Is4() {
		w.bad(1, p+".ip", "is not an IPv4 address")
	}
	if r.Hostname != "" {
		if msg := checkHostname(r.Hostname); msg != "" {
			w.badValue(1, p+".hostname", r.Hostname, "%s", msg)
		}
	}
}
