package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/control/handler"
	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

// ServeControl answers xdhcpctl on a Unix socket at path until ctx ends.
// A stale socket file from a crashed daemon is replaced.
func (s *Server) ServeControl(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("server.control-socket: create directory of %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("server.control-socket: remove stale %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("server.control-socket: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("server.control-socket: chmod %s: %w", path, err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go func() {
		defer os.Remove(path)
		for {
			conn, err := ln.Accept()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("control socket accept", zap.Error(err))
				}
				return
			}
			go s.serveControlConn(ctx, conn)
		}
	}()
	return nil
}

func (s *Server) serveControlConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var req api.Request
	var resp api.Response
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		resp.Error = fmt.Sprintf("bad request: %v", err)
	} else {
		data, err := s.Control(ctx, req)
		if err != nil {
			resp.Error = err.Error()
		} else if resp.Data, err = json.Marshal(data); err != nil {
			resp.Error = fmt.Sprintf("encode answer: %v", err)
		}
	}
	_ = json.NewEncoder(conn).Encode(resp)
}

// Control runs one control command.
func (s *Server) Control(ctx context.Context, req api.Request) (any, error) {
	switch req.Command {
	case api.CmdStatus:
		return s.Status(), nil
	case api.CmdLeases:
		return s.Leases(req)
	case api.CmdLeaseDelete:
		ip, err := netip.ParseAddr(req.IP)
		if err != nil {
			return nil, fmt.Errorf("lease delete: %q is not an IPv4 address", req.IP)
		}
		return s.DeleteLease(ctx, ip)
	case api.CmdReload:
		return s.Reload(ctx)
	case api.CmdFailoverStatus, api.CmdFailoverPartnerDown, api.CmdFailoverSplit, api.CmdFailoverReplicate:
		return s.failoverControl(req)
	case api.CmdDataplane:
		if s.opts.DataplaneStatus == nil {
			return nil, errors.New("dataplane: no dataplane status in this daemon")
		}
		return s.opts.DataplaneStatus()
	}
	return nil, fmt.Errorf("unknown command %q; known: status, leases, lease-delete, reload, dataplane, failover-status, failover-partner-down, failover-split, failover-replicate", req.Command)
}

// Status reports uptime, interfaces and pool use.
func (s *Server) Status() api.Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := api.Status{
		Version:       s.opts.Version,
		UptimeSeconds: time.Since(s.started).Seconds(),
		ServerID:      s.h.ServerID().String(),
		Config:        s.opts.ConfigPath,
		LoadedAt:      s.loadedAt,
	}
	for _, ifc := range s.ifaces {
		st.Interfaces = append(st.Interfaces, ifc.status())
	}
	for _, sc := range s.h.Scopes() {
		st.Scopes = append(st.Scopes, scopeStatus(sc))
	}
	return st
}

func scopeStatus(sc *handler.Scope) api.ScopeStatus {
	a := sc.Alloc.Stats()
	ss := api.ScopeStatus{
		Subnet:    sc.Config.Subnet.String(),
		Total:     uint64(a.Total),
		Free:      uint64(a.Free),
		Offered:   uint64(a.Offered),
		Active:    uint64(a.Active),
		Declined:  uint64(a.Declined),
		Reserved:  uint64(a.Reserved),
		Exhausted: uint64(a.Exhausted),
		Reused:    a.Reused,
	}
	if ss.Total > 0 {
		ss.Utilization = float64(ss.Total-ss.Free) / float64(ss.Total)
	}
	return ss
}

// Leases lists leases matching the request's scope, mac and ip filters.
func (s *Server) Leases(req api.Request) ([]api.Lease, error) {
	var (
		scope netip.Prefix
		mac   net.HardwareAddr
		ip    netip.Addr
		err   error
	)
	if req.Scope != "" {
		if scope, err = netip.ParsePrefix(req.Scope); err != nil {
			return nil, fmt.Errorf("leases --scope: %q is not a subnet like 192.0.2.0/24", req.Scope)
		}
	}
	if req.MAC != "" {
		if mac, err = net.ParseMAC(req.MAC); err != nil {
			return nil, fmt.Errorf("leases --mac: %q is not a hardware address like 02:00:00:00:00:01", req.MAC)
		}
	}
	if req.IP != "" {
		if ip, err = netip.ParseAddr(req.IP); err != nil {
			return nil, fmt.Errorf("leases --ip: %q is not an IPv4 address", req.IP)
		}
	}
	out := []api.Lease{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Scopes come in address order and do not overlap, so sorting each
	// scope's leases by address sorts the whole list.
	var found []lease.Lease
	for _, sc := range s.h.Scopes() {
		if scope.IsValid() && sc.Config.Subnet != scope.Masked() {
			continue
		}
		found = found[:0]
		sc.Alloc.Leases(func(l lease.Lease) bool {
			if ip.IsValid() && l.IP != ip {
				return true
			}
			if mac != nil && !bytes.Equal(l.HWAddr, mac) {
				return true
			}
			found = append(found, l)
			return true
		})
		slices.SortFunc(found, func(a, b lease.Lease) int { return a.IP.Compare(b.IP) })
		for _, l := range found {
			out = append(out, apiLease(l, sc.Config.Subnet))
		}
	}
	return out, nil
}

func apiLease(l lease.Lease, subnet netip.Prefix) api.Lease {
	return api.Lease{
		IP:        l.IP.String(),
		State:     l.State.String(),
		HWAddress: l.HWAddr.String(),
		ClientID:  colonHex(l.ClientID),
		Hostname:  l.Hostname,
		Start:     l.Start,
		Expiry:    l.Expiry,
		Updated:   l.Updated,
		Scope:     subnet.String(),
		CircuitID: printable(l.CircuitID),
		RemoteID:  printable(l.RemoteID),
	}
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = hex.EncodeToString([]byte{c})
	}
	return strings.Join(parts, ":")
}

