// Command xdhcpctl talks to a running xdhcpd over its control socket.
//
//	xdhcpctl status                      uptime, interfaces, pool use per scope
//	xdhcpctl leases [--scope S] [--mac M] [--ip A]
//	xdhcpctl lease delete IP             free an address now
//	xdhcpctl reload                      re-read the configuration, keeping every lease
//	xdhcpctl dataplane                   XDP mode, bucket split and counters
//	xdhcpctl failover status             both partners' states, split, MCLT, updates in flight
//	xdhcpctl failover partner-down       declare the partner down (COMMUNICATIONS-INTERRUPTED only)
//	xdhcpctl failover split PERCENT      change the load-balance split on both partners, live
//	xdhcpctl failover replicate [--force] push the failover scopes' settings to the partner
//
// Global flags come before the command: --socket PATH, --json, --timeout.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "xdhcpctl:", err)
		os.Exit(1)
	}
}

const usage = `usage: xdhcpctl [--socket PATH] [--json] [--timeout D] COMMAND
commands:
  status                              uptime, interfaces and pool use per scope
  leases [--scope S] [--mac M] [--ip A]
  lease delete IP                     free an address now
  reload                              re-read the configuration file, keeping every lease
  dataplane                           XDP mode, owned buckets and counters
  failover status                     both partners' states, split, MCLT, updates in flight
  failover partner-down               declare the partner down (from COMMUNICATIONS-INTERRUPTED)
  failover split PERCENT              change the load-balance split on both partners, live
  failover replicate [--force]        push the failover scopes' settings (pools, options,
                                      reservations) to the partner; --force overrides a newer copy there
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xdhcpctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	socket := fs.String("socket", "/run/xdhcp/xdhcpd.sock", "xdhcpd control socket (server.control-socket)")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("no command given")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := cli{socket: *socket, json: *asJSON, out: stdout}
	switch rest[0] {
	case "status":
		return c.status(ctx)
	case "leases":
		return c.leases(ctx, rest[1:], stderr)
	case "lease":
		if len(rest) != 3 || rest[1] != "delete" {
			return errors.New("usage: xdhcpctl lease delete IP")
		}
		return c.deleteLease(ctx, rest[2])
	case "reload":
		return c.reload(ctx)
	case "dataplane":
		return c.dataplane(ctx)
	case "failover":
		return c.failover(ctx, rest[1:])
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", rest[0])
}

type cli struct {
	socket string
	json   bool
	out    io.Writer
}

func (c cli) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c cli) status(ctx context.Context) error {
	var st api.Status
	if err := api.Call(ctx, c.socket, api.Request{Command: api.CmdStatus}, &st); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(st)
	}
	fmt.Fprintf(c.out, "xdhcpd %s, up %s, server id %s\n", st.Version,
		(time.Duration(st.UptimeSeconds) * time.Second).String(), st.ServerID)
	fmt.Fprintf(c.out, "config %s, loaded %s\n", st.Config, st.LoadedAt.Format(time.RFC3339))
	for _, i := range st.Interfaces {
		fmt.Fprintf(c.out, "interface %s: %s, receive %s", i.Name, i.Dataplane, cmp.Or(i.Receive, "udp"))
		if a := i.AFXDP; a != nil {
			fmt.Fprintf(c.out, " (%d queues, %s; %d requests in, %d replies out)", a.Queues, a.Mode, a.Received, a.Sent)
		}
		fmt.Fprintln(c.out)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SCOPE\tTOTAL\tFREE\tACTIVE\tOFFERED\tDECLINED\tRESERVED\tUSED\tEXHAUSTED\tREUSED\t")
	for _, s := range st.Scopes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t%d\t%d\t\n", s.Subnet, s.Total, s.Free, s.Active,
			s.Offered, s.Declined, s.Reserved, 100*s.Utilization, s.Exhausted, s.Reused)
	}
	return tw.Flush()
}

func (c cli) leases(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("xdhcpctl leases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	req := api.Request{Command: api.CmdLeases}
	fs.StringVar(&req.Scope, "scope", "", "only this scope (subnet, like 192.0.2.0/24)")
	fs.StringVar(&req.MAC, "mac", "", "only this hardware address")
	fs.StringVar(&req.IP, "ip", "", "only this address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var leases []api.Lease
	if err := api.Call(ctx, c.socket, req, &leases); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(leases)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IP\tSTATE\tHW ADDRESS\tCLIENT ID\tHOSTNAME\tEXPIRES\tCIRCUIT ID")
	for _, l := range leases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.IP, l.State, l.HWAddress, dash(l.ClientID),
			dash(l.Hostname), expires(l.Expiry), dash(l.CircuitID))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%d leases\n", len(leases))
	return nil
}

// joinCounts prints counts as "name=N" in name order.
func joinCounts(counts map[string]uint64) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

// replicate pushes the scope settings and says what the partner did.
func (c cli) replicate(ctx context.Context, args []string) error {
	req := api.Request{Command: api.CmdFailoverReplicate}
	switch {
	case len(args) == 1 && (args[0] == "--force" || args[0] == "-force"):
		req.Force = true
	case len(args) != 0:
		return errors.New("usage: xdhcpctl failover replicate [--force]")
	}
	var r api.Replicate
	if err := api.Call(ctx, c.socket, req, &r); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(r)
	}
	switch r.Outcome {
	case "identical":
		fmt.Fprintf(c.out, "partner already has these settings (%s)\n", versionLine(r.Ours))
	default:
		forced := ""
		if r.Forced {
			forced = " (forced)"
		}
		fmt.Fprintf(c.out, "partner applied our scope settings%s: %s\n", forced, versionLine(r.Ours))
	}
	return nil
}

func versionLine(v api.SettingsVersion) string {
	if v.Generation == 0 && v.Hash == "" {
		return "no version"
	}
	h := v.Hash
	if len(h) > 12 {
		h = h[:12]
	}
	return fmt.Sprintf("generation %d, changed %s, hash %s", v.Generation, v.Changed.Format(time.RFC3339), h)
}

// lagLine summarises the replication lag histogram.
func lagLine(l api.LagSummary) string {
	if l.Count == 0 {
		return "no update acknowledged yet"
	}
	d := func(sec float64) time.Duration {
		return time.Duration(sec * float64(time.Second)).Round(time.Microsecond)
	}
	return fmt.Sprintf("%d updates acknowledged; lag mean %s, p50 ≈%s, p99 ≈%s", l.Count, d(l.MeanSeconds), d(l.P50Seconds), d(l.P99Seconds))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func expires(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Until(t).Round(time.Second)
	if d < 0 {
		return "expired " + (-d).String() + " ago"
	}
	return "in " + d.String()
}

func (c cli) deleteLease(ctx context.Context, ip string) error {
	var l api.Lease
	if err := api.Call(ctx, c.socket, api.Request{Command: api.CmdLeaseDelete, IP: ip}, &l); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(l)
	}
	fmt.Fprintf(c.out, "deleted lease %s (%s)\n", l.IP, l.HWAddress)
	return nil
}

func (c cli) reload(ctx context.Context) error {
	var r api.Reload
	if err := api.Call(ctx, c.socket, api.Request{Command: api.CmdReload}, &r); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(r)
	}
	fmt.Fprintf(c.out, "reloaded: %d scopes, %d leases kept\n", r.Scopes, r.Leases)
	return nil
}

func (c cli) dataplane(ctx context.Context) error {
	var st map[string]any
	if err := api.Call(ctx, c.socket, api.Request{Command: api.CmdDataplane}, &st); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(st)
	}
	printTree(c.out, st, "")
	return nil
}

// printTree prints nested JSON objects as indented "key: value" lines in
// key order.
func printTree(w io.Writer, m map[string]any, indent string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m[k].(type) {
		case map[string]any:
			fmt.Fprintf(w, "%s%s:\n", indent, k)
			printTree(w, v, indent+"  ")
		case float64:
			fmt.Fprintf(w, "%s%s: %s\n", indent, k, strings.TrimSuffix(fmt.Sprintf("%.0f", v), ".0"))
		default:
			fmt.Fprintf(w, "%s%s: %v\n", indent, k, v)
		}
	}
}

func (c cli) failover(ctx context.Context, args []string) error {
	req := api.Request{Command: api.CmdFailoverStatus}
	switch {
	case len(args) >= 1 && args[0] == "replicate":
		return c.replicate(ctx, args[1:])
	case len(args) == 1 && args[0] == "status":
	case len(args) == 1 && args[0] == "partner-down":
		req.Command = api.CmdFailoverPartnerDown
	case len(args) == 2 && args[0] == "split":
		pct, err := strconv.Atoi(strings.TrimSuffix(args[1], "%"))
		if err != nil || pct < 0 || pct > 100 {
			return fmt.Errorf("failover split: %q is not a percentage from 0 to 100", args[1])
		}
		req.Command, req.Percent = api.CmdFailoverSplit, pct
	default:
		return errors.New("usage: xdhcpctl failover status | partner-down | split PERCENT | replicate [--force]")
	}
	var st api.FailoverStatus
	if err := api.Call(ctx, c.socket, req, &st); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(st)
	}
	switch req.Command {
	case api.CmdFailoverPartnerDown:
		fmt.Fprintln(c.out, "partner declared down")
	case api.CmdFailoverSplit:
		fmt.Fprintf(c.out, "split is now %d%% on both partners\n", st.SplitPercent)
	}
	since := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	}
	link := "down"
	if st.Connected {
		link = "up"
	}
	auth := "UNAUTHENTICATED"
	if st.Authenticated {
		auth = "authenticated"
	}
	fmt.Fprintf(c.out, "relationship %s: this server is %s, %s mode, split %d%%, MCLT %s\n",
		st.Name, st.Role, st.Mode, st.SplitPercent, time.Duration(st.MCLTSeconds*float64(time.Second)))
	fmt.Fprintf(c.out, "this server:  %s since %s; answering %s, allocating from %s, %d buckets\n",
		st.State, since(st.StateSince), st.Answering, st.Allocating, st.OwnedBuckets)
	fmt.Fprintf(c.out, "partner:      %s since %s\n", dash(st.PartnerState), since(st.PartnerSince))
	fmt.Fprintf(c.out, "link:         %s, %s, last contact %s\n", link, auth, since(st.LastContact))
	skew := fmt.Sprintf("%+.0fs", st.ClockSkewSeconds)
	if st.ClockSkewWarning {
		skew += " (WARNING: over the configured bound)"
	}
	fmt.Fprintf(c.out, "updates:      %d unacked, %d pending; clock skew %s\n", st.UnackedUpdates, st.PendingUpdates, skew)
	fmt.Fprintf(c.out, "replication:  %s\n", lagLine(st.ReplicationLag))
	origin := "this server's file"
	if st.SettingsReplicated {
		origin = "replicated from the partner"
	}
	fmt.Fprintf(c.out, "scopes:       %s (%s)\n", versionLine(st.Settings), origin)
	fmt.Fprintf(c.out, "counters:     %s\n", joinCounts(st.Counters))
	if len(st.RejectedBy) > 0 {
		fmt.Fprintf(c.out, "refused by:   %s\n", joinCounts(st.RejectedBy))
	}
	return nil
}
