package servers

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// haSpecs returns the primary's and the secondary's Spec as Start fills
// them for the pair topology, but serving lo: kea-dhcp4 -t checks that the
// interface exists.
func haSpecs(t *testing.T) (prim, sec Spec) {
	base := Spec{Namespace: "x-srv", Iface: "lo", Addr: netip.MustParseAddr("10.99.0.1"),
		Subnet: netip.MustParsePrefix("10.99.0.0/16"), PoolStart: netip.MustParseAddr("10.99.1.0"),
		PoolEnd: netip.MustParseAddr("10.99.254.255"), LeaseTime: time.Hour, Dir: t.TempDir(),
		PeerNamespace: "x-peer", PeerAddr: netip.MustParseAddr("10.99.0.3")}
	prim, sec = base, base
	prim.Role, prim.Partner = "primary", base.PeerAddr
	sec.Role, sec.Partner, sec.Addr, sec.Namespace, sec.Dir = "secondary", base.Addr, base.PeerAddr, base.PeerNamespace, t.TempDir()
	return prim, sec
}

// haConfig mirrors the parts of the written file the test checks.
type haConfig struct {
	Dhcp4 struct {
		MultiThreading struct {
			Enable bool `json:"enable-multi-threading"`
		} `json:"multi-threading"`
		Subnet4 []struct {
			Pools []struct {
				Pool        string `json:"pool"`
				ClientClass string `json:"client-class"`
			} `json:"pools"`
		} `json:"subnet4"`
		ControlSocket struct {
			Type string `json:"socket-type"`
			Name string `json:"socket-name"`
		} `json:"control-socket"`
		Hooks []struct {
			Library    string `json:"library"`
			Parameters struct {
				HA []struct {
					ThisServer string `json:"this-server-name"`
					Mode       string `json:"mode"`
					MT         struct {
						Enable   bool `json:"enable-multi-threading"`
						Listener bool `json:"http-dedicated-listener"`
					} `json:"multi-threading"`
					Peers []struct{ Name, URL, Role string } `json:"peers"`
				} `json:"high-availability"`
			} `json:"parameters"`
		} `json:"hooks-libraries"`
	}
}

func TestKeaHAConfig(t *testing.T) {
	prim, sec := haSpecs(t)
	wantPeers := "server1 http://10.99.0.1:8001/ primary; server2 http://10.99.0.3:8001/ secondary"
	for _, tc := range []struct {
		spec     Spec
		wantName string
	}{{prim, "server1"}, {sec, "server2"}} {
		t.Run(tc.spec.Role, func(t *testing.T) {
			args, _, err := keaHAConfigFile(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(args[1])
			if err != nil {
				t.Fatal(err)
			}
			var cfg haConfig
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, b)
			}
			d := cfg.Dhcp4
			if !d.MultiThreading.Enable {
				t.Error("Kea multi-threading off; HA+MT needs it")
			}
			if len(d.Hooks) != 2 || !strings.HasSuffix(d.Hooks[0].Library, "libdhcp_lease_cmds.so") || !strings.HasSuffix(d.Hooks[1].Library, "libdhcp_ha.so") {
				t.Fatalf("hooks %+v, want lease_cmds then ha", d.Hooks)
			}
			ha := d.Hooks[1].Parameters.HA
			if len(ha) != 1 || ha[0].ThisServer != tc.wantName || ha[0].Mode != "load-balancing" || !ha[0].MT.Enable || !ha[0].MT.Listener {
				t.Fatalf("high-availability %+v", ha)
			}
			var peers []string
			for _, p := range ha[0].Peers {
				peers = append(peers, p.Name+" "+p.URL+" "+p.Role)
			}
			if got := strings.Join(peers, "; "); got != wantPeers {
				t.Errorf("peers %q, want %q", got, wantPeers)
			}
			pools := d.Subnet4[0].Pools
			if len(pools) != 2 || pools[0].Pool != "10.99.1.0 - 10.99.127.255" || pools[0].ClientClass != "HA_server1" ||
				pools[1].Pool != "10.99.128.0 - 10.99.254.255" || pools[1].ClientClass != "HA_server2" {
				t.Errorf("pools %+v, want the pool split in halves by HA_server1/HA_server2", pools)
			}
			if d.ControlSocket.Type != "unix" || d.ControlSocket.Name != filepath.Join(tc.spec.Dir, "kea4.sock") {
				t.Errorf("control socket %q", d.ControlSocket.Name)
			}
			// Kea's own check of the file, when Kea is installed.
			if _, err := exec.LookPath("kea-dhcp4"); err != nil {
				t.Skip("kea-dhcp4 not installed (Debian kea-dhcp4-server); JSON checked only")
			}
			if out, err := exec.Command("kea-dhcp4", "-t", args[1]).CombinedOutput(); err != nil {
				t.Errorf("kea-dhcp4 -t rejects the config: %v\n%s", err, out)
			}
		})
	}
}

func TestKeaHAConfigErrors(t *testing.T) {
	prim, _ := haSpecs(t)
	for _, tc := range []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"no role", func(s *Spec) { s.Role = "" }, "Spec.Role"},
		{"v6 partner", func(s *Spec) { s.Partner = netip.MustParseAddr("fd00::1") }, "IPv4"},
		{"one-address pool", func(s *Spec) { s.PoolEnd = s.PoolStart }, "too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := prim
			tc.mutate(&s)
			if _, err := keaHAConfig(s, "/hooks"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestKeaSingleConfig checks the single-server Kea rows still get the
// unsplit pool and no hooks.
func TestKeaSingleConfig(t *testing.T) {
	s, _ := haSpecs(t)
	s.Role = ""
	for _, mt := range []bool{false, true} {
		s.LeaseCachePercent = 0
		if mt {
			s.LeaseCachePercent = LeaseCachePercent
		}
		args, _, err := prepareKea(mt)(s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(args[1])
		var cfg haConfig
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		pools := cfg.Dhcp4.Subnet4[0].Pools
		if cfg.Dhcp4.MultiThreading.Enable != mt || len(cfg.Dhcp4.Hooks) != 0 || len(pools) != 1 || pools[0].Pool != "10.99.1.0 - 10.99.254.255" {
			t.Errorf("multi-threaded %v: %s", mt, b)
		}
		// Kea refuses a cache-threshold of 0; off means the key is absent.
		var raw struct {
			Dhcp4 map[string]any
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		ct, has := raw.Dhcp4["cache-threshold"]
		if want := mt; has != want || (has && ct != 0.25) {
			t.Errorf("lease cache %d%%: cache-threshold %v (present %v)", s.LeaseCachePercent, ct, has)
		}
	}
}
