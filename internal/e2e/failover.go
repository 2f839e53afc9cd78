package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// FailoverSpec is the failover section of one partner's configuration.
type FailoverSpec struct {
	Name            string // relationship name; "" means "edge-pair"
	Role            string // primary or secondary
	Listen, Partner netip.AddrPort
	Percent         int // load-balance-percent
	MCLT            time.Duration
	// Switchover is state-switchover-interval; 0 leaves it out (only
	// "xdhcpctl failover partner-down" then declares the partner down).
	Switchover time.Duration
	// MaxResponseDelay is the partner silence that ends the link; 0
	// keeps the default.
	MaxResponseDelay time.Duration
	SecretFile       string // "": unauthenticated
}

// yaml renders the failover section.
func (f FailoverSpec) yaml() string {
	var b strings.Builder
	name := f.Name
	if name == "" {
		name = "edge-pair"
	}
	fmt.Fprintf(&b, "failover:\n  name: %s\n  role: %s\n  listen: %s\n  partner: %s\n  mode: load-balance\n  load-balance-percent: %d\n  mclt: %ds\n",
		name, f.Role, f.Listen, f.Partner, f.Percent, int(f.MCLT.Seconds()))
	if f.Switchover > 0 {
		fmt.Fprintf(&b, "  state-switchover-interval: %ds\n", int(f.Switchover.Seconds()))
	}
	if f.MaxResponseDelay > 0 {
		fmt.Fprintf(&b, "  max-response-delay: %ds\n", int(f.MaxResponseDelay.Seconds()))
	}
	if f.SecretFile != "" {
		fmt.Fprintf(&b, "  shared-secret-file: %q\n", f.SecretFile)
	}
	return b.String()
}

// Mirror returns the partner's section: the other role, listen and
// partner swapped, everything else equal.
func (f FailoverSpec) Mirror() FailoverSpec {
	m := f
	m.Listen, m.Partner = f.Partner, f.Listen
	m.Role = "secondary"
	if f.Role == "secondary" {
		m.Role = "primary"
	}
	return m
}

// WriteFailoverSpec writes the configuration for spec with fo as its
// failover section. metrics, when not "", is the metrics-listen address
// (inside the daemon's namespace).
func (d *Daemon) WriteFailoverSpec(spec ServerSpec, fo FailoverSpec, metrics string) error {
	text := spec.yaml(d.DataDir, d.Socket)
	if metrics != "" {
		text = strings.Replace(text, `metrics-listen: ""`, fmt.Sprintf("metrics-listen: %q", metrics), 1)
	}
	return d.WriteConfig(text + fo.yaml())
}

// WriteSecret writes a fresh random shared secret (32 bytes, base64) to
// path, readable by its owner only.
func WriteSecret(path string) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("make a failover secret: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write failover secret: %w", err)
	}
	return nil
}

// FailoverStatus returns xdhcpctl failover status.
func (d *Daemon) FailoverStatus(ctx context.Context) (api.FailoverStatus, error) {
	return d.failoverCall(ctx, "failover", "status")
}

// SetSplit runs xdhcpctl failover split percent and returns the status it
// answers with.
func (d *Daemon) SetSplit(ctx context.Context, percent int) (api.FailoverStatus, error) {
	return d.failoverCall(ctx, "failover", "split", strconv.Itoa(percent))
}

