package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
)

// fakeDaemon answers control requests on a Unix socket with canned data
// and records what it was asked.
func fakeDaemon(t *testing.T, answer func(api.Request) api.Response) (string, *recorder) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	seen := &recorder{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var req api.Request
			if json.NewDecoder(c).Decode(&req) == nil {
				seen.add(req)
				_ = json.NewEncoder(c).Encode(answer(req))
			}
			c.Close()
		}
	}()
	return sock, seen
}

// recorder keeps the requests the fake daemon saw.
type recorder struct {
	mu   sync.Mutex
	reqs []api.Request
}

func (r *recorder) add(req api.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
}

func (r *recorder) take() []api.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs := r.reqs
	r.reqs = nil
	return reqs
}

func data(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommands(t *testing.T) {
	expiry := time.Now().Add(time.Hour)
	answer := func(req api.Request) api.Response {
		switch req.Command {
		case api.CmdStatus:
			return api.Response{Data: data(t, api.Status{Version: "v1", ServerID: "192.0.2.1",
				Interfaces: []api.InterfaceStatus{{Name: "eth1", Dataplane: "xdp-native", Receive: "afxdp",
					AFXDP: &api.AFXDPStatus{Queues: 1, Mode: "copy mode", Received: 7, Sent: 5}}},
				Scopes: []api.ScopeStatus{{Subnet: "192.0.2.0/24", Total: 100, Free: 90, Active: 10, Utilization: 0.1}}})}
		case api.CmdLeases:
			return api.Response{Data: data(t, []api.Lease{{IP: "192.0.2.100", State: "active", HWAddress: "02:00:00:00:00:01",
				Hostname: "laptop", Expiry: expiry, Scope: "192.0.2.0/24"}})}
		case api.CmdLeaseDelete:
			if req.IP != "192.0.2.100" {
				return api.Response{Error: "lease delete: no lease for " + req.IP}
			}
			return api.Response{Data: data(t, api.Lease{IP: req.IP, HWAddress: "02:00:00:00:00:01"})}
		case api.CmdReload:
			return api.Response{Data: data(t, api.Reload{Scopes: 2, Leases: 10})}
		case api.CmdFailoverStatus, api.CmdFailoverSplit, api.CmdFailoverPartnerDown:
			st := api.FailoverStatus{Name: "edge-pair", Role: "primary", Mode: "load-balance", State: "normal",
				PartnerState: "normal", Connected: true, SplitPercent: 50, MCLTSeconds: 3600, Authenticated: true,
				Answering: "all", Allocating: "own share", OwnedBuckets: 128, Counters: map[string]uint64{"updates-sent": 3},
				RejectedBy: map[string]uint64{"outdated-binding-info": 2, "unknown-reason": 1},
				Settings:   api.SettingsVersion{Generation: 3, Changed: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Hash: "abcdef0123456789"}, SettingsReplicated: true,
				ReplicationLag: api.LagSummary{Count: 3, MeanSeconds: 0.0015, P50Seconds: 0.0012, P99Seconds: 0.0031}}
			if req.Percent != 0 {
				st.SplitPercent = req.Percent
			}
			return api.Response{Data: data(t, st)}
		case api.CmdFailoverReplicate:
			if !req.Force {
				return api.Response{Error: "replicate: partner refused the settings: our copy changed later (xdhcpctl failover replicate --force overrides the partner's copy)"}
			}
			return api.Response{Data: data(t, api.Replicate{Outcome: "applied", Forced: true,
				Ours: api.SettingsVersion{Generation: 4, Changed: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Hash: "0123456789abcdef"}})}
		case api.CmdDataplane:
			return api.Response{Data: data(t, map[string]any{"mode": "auto", "xdp-counters": map[string]int{"passed-ours": 7}})}
		}
		return api.Response{Error: "unknown command"}
	}
	sock, seen := fakeDaemon(t, answer)
	tests := []struct {
		name    string
		args    []string
		want    []string // substrings of stdout
		wantErr string
		wantReq api.Request
	}{
		{name: "status", args: []string{"status"}, want: []string{"server id 192.0.2.1", "interface eth1: xdp-native, receive afxdp (1 queues, copy mode; 7 requests in, 5 replies out)", "192.0.2.0/24", "10.0%"},
			wantReq: api.Request{Command: api.CmdStatus}},
		{name: "status json", args: []string{"--json", "status"}, want: []string{`"server-id": "192.0.2.1"`}},
		{name: "leases with filters", args: []string{"leases", "--mac", "02:00:00:00:00:01", "--scope", "192.0.2.0/24"},
			want:    []string{"192.0.2.100", "laptop", "in ", "1 leases"},
			wantReq: api.Request{Command: api.CmdLeases, MAC: "02:00:00:00:00:01", Scope: "192.0.2.0/24"}},
		{name: "lease delete", args: []string{"lease", "delete", "192.0.2.100"}, want: []string{"deleted lease 192.0.2.100"},
			wantReq: api.Request{Command: api.CmdLeaseDelete, IP: "192.0.2.100"}},
		{name: "lease delete of an unknown address", args: []string{"lease", "delete", "192.0.2.5"}, wantErr: "no lease for 192.0.2.5"},
		{name: "lease without delete", args: []string{"lease", "show", "1.2.3.4"}, wantErr: "usage: xdhcpctl lease delete IP"},
		{name: "reload", args: []string{"reload"}, want: []string{"2 scopes, 10 leases kept"}},
		{name: "dataplane", args: []string{"dataplane"}, want: []string{"mode: auto", "  passed-ours: 7"}},
		{name: "failover status", args: []string{"failover", "status"},
			want: []string{"relationship edge-pair: this server is primary, load-balance mode, split 50%, MCLT 1h0m0s", "link:         up, authenticated", "updates-sent=3",
				"replication:  3 updates acknowledged; lag mean 1.5ms, p50 ≈1.2ms, p99 ≈3.1ms",
				"refused by:   outdated-binding-info=2 unknown-reason=1",
				"scopes:       generation 3, changed 2026-01-02T03:04:05Z, hash abcdef012345 (replicated from the partner)"},
			wantReq: api.Request{Command: api.CmdFailoverStatus}},
		{name: "failover split", args: []string{"failover", "split", "70%"}, want: []string{"split is now 70% on both partners"},
			wantReq: api.Request{Command: api.CmdFailoverSplit, Percent: 70}},
		{name: "failover split out of range", args: []string{"failover", "split", "170"}, wantErr: "not a percentage"},
		{name: "failover partner-down", args: []string{"failover", "partner-down"}, want: []string{"partner declared down"},
			wantReq: api.Request{Command: api.CmdFailoverPartnerDown}},
		{name: "failover replicate refused", args: []string{"failover", "replicate"}, wantErr: "--force overrides"},
		{name: "failover replicate forced", args: []string{"failover", "replicate", "--force"},
			want:    []string{"partner applied our scope settings (forced): generation 4, changed 2026-01-02T03:04:05Z, hash 0123456789ab"},
			wantReq: api.Request{Command: api.CmdFailoverReplicate, Force: true}},
		{name: "failover replicate bad flag", args: []string{"failover", "replicate", "--now"}, wantErr: "usage: xdhcpctl failover replicate [--force]"},
		{name: "failover without a verb", args: []string{"failover"}, wantErr: "usage: xdhcpctl failover"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
		{name: "no command", args: nil, wantErr: "no command given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen.take()
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"--socket", sock}, tt.args...), &stdout, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v (stderr %s)", err, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
			if got := seen.take(); tt.wantReq.Command != "" && (len(got) != 1 || got[0] != tt.wantReq) {
				t.Errorf("daemon saw %+v, want %+v", got, tt.wantReq)
			}
		})
	}
}

func TestNoDaemon(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--socket", filepath.Join(t.TempDir(), "none.sock"), "status"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "is it running?") {
		t.Fatalf("err = %v, want a hint that the daemon may not run", err)
	}
}
