package dhcpclients

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// Relay is a running ISC dhcrelay.
type Relay struct {
	proc *netns.Proc
	out  SyncBuffer
}

// StartRelay runs dhcrelay in ns: it relays from the clients on down to
// server through up, appending option 82 ("-a") whose circuit-id is the
// name of the downstream interface. dhcrelay is stopped when ns closes, or
// by Stop.
func StartRelay(ctx context.Context, ns *netns.NS, down, up string, server netip.Addr) (*Relay, error) {
	return StartRelayTo(ctx, ns, down, up, server)
}

// StartRelayTo is StartRelay forwarding every request to each of servers,
// as a relay in front of a failover pair does.
func StartRelayTo(ctx context.Context, ns *netns.NS, down, up string, servers ...netip.Addr) (*Relay, error) {
	if len(servers) == 0 {
		return nil, fmt.Errorf("dhcrelay needs at least one server address")
	}
	r := &Relay{}
	args := []string{"-d", "-4", "-a", "-id", down, "-iu", up}
	for _, s := range servers {
		args = append(args, s.String())
	}
	cmd := ns.Command(context.Background(), "dhcrelay", args...)
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	proc, err := ns.Start(cmd)
	if err != nil {
		return nil, err
	}
	r.proc = proc
	// dhcrelay prints its "Sending on" lines once its sockets are open.
	for !strings.Contains(r.out.String(), "Sending on") {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dhcrelay not ready: %w\n%s", ctx.Err(), r.out.String())
		case <-proc.Done():
			return nil, fmt.Errorf("dhcrelay exited: %v\n%s", proc.Wait(), r.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return r, nil
}

// Output returns what dhcrelay printed.
func (r *Relay) Output() string { return r.out.String() }

// Stop ends dhcrelay by PID.
func (r *Relay) Stop() error {
	_ = r.proc.Stop(2 * time.Second)
	return nil
}
