package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/bench/frame"
	"github.com/xdhcp/xdhcp/bench/stats"
)

// Scenario names a workload.
type Scenario string

// The scenarios.
const (
	ScenarioDORA   Scenario = "dora"
	ScenarioRenew  Scenario = "renew"
	ScenarioRebind Scenario = "rebind"
	ScenarioMix    Scenario = "mix"
	ScenarioFlood  Scenario = "flood"
)

// Scenarios lists the valid scenarios.
var Scenarios = []Scenario{ScenarioDORA, ScenarioRenew, ScenarioRebind, ScenarioMix, ScenarioFlood}

// PacketIO is batched frame I/O on one interface (rawio.Conn has it).
type PacketIO interface {
	Send(frames [][]byte) (int, error)
	Receive(timeout time.Duration, fn func([]byte)) (int, error)
	HardwareAddr() [6]byte
	BatchSize() int
}

// Config is one generator run. Zero values mean defaults.
type Config struct {
	Scenario Scenario // default dora
	Clients  int      // distinct simulated clients; default 1000
	Rate     float64  // exchanges started per second; 0: unbounded, Window in flight
	// Tick is the pacing quantum at a target Rate: starts are released
	// in bursts of Rate×Tick (at least one), so between bursts the
	// generator can wait (see Idle) instead of spinning on the clock and
	// taking a core from the server on a shared machine. Default 100µs.
	Tick time.Duration
	// Idle says how the generator waits when nothing is due and no
	// reply is waiting: IdleSleep (the default) sleeps up to a Tick on a
	// timer and then takes every reply that arrived meanwhile; IdlePoll
	// sleeps in poll and is woken by the next reply. Being woken costs
	// the sender of the reply, the server under test, a task wake-up
	// for every reply it sends (on veth its transmit runs the
	// generator's receive), so IdlePoll inflates every server's CPU per
	// lease; IdleSleep adds up to a Tick to latencies instead.
	Idle     IdleMode
	Window   int           // most exchanges in flight when Rate is 0; default 1024
	Duration time.Duration // measured time; default 10s
	Timeout  time.Duration // per attempt; default 1s
	Retries  int           // retransmissions before an exchange counts as dropped; default 0 (-1 in Config means 0 too)
	ClientID bool          // send option 61 (type 1 + MAC)
	Release  bool          // dora: RELEASE after each ACK
	Decline  bool          // dora: DECLINE after each ACK
	// Relay, when valid, makes every client relayed: giaddr = Relay,
	// option 82 with a per-client circuit-id, sent by unicast from port
	// 67 to each of Servers, as a relay with several helper addresses
	// does; renewals and releases go only to the server that granted the
	// lease. Relay must be an address of the generator's interface.
	Relay     netip.Addr
	Servers   []netip.Addr // relay targets (1 to 16)
	ServerMAC [6]byte      // MAC of Servers[0]; zero: resolved by ARP, like the others
	LegitRate float64      // flood: DORA starts per second by legitimate clients; default 100
	// FloodSource says whose Ethernet source address the flood's frames
	// carry; legitimate clients always send from their own MAC.
	FloodSource FloodSource
	WarmupRate  float64 // renew/mix warm-up rate; default unbounded (Window)
	MACSeed     byte    // second byte of client MACs, to run several generators
	// Progress, when set, is called about every ProgressEvery with the
	// totals so far.
	Progress      func(Snapshot)
	ProgressEvery time.Duration
	// OnPhase, when set, is called with "measure" as the measured phase
	// begins (after any warm-up) and "done" when its in-flight exchanges
	// have drained, so a caller can sample a server's CPU over exactly
	// that window.
	OnPhase func(phase string)
}

// FloodSource is where a flood's frames come from, as the network sees it.
type FloodSource string

// The flood sources.
const (
	// FloodSpoofed sends each frame from its random chaddr, as if from a
	// new client (the Ethernet source is the chaddr). The default.
	FloodSpoofed FloodSource = "spoofed"
	// FloodOnePort sends every frame from the generator interface's own
	// MAC with a random chaddr, as a starvation tool behind one
	// subscriber port does.
	FloodOnePort FloodSource = "port"
)

