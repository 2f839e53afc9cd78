package responder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/bench/frame"
)

// Config is the responder's identity and address plan. Zero values mean
// defaults.
type Config struct {
	ServerIP  netip.Addr // default 10.99.0.1
	ServerMAC [6]byte    // source MAC of replies (the interface's)
	// Pool is where addresses come from: Pool.Addr() + (MAC low 32 bits
	// mod pool size). Default 10.64.0.0/10.
	Pool      netip.Prefix
	LeaseTime uint32 // seconds; default 3600
}

// Defaults fills zero fields with their defaults.
func (c *Config) Defaults() {
	if !c.ServerIP.IsValid() {
		c.ServerIP = netip.MustParseAddr("10.99.0.1")
	}
	if !c.Pool.IsValid() {
		c.Pool = netip.MustParsePrefix("10.64.0.0/10")
	}
	if c.LeaseTime == 0 {
		c.LeaseTime = 3600
	}
}

var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Reply builds the answer to request into out (frame.MaxLen bytes) and
// returns its length, or 0 when the request gets no answer (not a
// DISCOVER or REQUEST, or a REQUEST for another server).
func Reply(cfg *Config, req *frame.Message, out []byte) int {
	if req.Op != frame.OpRequest {
		return 0
	}
	srv := cfg.ServerIP.As4()
	var typ uint8
	var yiaddr [4]byte
	switch req.Type {
	case frame.Discover:
		typ, yiaddr = frame.Offer, addrFor(cfg.Pool, req.CHAddr)
	case frame.Request:
		if req.ServerID != ([4]byte{}) && req.ServerID != srv {
			return 0
		}
		typ = frame.Ack
		// The address is the client's MAC-derived one (what the OFFER
		// gave), or its own when renewing; the XDP twin in package
		// xdpecho does the same.
		yiaddr = addrFor(cfg.Pool, req.CHAddr)
		if req.Ciaddr != [4]byte{} {
			yiaddr = req.Ciaddr
		}
	default:
		return 0
	}
	mask := maskOf(cfg.Pool.Bits())
	rep := frame.Message{
		SrcMAC: cfg.ServerMAC, SrcIP: srv, SrcPort: frame.ServerPort,
		Op: frame.OpReply, XID: req.XID, Flags: req.Flags, Ciaddr: req.Ciaddr, Yiaddr: yiaddr,
		Giaddr: req.Giaddr, CHAddr: req.CHAddr, Type: typ, ServerID: srv, LeaseTime: cfg.LeaseTime, SubnetMask: mask,
		CircuitID: req.CircuitID, RemoteID: req.RemoteID, ClientID: req.ClientID,
	}
	switch {
	case req.Giaddr != [4]byte{}: // back to the relay
		rep.DstMAC, rep.DstIP, rep.DstPort = req.SrcMAC, req.Giaddr, frame.ServerPort
	case req.Ciaddr != [4]byte{}: // renewing client: unicast
		rep.DstMAC, rep.DstIP, rep.DstPort = req.CHAddr, req.Ciaddr, frame.ClientPort
	default:
		rep.DstMAC, rep.DstIP, rep.DstPort = broadcastMAC, [4]byte{255, 255, 255, 255}, frame.ClientPort
	}
	n, err := frame.Build(out, &rep)
	if err != nil {
		return 0
	}
	return n
}

func addrFor(pool netip.Prefix, mac [6]byte) [4]byte {
	size := uint32(1) << (32 - pool.Bits())
	base := pool.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(base[:]) + binary.BigEndian.Uint32(mac[2:6])%size
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return a
}

func maskOf(bits int) [4]byte {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], ^uint32(0)<<(32-bits))
	return a
}

// PacketIO is the batched frame I/O Serve needs (rawio.Conn has it).
type PacketIO interface {
	Send(frames [][]byte) (int, error)
	Receive(timeout time.Duration, fn func([]byte)) (int, error)
	BatchSize() int
}

// Counters are Serve's totals.
type Counters struct {
	Received, Replied, Malformed, Ignored, TxDropped uint64
}

// Serve answers requests on io until ctx ends.
func Serve(ctx context.Context, io PacketIO, cfg Config) (Counters, error) {
	cfg.Defaults()
	batch := io.BatchSize()
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, frame.MaxLen)
	}
	out := make([][]byte, 0, batch)
	var c Counters
	var req frame.Message
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		n, err := io.Send(out)
		c.Replied += uint64(n)
		c.TxDropped += uint64(len(out) - n)
		out = out[:0]
		return err
	}
	var sendErr error
	handle := func(b []byte) {
		if len(out) == batch { // ring receive can hand over more than a batch
			if err := flush(); err != nil && sendErr == nil {
				sendErr = err
			}
		}
		c.Received++
		if err := frame.Parse(b, &req); err != nil {
			c.Malformed++
			return
		}
		n := Reply(&cfg, &req, bufs[len(out)])
		if n == 0 {
			c.Ignored++
			return
		}
		out = append(out, bufs[len(out)][:n])
	}
	for ctx.Err() == nil {
		// Receive at most one batch, so every reply has a buffer.
		if _, err := io.Receive(20*time.Millisecond, handle); err != nil {
			return c, fmt.Errorf("responder receive: %w", err)
		}
		if err := flush(); err != nil || sendErr != nil {
			return c, fmt.Errorf("responder send: %w", errors.Join(err, sendErr))
		}
	}
	return c, nil
}
