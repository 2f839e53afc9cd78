package servers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"time"
)

// keaHAPort is the port of each kea-ha instance's dedicated HA listener
// (HA+MT), on its own address.
const keaHAPort = 8001

// keaHooksGlobs find Kea's hook libraries (Debian installs them under the
// multiarch directory).
var keaHooksGlobs = []string{"/usr/lib/*/kea/hooks", "/usr/lib/kea/hooks", "/usr/local/lib/kea/hooks"}

// keaDhcp4 is the Dhcp4 configuration every Kea row shares: raw sockets on
// the serving interface, memfile leases persisted without a cleanup
// process, the spec's pool and lease time.
func keaDhcp4(s Spec, multiThreaded bool) map[string]any {
	mt := map[string]any{"enable-multi-threading": false}
	if multiThreaded {
		mt = map[string]any{"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 256}
	}
	lt := int(s.LeaseTime.Seconds())
	cfg := map[string]any{
		"interfaces-config": map[string]any{"interfaces": []string{s.Iface}, "dhcp-socket-type": "raw"},
		"lease-database": map[string]any{"type": "memfile", "persist": true,
			"name": filepath.Join(s.Dir, "kea-leases4.csv"), "lfc-interval": 0},
		"valid-lifetime": lt, "renew-timer": lt / 2, "rebind-timer": lt * 7 / 8,
		"multi-threading": mt,
		"subnet4": []map[string]any{{"id": 1, "subnet": s.Subnet.Masked().String(),
			"pools": []map[string]any{{"pool": fmt.Sprintf("%s - %s", s.PoolStart, s.PoolEnd)}}}},
		"loggers": []map[string]any{{"name": "kea-dhcp4", "severity": "WARN",
			"output_options": []map[string]any{{"output": filepath.Join(s.Dir, "kea.log")}}}},
	}
	if s.LeaseCachePercent > 0 {
		// Off by default in Kea 2.2, which refuses 0.
		cfg["cache-threshold"] = float64(s.LeaseCachePercent) / 100
	}
	return cfg
}

// writeKea writes {"Dhcp4": dhcp4} to the spec's directory and returns
// kea-dhcp4's arguments and environment.
func writeKea(s Spec, dhcp4 map[string]any) ([]string, []string, error) {
	b, err := json.MarshalIndent(map[string]any{"Dhcp4": dhcp4}, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("kea config: %w", err)
	}
	path := filepath.Join(s.Dir, "kea-dhcp4.json")
	env := []string{"KEA_PIDFILE_DIR=" + s.Dir, "KEA_LOCKFILE_DIR=" + s.Dir}
	return []string{"-c", path}, env, write(path, string(b)+"\n")
}

func prepareKea(multiThreaded bool) func(Spec) ([]string, []string, error) {
	return func(s Spec) ([]string, []string, error) {
		return writeKea(s, keaDhcp4(s, multiThreaded))
	}
}

// keaHAServerName is the HA name of the instance in role.
func keaHAServerName(role string) string {
	if role == "primary" {
		return "server1"
	}
	return "server2"
}

// keaHAConfig is one instance of the kea-ha pair: multi-threaded Kea (HA+MT
// needs it) in load-balancing mode with the dedicated HA listener, so no
// kea-ctrl-agent is needed; heartbeats and failure detection at their
// defaults. Load balancing in Kea needs the pool split by the built-in
// HA_server1/HA_server2 classes: the primary allocates from the first half,
// the secondary from the second. A unix control socket answers
// ha-heartbeat for the readiness check.
func keaHAConfig(s Spec, hooksDir string) (map[string]any, error) {
	if s.Role != "primary" && s.Role != "secondary" {
		return nil, fmt.Errorf("kea-ha: Spec.Role is %q; want primary or secondary", s.Role)
	}
	if !s.Partner.Is4() || !s.Addr.Is4() {
		return nil, fmt.Errorf("kea-ha: Spec.Addr %v and Partner %v must both be IPv4", s.Addr, s.Partner)
	}
	start, end := ipv4Int(s.PoolStart), ipv4Int(s.PoolEnd)
	if end <= start {
		return nil, fmt.Errorf("kea-ha: pool %s-%s too small to split between the partners", s.PoolStart, s.PoolEnd)
	}
	mid := start + (end-start)/2
	primary, secondary := s.Addr, s.Partner
	if s.Role == "secondary" {
		primary, secondary = s.Partner, s.Addr
	}
	url := func(a netip.Addr) string { return fmt.Sprintf("http://%s:%d/", a, keaHAPort) }
	cfg := keaDhcp4(s, true)
	cfg["subnet4"] = []map[string]any{{"id": 1, "subnet": s.Subnet.Masked().String(),
		"pools": []map[string]any{
			{"pool": fmt.Sprintf("%s - %s", s.PoolStart, ipv4Addr(mid)), "client-class": "HA_server1"},
			{"pool": fmt.Sprintf("%s - %s", ipv4Addr(mid+1), s.PoolEnd), "client-class": "HA_server2"},
		}}}
	cfg["control-socket"] = map[string]any{"socket-type": "unix", "socket-name": keaControlSocket(s)}
	cfg["hooks-libraries"] = []map[string]any{
		{"library": filepath.Join(hooksDir, "libdhcp_lease_cmds.so")},
		{"library": filepath.Join(hooksDir, "libdhcp_ha.so"), "parameters": map[string]any{
			"high-availability": []map[string]any{{
				"this-server-name": keaHAServerName(s.Role),
				"mode":             "load-balancing",
				"multi-threading":  map[string]any{"enable-multi-threading": true, "http-dedicated-listener": true},
				"peers": []map[string]any{
					{"name": "server1", "url": url(primary), "role": "primary"},
					{"name": "server2", "url": url(secondary), "role": "secondary"},
				},
			}},
		}},
	}
	return cfg, nil
}

// keaHAConfigFile writes one kea-ha instance's configuration.
func keaHAConfigFile(s Spec) ([]string, []string, error) {
	dir, err := keaHooksDir()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := keaHAConfig(s, dir)
	if err != nil {
		return nil, nil, err
	}
	return writeKea(s, cfg)
}

// keaHooksDir returns the directory holding libdhcp_ha.so.
func keaHooksDir() (string, error) {
	for _, g := range keaHooksGlobs {
		m, _ := filepath.Glob(filepath.Join(g, "libdhcp_ha.so"))
		if len(m) > 0 {
			return filepath.Dir(m[0]), nil
		}
	}
	return "", fmt.Errorf("kea-ha: libdhcp_ha.so not found in %v: install Debian's kea-dhcp4-server, which ships the HA and lease_cmds hooks", keaHooksGlobs)
}

func keaControlSocket(s Spec) string { return filepath.Join(s.Dir, "kea4.sock") }

// keaResponse is a Kea control channel answer.
type keaResponse struct {
	Result    int             `json:"result"`
	Text      string          `json:"text"`
	Arguments json.RawMessage `json:"arguments"`
}

// keaCommand sends one command on a Kea unix control socket and returns
// the answer. Kea answers and closes the connection.
func keaCommand(ctx context.Context, socket, command string) (keaResponse, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return keaResponse{}, fmt.Errorf("kea %s on %s: %w", command, socket, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	req, _ := json.Marshal(map[string]string{"command": command})
	if _, err := conn.Write(req); err != nil {
		return keaResponse{}, fmt.Errorf("kea %s on %s: %w", command, socket, err)
	}
	var resp keaResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil && !errors.Is(err, io.EOF) {
		return keaResponse{}, fmt.Errorf("kea %s on %s: answer: %w", command, socket, err)
	}
	return resp, nil
}

// keaHAState asks one instance for its HA state.
func keaHAState(ctx context.Context, socket string) (string, error) {
	resp, err := keaCommand(ctx, socket, "ha-heartbeat")
	if err != nil {
		return "", err
	}
	if resp.Result != 0 {
		return "", fmt.Errorf("kea ha-heartbeat on %s: result %d: %s", socket, resp.Result, resp.Text)
	}
	var args struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal(resp.Arguments, &args); err != nil || args.State == "" {
		return "", fmt.Errorf("kea ha-heartbeat on %s: no state in %s", socket, resp.Arguments)
	}
	return args.State, nil
}

// waitKeaLoadBalancing polls both instances with ha-heartbeat until both
// report the load-balancing state.
func waitKeaLoadBalancing(ctx context.Context, p *Process) error {
	return waitPair(ctx, p, "load-balancing", func(ctx context.Context, inst *Process) (string, error) {
		return keaHAState(ctx, keaControlSocket(inst.spec))
	})
}

// waitPair polls state on both instances of a pair until both report want
// or ctx ends; the error names what each reported last.
func waitPair(ctx context.Context, p *Process, want string, state func(context.Context, *Process) (string, error)) error {
	last := map[string]string{}
	for {
		ok := 0
		for _, inst := range []*Process{p, p.Partner} {
			st, err := state(ctx, inst)
			if err != nil {
				st = err.Error()
			}
			last[inst.spec.Role] = st
			if st == want {
				ok++
			}
		}
		if ok == 2 {
			return nil
		}
		if !p.Alive() {
			return fmt.Errorf("a partner exited before both reached %s (primary: %s; secondary: %s)", want, last["primary"], last["secondary"])
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pair not in %s state in time (primary: %s; secondary: %s): %w", want, last["primary"], last["secondary"], ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func ipv4Addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