// Snapshot is a progress report.
type Snapshot struct {
	Phase   string // "warm-up" or "measure"
	Elapsed time.Duration
	Stats   stats.Set
}

// Result is a finished run.
type Result struct {
	Config   Config
	Elapsed  time.Duration // measured time (Duration, or less if cancelled)
	Warmup   time.Duration
	Stats    stats.Set
	Inflight int // exchanges still open when the drain ended
}

// Offered returns exchanges started per second of kind k.
func (r *Result) Offered(k stats.Kind) float64 {
	return perSecond(r.Stats.Kinds[k].Started, r.Elapsed)
}

// CompletedRate returns exchanges completed per second of kind k.
func (r *Result) CompletedRate(k stats.Kind) float64 {
	return perSecond(r.Stats.Kinds[k].Completed, r.Elapsed)
}

// DropRatio returns the fraction of kind k's exchanges that timed out or
// were refused with a NAK.
func (r *Result) DropRatio(k stats.Kind) float64 {
	c := r.Stats.Kinds[k]
	if c.Started == 0 {
		return 0
	}
	return float64(c.Timeouts+c.NAKs) / float64(c.Started)
}

// Primary is the kind the scenario is about (what a sweep watches).
func (r *Result) Primary() stats.Kind {
	switch r.Config.Scenario {
	case ScenarioRenew:
		return stats.Renew
	case ScenarioRebind:
		return stats.Rebind
	default:
		return stats.DORA
	}
}