// printable shows relay identifiers as text when they are, else as hex.
func printable(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return colonHex(b)
		}
	}
	return string(b)
}

// DeleteLease frees ip at once, durably.
func (s *Server) DeleteLease(ctx context.Context, ip netip.Addr) (api.Lease, error) {
	s.mu.RLock()
	sc := s.h.ScopeOf(ip)
	var (
		l  lease.Lease
		ok bool
	)
	if sc != nil {
		l, ok = sc.Alloc.Delete(ip)
	}
	s.mu.RUnlock()
	if !ok {
		return api.Lease{}, fmt.Errorf("lease delete: no lease for %s", ip)
	}
	if err := s.store.Delete(ctx, ip); err != nil {
		return api.Lease{}, fmt.Errorf("lease delete %s: %w", ip, err)
	}
	s.log.Info("lease deleted by operator", zap.Stringer("ip", ip), zap.Stringer("hw", l.HWAddr))
	return apiLease(l, sc.Config.Subnet), nil
}

// Reload re-reads the configuration file and swaps in new scopes, rebuilt
// from the store and from every lease the running allocators hold. Packet
// handling pauses for the swap. Interfaces cannot change without a restart.
func (s *Server) Reload(ctx context.Context) (api.Reload, error) {
	if s.opts.ConfigPath == "" {
		return api.Reload{}, errors.New("reload: the daemon was started without a config file")
	}
	cfg, err := config.Load(s.opts.ConfigPath)
	if err != nil {
		return api.Reload{}, fmt.Errorf("reload: %w (the running configuration is unchanged)", err)
	}
	if !slices.Equal(cfg.Server.Interfaces, s.cfg.Server.Interfaces) {
		return api.Reload{}, errors.New("reload: server.interfaces changed; restart xdhcpd to serve other interfaces (the running configuration is unchanged)")
	}
	cfg, done := s.replicaOverlay(cfg) // settings replicated from the failover partner (replicate.go)
	r, err := s.swapConfig(cfg)
	done(err == nil)
	if err == nil && s.opts.OnReload != nil {
		if herr := s.opts.OnReload(cfg); herr != nil {
			return r, fmt.Errorf("reload: scopes are in force, but: %w", herr)
		}
	}
	return r, err
}

// swapConfig puts cfg in force: new scopes, rebuilt from the store and from
// every lease the running allocators hold.
func (s *Server) swapConfig(cfg *config.Config) (api.Reload, error) {
	links := make([]handler.Link, 0, len(s.ifaces))
	for _, ifc := range s.ifaces {
		link, err := linkOf(ifc.name, ifc.index)
		if err != nil {
			return api.Reload{}, fmt.Errorf("reload: %w", err)
		}
		links = append(links, link)
	}
	// Lock order: failover state first, then the handler.
	s.fo.mu.Lock()
	defer s.fo.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var live []lease.Lease
	for _, sc := range s.h.Scopes() {
		sc.Alloc.Leases(func(l lease.Lease) bool {
			live = append(live, l)
			return true
		})
	}
	h, n, err := s.buildHandler(cfg, links, live)
	if err != nil {
		return api.Reload{}, fmt.Errorf("reload: %w (the running configuration is unchanged)", err)
	}
	s.reapplyFailover(h)
	s.h, s.cfg, s.loadedAt = h, cfg, time.Now()
	s.log.Info("configuration reloaded", zap.String("config", s.opts.ConfigPath), zap.Int("scopes", len(h.Scopes())), zap.Int("leases", n))
	return api.Reload{Scopes: len(h.Scopes()), Leases: n}, nil
}

// linkOf reads an interface's IPv4 addresses.
func linkOf(name string, index int) (handler.Link, error) {
	ni, err := net.InterfaceByIndex(index)
	if err != nil {
		return handler.Link{}, fmt.Errorf("interface %s: %w", name, err)
	}
	link := handler.Link{Index: ni.Index, Name: name}
	addrs, err := ni.Addrs()
	if err != nil {
		return handler.Link{}, fmt.Errorf("addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if p, ok := prefixOf(ipn); ok {
				link.Addrs = append(link.Addrs, p)
			}
		}
	}
	return link, nil
}