func (d *Daemon) failoverCall(ctx context.Context, args ...string) (api.FailoverStatus, error) {
	var st api.FailoverStatus
	out, err := d.Ctl(ctx, args...)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("decode xdhcpctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return st, nil
}

// WaitFailover polls xdhcpctl failover status every 100 ms until ok
// accepts it and returns that status; on timeout the error shows the
// last status seen.
func (d *Daemon) WaitFailover(ctx context.Context, what string, ok func(api.FailoverStatus) bool) (api.FailoverStatus, error) {
	var last api.FailoverStatus
	var lastErr error
	for {
		st, err := d.FailoverStatus(ctx)
		if err == nil && ok(st) {
			return st, nil
		}
		last, lastErr = st, err
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%s: not reached (%w); last status: state %s, partner %s, connected %v, buckets %d, counters %v, error %v",
				what, ctx.Err(), last.State, last.PartnerState, last.Connected, last.OwnedBuckets, last.Counters, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// InState returns a WaitFailover condition: this server in state and,
// unless partner is "", its partner in partner.
func InState(state, partner string) func(api.FailoverStatus) bool {
	return func(st api.FailoverStatus) bool {
		return st.State == state && (partner == "" || st.PartnerState == partner)
	}
}

// Settled is a WaitFailover condition: NORMAL with the partner NORMAL and
// no binding update waiting or in flight.
func Settled(st api.FailoverStatus) bool {
	return st.State == "NORMAL" && st.PartnerState == "NORMAL" && st.Connected && st.UnackedUpdates == 0 && st.PendingUpdates == 0
}

// dialIn opens a TCP connection to addr from inside ns.
func dialIn(ns *netns.NS, addr string) (net.Conn, error) {
	var conn net.Conn
	err := ns.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	})
	return conn, err
}

// Metrics fetches the Prometheus text that xdhcpd serves on addr inside
// ns and returns every sample by its full name with labels, e.g.
// `xdhcp_packets_sent_total{type="ACK"}`.
func Metrics(ns *netns.NS, addr string) (map[string]float64, error) {
	conn, err := dialIn(ns, addr)
	if err != nil {
		return nil, fmt.Errorf("metrics at %s in %s: %w", addr, ns.Name, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr); err != nil {
		return nil, fmt.Errorf("metrics at %s: %w", addr, err)
	}
	return parseMetrics(conn)
}

// parseMetrics reads an HTTP/1.0 answer carrying Prometheus text.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	out := map[string]float64{}
	body := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !body {
			if strings.HasPrefix(line, "HTTP/") && !strings.Contains(line, " 200") {
				return nil, fmt.Errorf("metrics: %s", line)
			}
			body = line == ""
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// PairLab is a Lab with two servers on its switch: A is the lab's Server
// namespace and B a second one, both with ServerIface.
type PairLab struct {
	*Lab
	B *netns.NS
}

// NewPairLab builds the lab with server A at a and server B at b
// ("192.0.2.1/24", "192.0.2.2/24").
func NewPairLab(prefix string, a, b netip.Prefix) (*PairLab, error) {
	lab, err := NewLab(prefix, a)
	if err != nil {
		return nil, err
	}
	p := &PairLab{Lab: lab}
	if p.B, err = lab.newNS("srvb"); err == nil {
		if err = lab.plug(p.B, ServerIface); err == nil {
			err = p.B.AddAddr(ServerIface, b.String())
		}
	}
	if err != nil {
		_ = lab.Close()
		return nil, err
	}
	return p, nil
}

// FailoverIface is the name of the dedicated failover link's interface in
// both server namespaces (AddFailoverLink).
const FailoverIface = "fo0"

// AddFailoverLink joins A and B by a veth pair of their own, FailoverIface
// on both sides, with addresses a and b ("10.99.0.1/30"), so that the
// failover connection can be cut while clients still reach both servers.
func (p *PairLab) AddFailoverLink(a, b netip.Prefix) error {
	if err := netns.Veth(p.Server, FailoverIface, p.B, FailoverIface); err != nil {
		return err
	}
	if err := p.Server.AddAddr(FailoverIface, a.String()); err != nil {
		return err
	}
	return p.B.AddAddr(FailoverIface, b.String())
}

// AddPairRelay is AddRelay for the pair: B also gets the route to the
// relayed subnet through the relay.
func (p *PairLab) AddPairRelay(up, down netip.Prefix) (relay, client *netns.NS, err error) {
	if relay, client, err = p.AddRelay(up, down); err != nil {
		return nil, nil, err
	}
	if err := p.B.AddRoute(down.Masked().String(), up.Addr().String()); err != nil {
		return nil, nil, err
	}
	return relay, client, nil
}

// StateTrail records the failover states a daemon passes through, polled
// every 50 ms from Watch until Stop; states shorter than that may be
// missed.
type StateTrail struct {
	stop chan struct{}
	done chan []string
}

// WatchStates starts recording d's states.
func WatchStates(d *Daemon) *StateTrail {
	tr := &StateTrail{stop: make(chan struct{}), done: make(chan []string, 1)}
	go func() {
		var trail []string
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := d.FailoverStatus(ctx)
			cancel()
			if err == nil {
				s := st.State + "/" + st.PartnerState
				if len(trail) == 0 || trail[len(trail)-1] != s {
					trail = append(trail, s)
				}
			}
			select {
			case <-tr.stop:
				tr.done <- trail
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return tr
}

// Stop ends the recording and returns the states seen, each as
// "STATE/PARTNER-STATE".
func (tr *StateTrail) Stop() []string {
	close(tr.stop)
	return <-tr.done
}