func perSecond(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("invalid generator config")

func (c *Config) validate() error {
	if c.Scenario == "" {
		c.Scenario = ScenarioDORA
	}
	ok := false
	for _, s := range Scenarios {
		ok = ok || s == c.Scenario
	}
	if !ok {
		return fmt.Errorf("%w: Scenario %q: choose one of %v", ErrConfig, c.Scenario, Scenarios)
	}
	if c.Clients == 0 {
		c.Clients = 1000
	}
	if c.Clients < 2 || c.Clients > 1<<28 {
		return fmt.Errorf("%w: Clients %d: use 2..%d", ErrConfig, c.Clients, 1<<28)
	}
	if c.Rate < 0 || c.LegitRate < 0 || c.WarmupRate < 0 {
		return fmt.Errorf("%w: rates must not be negative", ErrConfig)
	}
	if c.Window <= 0 {
		c.Window = 1024
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Tick < 0 || c.Tick > time.Second {
		return fmt.Errorf("%w: Tick %v: use 0 (default %v) up to 1s", ErrConfig, c.Tick, defaultTick)
	}
	if c.Tick == 0 {
		c.Tick = defaultTick
	}
	switch c.Idle {
	case "":
		c.Idle = IdleSleep
	case IdleSleep, IdlePoll:
	default:
		return fmt.Errorf("%w: Idle %q: choose %q or %q", ErrConfig, c.Idle, IdleSleep, IdlePoll)
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Retries > 10 {
		return fmt.Errorf("%w: Retries %d: use at most 10", ErrConfig, c.Retries)
	}
	switch c.FloodSource {
	case "":
		c.FloodSource = FloodSpoofed
	case FloodSpoofed, FloodOnePort:
	default:
		return fmt.Errorf("%w: FloodSource %q: choose %q or %q", ErrConfig, c.FloodSource, FloodSpoofed, FloodOnePort)
	}
	if c.LegitRate == 0 {
		c.LegitRate = 100
	}
	if c.Release && c.Decline {
		return fmt.Errorf("%w: Release and Decline: choose one", ErrConfig)
	}
	if c.Relay.IsValid() {
		if !c.Relay.Is4() || len(c.Servers) == 0 || len(c.Servers) > 16 {
			return fmt.Errorf("%w: Relay needs an IPv4 Relay and 1 to 16 Servers", ErrConfig)
		}
		for _, a := range c.Servers {
			if !a.Is4() {
				return fmt.Errorf("%w: relay target %s is not IPv4", ErrConfig, a)
			}
		}
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	return nil
}

// warmupTimeout bounds the per-attempt timeout of the warm-up.
const warmupTimeout = 200 * time.Millisecond

// defaultTick is Config.Tick's default: at 100,000 starts/s a burst of
// ten, far below any latency the generator reports.
const defaultTick = 100 * time.Microsecond

// IdleMode is how the generator waits with nothing due (Config.Idle).
type IdleMode string

// The idle modes.
const (
	IdleSleep IdleMode = "sleep"
	IdlePoll  IdleMode = "poll"
)

// Client states.
const (
	stIdle uint8 = iota
	stSelecting
	stRequesting
	stBound
	stRenewing
	stRebinding
)

type client struct {
	start  int64 // exchange start, ns since the run's base
	seq    uint32
	addr   [4]byte
	server uint8 // index into gen.servers
	state  uint8
	tries  uint8
	kind   stats.Kind
}

type pending struct {
	deadline int64
	idx      uint32
	seq      uint32
}

type serverInfo struct {
	ip  [4]byte
	mac [6]byte
}

type gen struct {
	cfg     Config
	io      PacketIO
	mac     [6]byte
	clients []client
	salt    uint32
	base    time.Time
	now     int64

	queue []pending // FIFO of attempt deadlines (a ring)
	qHead int
	qLen  int
	// timeout is the current phase's per-attempt timeout: Config.Timeout
	// when measuring, at most warmupTimeout while warming up. All
	// attempts of a phase share it, which keeps the queue in deadline
	// order.
	timeout time.Duration

	inflight int
	servers  []serverInfo
	owners   map[[4]byte]uint32

	txBufs   [][]byte
	txFrames [][]byte

	st  stats.Set
	rng *rand.Rand

	scratch [4]byte
	cid     [7]byte
	msg     frame.Message
	arp     frame.ARP
}

// Run drives the scenario on io and returns the measured totals. It
// returns early, with what it measured, when ctx is cancelled.
func Run(ctx context.Context, io PacketIO, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	seed := uint64(time.Now().UnixNano())
	g := &gen{
		cfg: cfg, io: io, mac: io.HardwareAddr(), timeout: cfg.Timeout,
		clients: make([]client, cfg.Clients),
		salt:    uint32(seed>>7) &^ (1 << 31),
		owners:  make(map[[4]byte]uint32, cfg.Clients),
		queue:   make([]pending, 1024),
		rng:     rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		base:    time.Now(),
	}
	batch := io.BatchSize()
	g.txBufs = make([][]byte, batch)
	for i := range g.txBufs {
		g.txBufs[i] = make([]byte, frame.MaxLen)
	}
	g.txFrames = make([][]byte, 0, batch)
	if cfg.Relay.IsValid() {
		for i, a := range cfg.Servers {
			si := serverInfo{ip: a.As4()}
			if i == 0 {
				si.mac = cfg.ServerMAC
			}
			g.servers = append(g.servers, si)
		}
		if err := g.resolveServerMACs(ctx); err != nil {
			return nil, err
		}
	}
	res := &Result{Config: cfg}
	if cfg.Scenario == ScenarioRenew || cfg.Scenario == ScenarioRebind || cfg.Scenario == ScenarioMix {
		start := time.Now()
		if err := g.warmup(ctx); err != nil {
			return nil, err
		}
		res.Warmup = time.Since(start)
		g.st = stats.Set{}
	}
	elapsed, err := g.measure(ctx)
	res.Elapsed = elapsed
	res.Stats = g.st
	res.Inflight = g.inflight
	return res, err
}

func (g *gen) clock() int64 {
	g.now = int64(time.Since(g.base))
	return g.now
}

// warmup binds the clients the scenario renews, without measuring.
func (g *gen) warmup(ctx context.Context) error {
	// Unmeasured: an attempt a server dropped is retried after a short
	// wait, not the measured timeout, so a server whose socket
	// overflows in the warm-up's burst is not waited on for seconds.
	g.timeout = min(g.cfg.Timeout, warmupTimeout)
	defer func() { g.timeout = g.cfg.Timeout }()
	lo, hi := g.renewRange()
	next := lo
	bound := 0
	lastReport := g.clock()
	for bound < hi-lo {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		g.clock()
		g.expire()
		for next < hi && g.inflight < g.cfg.Window {
			g.startDORA(uint32(next))
			next++
		}
		if err := g.pump(time.Millisecond); err != nil {
			return err
		}
		bound = 0
		if next >= hi { // count only when all have been started
			for i := lo; i < hi; i++ {
				if g.clients[i].state == stBound {
					bound++
				}
			}
			if bound < hi-lo && g.inflight == 0 {
				// Some failed: restart them.
				for i := lo; i < hi; i++ {
					if g.clients[i].state == stIdle && g.inflight < g.cfg.Window {
						g.startDORA(uint32(i))
					}
				}
			}
		}
		if g.cfg.Progress != nil && g.now-lastReport >= int64(g.cfg.ProgressEvery) {
			lastReport = g.now
			g.cfg.Progress(Snapshot{Phase: "warm-up", Elapsed: time.Duration(g.now), Stats: g.st})
		}
		if g.now > int64(g.cfg.Duration)*3+int64(15*time.Second) {
			return fmt.Errorf("warm-up: only %d of %d clients bound after %v", bound, hi-lo, time.Duration(g.now).Round(time.Second))
		}
	}
	// Let stragglers (late duplicate replies) settle.
	return g.drain(ctx, 0)
}

// renewRange is the client index range bound in warm-up and renewed.
func (g *gen) renewRange() (int, int) {
	if g.cfg.Scenario == ScenarioMix {
		return 0, g.cfg.Clients / 2
	}
	return 0, g.cfg.Clients
}

func (g *gen) measure(ctx context.Context) (time.Duration, error) {
	if g.cfg.OnPhase != nil {
		g.cfg.OnPhase("measure")
		defer g.cfg.OnPhase("done")
	}
	start := g.clock()
	end := start + int64(g.cfg.Duration)
	var started, legitStarted uint64
	doraLo, doraHi := 0, g.cfg.Clients
	if g.cfg.Scenario == ScenarioMix {
		doraLo = g.cfg.Clients / 2
	}
	renewLo, renewHi := g.renewRange()
	doraCursor, renewCursor := doraLo, renewLo
	lastReport := start
	burst := uint64(max(1, g.cfg.Rate*g.cfg.Tick.Seconds()))
	turn := 0
	for {
		if ctx.Err() != nil {
			return time.Duration(g.now - start), g.drain(context.Background(), start)
		}
		now := g.clock()
		if now >= end {
			break
		}
		g.expire()
		el := float64(now-start) / 1e9
		due := 0
		if g.cfg.Rate > 0 {
			due = int(g.cfg.Rate*el) - int(started)
			due = min(due, 4*len(g.txBufs))
		} else {
			due = min(g.cfg.Window, g.cfg.Clients) - g.inflight
		}
		for ; due > 0; due-- {
			started++
			switch g.cfg.Scenario {
			case ScenarioDORA:
				doraCursor = g.startNext(doraCursor, doraLo, doraHi, stats.DORA)
			case ScenarioRenew:
				renewCursor = g.startNext(renewCursor, renewLo, renewHi, stats.Renew)
			case ScenarioRebind:
				renewCursor = g.startNext(renewCursor, renewLo, renewHi, stats.Rebind)
			case ScenarioMix:
				turn ^= 1
				if turn == 1 {
					doraCursor = g.startNext(doraCursor, doraLo, doraHi, stats.DORA)
				} else {
					renewCursor = g.startNext(renewCursor, renewLo, renewHi, stats.Renew)
				}
			case ScenarioFlood:
				g.sendFlood()
			}
		}
		if g.cfg.Scenario == ScenarioFlood {
			for int(g.cfg.LegitRate*el) > int(legitStarted) {
				legitStarted++
				doraCursor = g.startNext(doraCursor, doraLo, doraHi, stats.DORA)
			}
		}
		wait := time.Millisecond
		if g.cfg.Rate > 0 {
			// Wait until a burst's worth is due (IdleSleep: at most a
			// tick, IdlePoll: unless a reply comes first); the loop then
			// starts whatever is due.
			next := start + int64(float64(started+burst)/g.cfg.Rate*1e9)
			wait = time.Duration(next - g.clock())
		}
		if err := g.pump(wait); err != nil {
			return time.Duration(g.now - start), err
		}
		if g.cfg.Progress != nil && g.now-lastReport >= int64(g.cfg.ProgressEvery) {
			lastReport = g.now
			g.cfg.Progress(Snapshot{Phase: "measure", Elapsed: time.Duration(g.now - start), Stats: g.st})
		}
	}
	elapsed := time.Duration(g.now - start)
	err := g.drain(ctx, start)
	if g.cfg.Scenario == ScenarioFlood {
		f := &g.st.Kinds[stats.Flood]
		f.Timeouts = f.Started - min(f.Completed, f.Started)
	}
	return elapsed, err
}

// startNext starts kind on the next client in [lo, hi) that is free for
// it, scanning at most 64 clients; it returns the new cursor.
func (g *gen) startNext(cursor, lo, hi int, kind stats.Kind) int {
	for tries := 0; tries < 64; tries++ {
		i := cursor
		cursor++
		if cursor >= hi {
			cursor = lo
		}
		c := &g.clients[i]
		switch kind {
		case stats.DORA:
			if c.state == stIdle || c.state == stBound {
				g.startDORA(uint32(i))
				return cursor
			}
		case stats.Renew, stats.Rebind:
			if c.state == stBound {
				g.startRenew(uint32(i), kind)
				return cursor
			}
		}
	}
	g.st.Skipped++
	return cursor
}

func (g *gen) macOf(idx uint32) [6]byte {
	return [6]byte{0x02, g.cfg.MACSeed, byte(idx >> 24), byte(idx >> 16), byte(idx >> 8), byte(idx)}
}

func (g *gen) xidOf(idx uint32) uint32 { return idx + g.salt }

func (g *gen) startDORA(idx uint32) {
	c := &g.clients[idx]
	if c.state == stBound {
		g.forget(idx)
	}
	c.state, c.kind, c.tries, c.start = stSelecting, stats.DORA, 0, g.now
	g.st.Kinds[stats.DORA].Started++
	g.inflight++
	g.send(idx)
}

func (g *gen) startRenew(idx uint32, kind stats.Kind) {
	c := &g.clients[idx]
	c.state, c.kind, c.tries, c.start = stRenewing, kind, 0, g.now
	if kind == stats.Rebind {
		c.state = stRebinding
	}
	g.st.Kinds[kind].Started++
	g.inflight++
	g.send(idx)
}

// send (re)transmits the message the client's state calls for and queues
// its timeout.
func (g *gen) send(idx uint32) {
	c := &g.clients[idx]
	c.seq++
	m := &g.msg
	g.baseRequest(idx, m)
	to := toAll
	switch c.state {
	case stSelecting:
		m.Type = frame.Discover
	case stRequesting:
		m.Type = frame.Request
		m.ServerID, m.RequestedIP = g.servers[c.server].ip, c.addr
	case stRenewing:
		m.Type, m.Ciaddr, m.Flags = frame.Request, c.addr, 0
		to = int(c.server)
		if !g.cfg.Relay.IsValid() {
			m.SrcIP, m.DstIP, m.DstMAC = c.addr, g.servers[c.server].ip, g.servers[c.server].mac
		}
	case stRebinding:
		m.Type, m.Ciaddr = frame.Request, c.addr
		if !g.cfg.Relay.IsValid() {
			m.SrcIP = c.addr
		}
	default:
		return
	}
	g.emitTo(m, to)
	g.push(idx, c.seq)
}

// baseRequest fills the fields every client request shares.
func (g *gen) baseRequest(idx uint32, m *frame.Message) {
	mac := g.macOf(idx)
	*m = frame.Message{
		SrcMAC: mac, DstMAC: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		DstIP: [4]byte{255, 255, 255, 255}, SrcPort: frame.ClientPort, DstPort: frame.ServerPort,
		Op: frame.OpRequest, XID: g.xidOf(idx), Flags: frame.FlagBroadcast, CHAddr: mac,
	}
	if g.cfg.ClientID {
		g.cid[0] = 1
		copy(g.cid[1:], mac[:])
		m.ClientID = g.cid[:]
	}
	if g.cfg.Relay.IsValid() { // destination set by emitTo
		m.SrcMAC, m.SrcIP = g.mac, g.cfg.Relay.As4()
		m.SrcPort, m.Giaddr, m.Hops = frame.ServerPort, g.cfg.Relay.As4(), 1
		binary.BigEndian.PutUint32(g.scratch[:], idx)
		m.CircuitID = g.scratch[:]
	}
}

// toAll makes emitTo send to every relay target.
const toAll = -1

// emitTo sends m as is, or, when relaying, unicast to server index to (or
// to every relay target with toAll).
func (g *gen) emitTo(m *frame.Message, to int) {
	if !g.cfg.Relay.IsValid() {
		g.emit(m)
		return
	}
	if to != toAll {
		m.DstMAC, m.DstIP = g.servers[to].mac, g.servers[to].ip
		g.emit(m)
		return
	}
	for i := range g.cfg.Servers {
		m.DstMAC, m.DstIP = g.servers[i].mac, g.servers[i].ip
		g.emit(m)
	}
}

// emit builds m into the next transmit buffer, flushing when full.
func (g *gen) emit(m *frame.Message) {
	if len(g.txFrames) == len(g.txBufs) {
		g.flush()
	}
	buf := g.txBufs[len(g.txFrames)]
	n, err := frame.Build(buf, m)
	if err != nil {
		g.st.TxDropped++
		return
	}
	g.txFrames = append(g.txFrames, buf[:n])
}

func (g *gen) flush() {
	if len(g.txFrames) == 0 {
		return
	}
	n, _ := g.io.Send(g.txFrames)
	g.st.TxFrames += uint64(n)
	g.st.TxDropped += uint64(len(g.txFrames) - n) // the attempt's timeout retries it
	g.txFrames = g.txFrames[:0]
}

func (g *gen) push(idx, seq uint32) {
	if g.qLen == len(g.queue) {
		grown := make([]pending, 2*len(g.queue))
		for i := 0; i < g.qLen; i++ {
			grown[i] = g.queue[(g.qHead+i)%len(g.queue)]
		}
		g.queue, g.qHead = grown, 0
	}
	g.queue[(g.qHead+g.qLen)%len(g.queue)] = pending{deadline: g.now + int64(g.timeout), idx: idx, seq: seq}
	g.qLen++
}

// expire retransmits or gives up on attempts whose deadline passed.
func (g *gen) expire() {
	for g.qLen > 0 {
		p := g.queue[g.qHead]
		if p.deadline > g.now {
			return
		}
		g.qHead = (g.qHead + 1) % len(g.queue)
		g.qLen--
		c := &g.clients[p.idx]
		if c.seq != p.seq || !waiting(c.state) {
			continue // answered, or superseded by a newer attempt
		}
		if int(c.tries) < g.cfg.Retries {
			c.tries++
			g.st.Kinds[c.kind].Retries++
			g.send(p.idx)
			continue
		}
		g.st.Kinds[c.kind].Timeouts++
		g.finish(c)
		if c.state == stRenewing || c.state == stRebinding {
			// A client whose renewal went unanswered keeps its lease
			// and tries again later, as RFC 2131 section 4.4.5 has it;
			// dropping it from the bound clients would shrink a renew
			// run with every loss until nothing was left to renew.
			c.state = stBound
			continue
		}
		g.forget(p.idx)
		c.state = stIdle
	}
}

func waiting(s uint8) bool {
	return s == stSelecting || s == stRequesting || s == stRenewing || s == stRebinding
}

func (g *gen) finish(c *client) {
	g.inflight--
	c.seq++ // invalidates the pending timeout
}

// pump flushes transmits, then handles whatever replies are waiting.
// When none were waiting it waits (Config.Idle says how), so an idle
// generator leaves the CPU to the server.
func (g *gen) pump(wait time.Duration) error {
	g.flush()
	n, err := g.io.Receive(0, g.handle)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	if n == 0 && wait > 20*time.Microsecond {
		timeout := min(wait, time.Millisecond)
		if g.cfg.Idle == IdleSleep {
			sleepTick(min(wait, g.cfg.Tick))
			timeout = 0
		}
		if _, err = g.io.Receive(timeout, g.handle); err != nil {
			return fmt.Errorf("receive: %w", err)
		}
	}
	g.flush()
	return nil
}

// drain keeps handling replies and timeouts until nothing is in flight.
func (g *gen) drain(ctx context.Context, start int64) error {
	limit := g.clock() + int64(g.timeout)*int64(g.cfg.Retries+1) + int64(100*time.Millisecond)
	for g.inflight > 0 && g.now < limit && ctx.Err() == nil {
		g.clock()
		g.expire()
		g.flush()
		if _, err := g.io.Receive(time.Millisecond, g.handle); err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		g.flush()
	}
	return nil
}

func (g *gen) sendFlood() {
	var mac [6]byte
	r := g.rng.Uint64()
	mac[0], mac[1] = 0x06, g.cfg.MACSeed
	binary.BigEndian.PutUint32(mac[2:], uint32(r))
	m := &g.msg
	*m = frame.Message{
		SrcMAC: mac, DstMAC: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, DstIP: [4]byte{255, 255, 255, 255},
		SrcPort: frame.ClientPort, DstPort: frame.ServerPort, Op: frame.OpRequest, XID: uint32(r >> 32),
		Flags: frame.FlagBroadcast, CHAddr: mac, Type: frame.Discover,
	}
	if g.cfg.FloodSource == FloodOnePort {
		m.SrcMAC = g.mac
	}
	g.st.Kinds[stats.Flood].Started++
	g.emit(m)
}

// handle processes one received frame.
func (g *gen) handle(b []byte) {
	g.clock() // latency is measured to the moment each reply is handled
	g.st.RxFrames++
	if frame.ParseARP(b, &g.arp) {
		g.answerARP()
		return
	}
	m := &g.msg
	if err := frame.Parse(b, m); err != nil {
		if errors.Is(err, frame.ErrNotDHCP) {
			g.st.RxUnmatched++ // someone else's traffic
		} else {
			g.st.RxMalformed++
		}
		return
	}
	if m.Op != frame.OpReply {
		g.st.RxUnmatched++
		return
	}
	if m.CHAddr[0] == 0x06 && m.CHAddr[1] == g.cfg.MACSeed {
		if m.Type == frame.Offer {
			g.st.Kinds[stats.Flood].Completed++
		}
		return
	}
	idx := m.XID - g.salt
	if idx >= uint32(len(g.clients)) || m.CHAddr != g.macOf(idx) {
		g.st.RxUnmatched++
		return
	}
	c := &g.clients[idx]
	switch {
	case c.state == stSelecting && m.Type == frame.Offer:
		sid := m.ServerID
		if sid == ([4]byte{}) {
			sid = m.SrcIP
		}
		c.server = g.serverIndex(sid, m.SrcMAC)
		c.addr = m.Yiaddr
		c.state, c.tries = stRequesting, 0
		g.send(idx)
	case (c.state == stRequesting || c.state == stRenewing || c.state == stRebinding) && m.Type == frame.Ack:
		k := &g.st.Kinds[c.kind]
		k.Completed++
		k.Latency.Record(time.Duration(g.now - c.start))
		g.finish(c)
		c.addr = m.Yiaddr
		c.state = stBound
		g.claim(idx)
		if c.kind == stats.DORA && (g.cfg.Release || g.cfg.Decline) {
			g.giveBack(idx)
		}
	case (c.state == stRequesting || c.state == stRenewing || c.state == stRebinding) && m.Type == frame.Nak:
		g.st.Kinds[c.kind].NAKs++
		g.finish(c)
		g.forget(idx)
		c.state = stIdle
	default:
		g.st.RxUnmatched++ // a late or duplicate answer
	}
}

// claim records that client idx holds its address and counts a duplicate
// when another live client holds the same one.
func (g *gen) claim(idx uint32) {
	c := &g.clients[idx]
	if o, ok := g.owners[c.addr]; ok && o != idx {
		oc := &g.clients[o]
		if oc.addr == c.addr && oc.state != stIdle && oc.state != stSelecting {
			g.st.DupAddresses++
		}
	}
	g.owners[c.addr] = idx
}

func (g *gen) forget(idx uint32) {
	c := &g.clients[idx]
	if o, ok := g.owners[c.addr]; ok && o == idx {
		delete(g.owners, c.addr)
	}
}

// giveBack sends RELEASE (unicast) or DECLINE (broadcast) for a freshly
// bound client; neither is answered.
func (g *gen) giveBack(idx uint32) {
	c := &g.clients[idx]
	m := &g.msg
	g.baseRequest(idx, m)
	kind := stats.Release
	srv := g.servers[c.server]
	to := int(c.server)
	if g.cfg.Decline {
		kind, to = stats.Decline, toAll
		m.Type, m.RequestedIP, m.ServerID = frame.Decline, c.addr, srv.ip
	} else {
		m.Type, m.Ciaddr, m.ServerID, m.Flags = frame.Release, c.addr, srv.ip, 0
		if !g.cfg.Relay.IsValid() {
			m.SrcIP, m.DstIP, m.DstMAC = c.addr, srv.ip, srv.mac
		}
	}
	g.emitTo(m, to)
	g.st.Kinds[kind].Started++
	g.st.Kinds[kind].Completed++
	g.forget(idx)
	c.state = stIdle
}

func (g *gen) serverIndex(ip [4]byte, mac [6]byte) uint8 {
	for i, s := range g.servers {
		if s.ip == ip {
			if s.mac == ([6]byte{}) {
				g.servers[i].mac = mac
			}
			return uint8(i)
		}
	}
	if len(g.servers) >= 255 {
		return 0
	}
	g.servers = append(g.servers, serverInfo{ip: ip, mac: mac})
	return uint8(len(g.servers) - 1)
}

// answerARP replies to who-has for an address one of our clients holds.
func (g *gen) answerARP() {
	a := &g.arp
	if a.Op == frame.ARPReply {
		for i := range g.servers {
			if g.servers[i].ip == a.SenderIP {
				g.servers[i].mac = a.SenderMAC
			}
		}
		return
	}
	idx, ok := g.owners[a.TargetIP]
	if !ok || g.clients[idx].state == stIdle {
		return
	}
	rep := frame.ARP{Op: frame.ARPReply, SenderMAC: g.macOf(idx), SenderIP: a.TargetIP, TargetMAC: a.SenderMAC, TargetIP: a.SenderIP}
	if len(g.txFrames) == len(g.txBufs) {
		g.flush()
	}
	buf := g.txBufs[len(g.txFrames)]
	g.txFrames = append(g.txFrames, buf[:frame.BuildARP(buf, &rep)])
}

// resolveServerMACs asks for the relay targets' MACs by ARP.
func (g *gen) resolveServerMACs(ctx context.Context) error {
	buf := g.txBufs[0]
	for try := 0; try < 30 && ctx.Err() == nil; try++ {
		missing := 0
		for i := range g.cfg.Servers {
			if g.servers[i].mac != ([6]byte{}) {
				continue
			}
			missing++
			req := frame.ARP{Op: frame.ARPRequest, SenderMAC: g.mac, SenderIP: g.cfg.Relay.As4(), TargetIP: g.servers[i].ip}
			_, _ = g.io.Send([][]byte{buf[:frame.BuildARP(buf, &req)]})
		}
		if missing == 0 {
			return nil
		}
		_, err := g.io.Receive(100*time.Millisecond, func(b []byte) {
			if frame.ParseARP(b, &g.arp) {
				g.answerARP()
			}
		})
		if err != nil {
			return fmt.Errorf("resolve relay targets: %w", err)
		}
	}
	for i, a := range g.cfg.Servers {
		if g.servers[i].mac == ([6]byte{}) {
			return fmt.Errorf("resolve %s by ARP: no reply in 3s (is the server on this link?)", a)
		}
	}
	return ctx.Err()
}
