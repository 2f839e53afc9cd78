package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// Commands understood by the daemon.
const (
	CmdStatus      = "status"
	CmdLeases      = "leases"
	CmdLeaseDelete = "lease-delete"
	CmdReload      = "reload"
	CmdDataplane   = "dataplane"

	CmdFailoverStatus      = "failover-status"
	CmdFailoverPartnerDown = "failover-partner-down"
	CmdFailoverSplit       = "failover-split"
	CmdFailoverReplicate   = "failover-replicate"
)

// Request is one command with its arguments.
type Request struct {
	Command string `json:"command"`
	Scope   string `json:"scope,omitempty"`   // leases: a subnet ("192.0.2.0/24")
	MAC     string `json:"mac,omitempty"`     // leases: a hardware address
	IP      string `json:"ip,omitempty"`      // leases, lease-delete: an address
	Percent int    `json:"percent,omitempty"` // failover-split: the primary's share
	Force   bool   `json:"force,omitempty"`   // failover-replicate: override the partner's newer copy
}

// Response carries either Data (the command's result) or Error.
type Response struct {
	Error string          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// Status is the answer to CmdStatus.
type Status struct {
	Version       string            `json:"version"`
	UptimeSeconds float64           `json:"uptime-seconds"`
	ServerID      string            `json:"server-id"`
	Interfaces    []InterfaceStatus `json:"interfaces"`
	Scopes        []ScopeStatus     `json:"scopes"`
	Config        string            `json:"config"`
	LoadedAt      time.Time         `json:"loaded-at"`
}

// InterfaceStatus is one serving interface.
type InterfaceStatus struct {
	Name      string `json:"name"`
	Dataplane string `json:"dataplane"` // xdp-native, xdp-generic, or go-filter
	// Receive is how requests reach the control plane: "afxdp" (AF_XDP
	// sockets, with the UDP socket for what the program leaves to the
	// stack) or "udp".
	Receive string `json:"receive"`
	// AFXDP describes the AF_XDP sockets when Receive is afxdp.
	AFXDP *AFXDPStatus `json:"afxdp,omitempty"`
}

// AFXDPStatus is an interface's AF_XDP sockets.
type AFXDPStatus struct {
	Queues   int    `json:"queues"`   // sockets, one per receive queue
	Mode     string `json:"mode"`     // copy mode or zero-copy, need_wakeup
	Received uint64 `json:"received"` // requests received through them
	Sent     uint64 `json:"sent"`     // replies sent through them
}

// ScopeStatus is one scope's pool use.
type ScopeStatus struct {
	Subnet      string  `json:"subnet"`
	Total       uint64  `json:"total"`
	Free        uint64  `json:"free"`
	Offered     uint64  `json:"offered"`
	Active      uint64  `json:"active"`
	Declined    uint64  `json:"declined"`
	Reserved    uint64  `json:"reserved"`
	Utilization float64 `json:"utilization"` // (active+offered+declined)/total, 0..1
	Exhausted   uint64  `json:"exhausted"`   // times a client found no free address
	Reused      uint64  `json:"reused"`      // REQUESTs answered with the stored lease, unwritten
}

// Lease is one lease as xdhcpctl shows it.
type Lease struct {
	IP        string    `json:"ip"`
	State     string    `json:"state"`
	HWAddress string    `json:"hw-address"`
	ClientID  string    `json:"client-id,omitempty"`
	Hostname  string    `json:"hostname,omitempty"`
	Start     time.Time `json:"start"`
	Expiry    time.Time `json:"expiry"`
	Updated   time.Time `json:"updated"`
	Scope     string    `json:"scope"`
	CircuitID string    `json:"circuit-id,omitempty"`
	RemoteID  string    `json:"remote-id,omitempty"`
}

// FailoverStatus is the answer to CmdFailoverStatus.
type FailoverStatus struct {
	Name             string            `json:"name"`
	Role             string            `json:"role"`
	Mode             string            `json:"mode"`
	State            string            `json:"state"`
	StateSince       time.Time         `json:"state-since"`
	PartnerState     string            `json:"partner-state"`
	PartnerSince     time.Time         `json:"partner-since"`
	Connected        bool              `json:"connected"`
	SplitPercent     int               `json:"split-percent"`
	MCLTSeconds      float64           `json:"mclt-seconds"`
	Authenticated    bool              `json:"authenticated"`
	UnackedUpdates   int               `json:"unacked-updates"`
	PendingUpdates   int               `json:"pending-updates"`
	LastContact      time.Time         `json:"last-contact"`
	ClockSkewSeconds float64           `json:"clock-skew-seconds"`
	ClockSkewWarning bool              `json:"clock-skew-warning"`
	OwnedBuckets     int               `json:"owned-buckets"`
	Answering        string            `json:"answering"`  // all, renewals, none
	Allocating       string            `json:"allocating"` // own share, all, none
	Counters         map[string]uint64 `json:"counters"`
	ReplicationLag   LagSummary        `json:"replication-lag"`
	RejectedBy       map[string]uint64 `json:"rejected-by,omitempty"` // our updates the partner refused, by reject reason
	// Settings is the version of the failover scopes' settings in force;
	// SettingsReplicated says they came from the partner (overriding
	// this server's file).
	Settings           SettingsVersion `json:"settings"`
	SettingsReplicated bool            `json:"settings-replicated"`
}

// LagSummary summarises the replication lag histogram (committed binding
// queued for the partner → partner's BNDACK); quantiles are estimates
// interpolated inside the histogram's exponential buckets.
type LagSummary struct {
	Count       uint64  `json:"count"`
	MeanSeconds float64 `json:"mean-seconds"`
	P50Seconds  float64 `json:"p50-seconds"`
	P99Seconds  float64 `json:"p99-seconds"`
}

// Replicate is the answer to CmdFailoverReplicate: the partner applied
// the settings or already had them (a refusal comes back as an error).
type Replicate struct {
	Outcome string          `json:"outcome"` // applied, identical
	Forced  bool            `json:"forced"`
	Ours    SettingsVersion `json:"ours"`
	Partner SettingsVersion `json:"partner"` // the partner's version after the push
	Message string          `json:"message,omitempty"`
}

// SettingsVersion identifies one copy of the failover scopes' settings.
type SettingsVersion struct {
	Generation uint64    `json:"generation"`
	Changed    time.Time `json:"changed"`
	Hash       string    `json:"hash"` // SHA-256 of the settings, hex
}

// Reload is the answer to CmdReload.
type Reload struct {
	Scopes int `json:"scopes"`
	Leases int `json:"leases"`
}

// Call sends req to the daemon at socket and decodes the result into out
// (which may be nil). A daemon-side error comes back as an error.
func Call(ctx context.Context, socket string, req Request, out any) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("connect to xdhcpd at %s (is it running? is --socket right?): %w", socket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return fmt.Errorf("send %s: %w", req.Command, err)
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return fmt.Errorf("read answer to %s: %w", req.Command, err)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	if out == nil || len(resp.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		return fmt.Errorf("decode answer to %s: %w", req.Command, err)
	}
	return nil
}
