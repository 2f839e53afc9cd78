package failover

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/xdhcp/xdhcp/failover/auth"
	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap"
)

// link is one authenticated TCP connection to the partner.
type link struct {
	conn    net.Conn
	br      *bufio.Reader // conn's bytes: a run of messages costs one read, not two each
	sess    *auth.Session
	in      chan inbound // messages from the reader; closed when it stops
	hba     *wire.HBA    // the primary's bucket map from its CONNECT (secondary side)
	remote  string
	xid     uint32
	closeMu sync.Once
	stop    chan struct{} // closed by close: the reader must not block on in

	// What the partner announced in its CONNECT or CONNECTACK (0: nothing).
	partnerReceiveTimer time.Duration
	partnerMaxUnacked   int
	partnerVendor       string // vendor-class-identifier: "xdhcp" understands our extensions (scope settings replication)
}

// noteHello records the partner's receive timer and update window.
func (l *link) noteHello(m *wire.Message) {
	if v, ok := m.Uint32(wire.OptReceiveTimer); ok && v > 0 {
		l.partnerReceiveTimer = time.Duration(v) * time.Second
	}
	if v, ok := m.Uint32(wire.OptMaxUnacked); ok && v > 0 && v < 1<<20 {
		l.partnerMaxUnacked = int(v)
	}
	if v, ok := m.Get(wire.OptVendorClass); ok {
		l.partnerVendor = string(v)
	}
}

// readBuffer is the link's read buffer: a run of BNDUPDs or BNDACKs
// (about 100 to 300 bytes each) that arrived together is read in one go.
const readBuffer = 64 << 10

func newLink(conn net.Conn, sess *auth.Session) *link {
	return &link{conn: conn, br: bufio.NewReaderSize(conn, readBuffer), sess: sess, remote: conn.RemoteAddr().String(),
		in: make(chan inbound, 64), stop: make(chan struct{})}
}

// inbound is one received message or the error that ended the reader.
type inbound struct {
	m    *wire.Message
	err  error
	auth bool // err is an authentication failure
	at   time.Time
}

func (l *link) close() {
	l.closeMu.Do(func() {
		close(l.stop)
		_ = l.conn.Close()
	})
}

func (l *link) nextXID() uint32 { l.xid++; return l.xid }

// send seals and writes one message with a write deadline: a partner that
// stops reading is found out within the deadline.
func (l *link) send(m *wire.Message, now time.Time, deadline time.Duration) error {
	return l.sendAll([]*wire.Message{m}, now, deadline)
}

// sealRoom is what sealing adds to a message after the handshake: the
// digest option (head, algorithm, sequence number and MAC).
const sealRoom = wire.OptionHeadLen + 1 + 8 + auth.MACLen

// sendAll seals each of ms and writes them together, as send does.
func (l *link) sendAll(ms []*wire.Message, now time.Time, deadline time.Duration) error {
	size := 0
	for _, m := range ms {
		size += m.Len() + sealRoom
	}
	out := make([]byte, 0, size)
	for _, m := range ms {
		m.Time = unixTime(now)
		b, err := l.sess.Seal(m)
		if err != nil {
			return err
		}
		out = append(out, b...)
	}
	_ = l.conn.SetWriteDeadline(now.Add(deadline))
	if _, err := l.conn.Write(out); err != nil {
		return fmt.Errorf("send %s (%d messages) to %s: %w", ms[0].Type, len(ms), l.remote, err)
	}
	return nil
}

// read reads one message with a deadline and checks its digest.
// authErr reports whether err is an authentication failure.
func (l *link) read(deadline time.Duration) (m *wire.Message, authErr bool, err error) {
	_ = l.conn.SetReadDeadline(time.Now().Add(deadline))
	raw, m, err := wire.ReadMessage(l.br, nil)
	if err != nil {
		return nil, false, err
	}
	if err := l.sess.Open(raw, m); err != nil {
		return nil, true, err
	}
	return m, false, nil
}

// readLoop feeds l.in until the connection fails. The receive timer is
// the read deadline: silence longer than it ends the link.
func (l *link) readLoop(receiveTimer time.Duration) {
	defer close(l.in)
	for {
		m, authErr, err := l.read(receiveTimer)
		select {
		case l.in <- inbound{m: m, err: err, auth: authErr, at: time.Now()}:
		case <-l.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// errRejected is a CONNECTACK carrying a reject reason.
var errRejected = errors.New("partner rejected the connection")

// helloMessage starts a CONNECT or CONNECTACK with the options both carry,
// in ISC dhcpd's order.
func (p *Peer) helloMessage(t wire.MsgType) *wire.Message {
	m := &wire.Message{Type: t}
	m.Add(wire.OptRelationshipName, []byte(p.cfg.Name))
	m.AddUint32(wire.OptMaxUnacked, uint32(p.cfg.MaxUnackedBndUpd))
	m.AddUint32(wire.OptReceiveTimer, uint32(p.cfg.ReceiveTimer.Round(time.Second)/time.Second))
	m.Add(wire.OptVendorClass, []byte(vendorClass))
	m.AddUint8(wire.OptProtocolVersion, wire.ProtocolVersion)
	return m
}

func (p *Peer) connectMessage(ctx context.Context) *wire.Message {
	m := p.helloMessage(wire.MsgConnect)
	m.AddUint8(wire.OptTLSRequest, 0)
	m.AddUint32(wire.OptMCLT, uint32(p.cfg.MCLT/time.Second))
	hba := wire.HBAFromBuckets(p.primaryBucketsForConnect(ctx))
	m.Add(wire.OptHashBucketAssignment, hba[:])
	return m
}

func (p *Peer) connectAckMessage(reject wire.RejectReason, why string) *wire.Message {
	m := p.helloMessage(wire.MsgConnectAck)
	m.AddUint8(wire.OptTLSReply, 0)
	if reject != 0 {
		m.AddUint8(wire.OptRejectReason, uint8(reject))
		m.Add(wire.OptMessage, []byte(why))
	}
	return m
}

// vendorClass is what we send in vendor-class-identifier.
const vendorClass = "xdhcp"

// dialLoop is the primary's side: connect, handshake, hand the link to the
// engine, wait for it to end, back off, repeat.
func (p *Peer) dialLoop(ctx context.Context) {
	backoff := p.cfg.ReconnectMin
	for ctx.Err() == nil {
		start := time.Now()
		l, err := p.dialOnce(ctx)
		if err == nil {
			select {
			case p.links <- l:
			case <-ctx.Done():
				l.close()
				return
			}
			select {
			case <-p.linkDone(l):
			case <-ctx.Done():
				return
			}
			if time.Since(start) > p.cfg.ReceiveTimer {
				backoff = p.cfg.ReconnectMin // it worked for a while: retry promptly
			}
		} else if ctx.Err() == nil {
			p.log.Warn("failover connect failed", zap.String("partner", p.cfg.Partner), zap.Error(err), zap.Duration("retry_in", backoff))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, p.cfg.ReconnectMax)
	}
}

func (p *Peer) dialOnce(ctx context.Context) (*link, error) {
	dial := p.dial
	if dial == nil {
		d := net.Dialer{Timeout: p.cfg.ReceiveTimer}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	conn, err := dial(ctx, p.cfg.Partner)
	if err != nil {
		return nil, fmt.Errorf("dial failover partner %s: %w", p.cfg.Partner, err)
	}
	l := newLink(conn, auth.NewSession(p.cfg.Secret, true))
	if err := l.send(p.connectMessage(ctx), time.Now(), p.cfg.ReceiveTimer); err != nil {
		l.close()
		return nil, err
	}
	m, authErr, err := l.read(p.cfg.ReceiveTimer)
	if err != nil {
		l.close()
		if authErr {
			p.authFailure(l.remote, err)
		}
		return nil, fmt.Errorf("await CONNECTACK from %s: %w", l.remote, err)
	}
	if m.Type != wire.MsgConnectAck {
		l.close()
		p.count(func(c *Counters) { c.Malformed++ })
		return nil, fmt.Errorf("partner %s answered CONNECT with %s", l.remote, m.Type)
	}
	if r, ok := m.Uint8(wire.OptRejectReason); ok && r != 0 {
		l.close()
		msg, _ := m.Get(wire.OptMessage)
		err := fmt.Errorf("%w: reason %d (%s): %s", errRejected, r, wire.RejectReason(r), msg)
		if isDigestReason(wire.RejectReason(r)) {
			p.authFailure(l.remote, err)
		}
		return nil, err
	}
	l.noteHello(m)
	return l, nil
}

// acceptLoop is the secondary's side.
func (p *Peer) acceptLoop(ctx context.Context, ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("failover accept failed", zap.Error(err))
				time.Sleep(p.cfg.ReconnectMin)
				continue
			}
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			l, err := p.acceptOnce(conn)
			if err != nil {
				p.log.Warn("failover connection refused", zap.String("from", conn.RemoteAddr().String()), zap.Error(err))
				return
			}
			select {
			case p.links <- l:
			case <-ctx.Done():
				l.close()
			}
		}()
	}
}

func (p *Peer) acceptOnce(conn net.Conn) (*link, error) {
	l := newLink(conn, auth.NewSession(p.cfg.Secret, false))
	if host, _, _ := net.SplitHostPort(l.remote); !p.partnerHost(host) {
		l.close()
		return nil, fmt.Errorf("connection from %s, not from the partner %s", l.remote, p.cfg.Partner)
	}
	m, authErr, err := l.read(p.cfg.ReceiveTimer)
	if err != nil {
		if authErr {
			p.authFailure(l.remote, err)
			// Say why, so that the partner counts and logs the refusal
			// instead of seeing a dropped connection. The answer is
			// sealed with our secret (or bare without one).
			_ = l.send(p.connectAckMessage(digestRejectReason(err), "message digest: "+err.Error()), time.Now(), p.cfg.ReceiveTimer)
		} else {
			p.count(func(c *Counters) { c.Malformed++ })
		}
		l.close()
		return nil, fmt.Errorf("await CONNECT: %w", err)
	}
	reject := func(r wire.RejectReason, why string) (*link, error) {
		_ = l.send(p.connectAckMessage(r, why), time.Now(), p.cfg.ReceiveTimer)
		l.close()
		return nil, fmt.Errorf("refused CONNECT: %s", why)
	}
	if m.Type != wire.MsgConnect {
		l.close()
		p.count(func(c *Counters) { c.Malformed++ })
		return nil, fmt.Errorf("first message is %s, not CONNECT", m.Type)
	}
	if name, _ := m.Get(wire.OptRelationshipName); string(name) != p.cfg.Name {
		return reject(wire.RejectInvalidPartner, fmt.Sprintf("relationship %q, ours is %q", name, p.cfg.Name))
	}
	if v, ok := m.Uint8(wire.OptProtocolVersion); ok && v != wire.ProtocolVersion {
		return reject(wire.RejectVersionMismatch, fmt.Sprintf("protocol version %d, we speak %d", v, wire.ProtocolVersion))
	}
	if mclt, ok := m.Uint32(wire.OptMCLT); ok && time.Duration(mclt)*time.Second != p.cfg.MCLT.Truncate(time.Second) {
		return reject(wire.RejectInvalidMCLT, fmt.Sprintf("MCLT %ds, ours is %v: configure the same mclt on both partners", mclt, p.cfg.MCLT))
	}
	l.noteHello(m)
	if d, ok := m.Get(wire.OptHashBucketAssignment); ok {
		h := wire.HBA(d)
		l.hba = &h
	}
	if err := l.send(p.connectAckMessage(0, ""), time.Now(), p.cfg.ReceiveTimer); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// digestRejectReason is the CONNECTACK reject-reason for a CONNECT that
// failed authentication (draft-12 §12.21).
func digestRejectReason(err error) wire.RejectReason {
	switch {
	case errors.Is(err, auth.ErrMissingDigest):
		return wire.RejectMissingDigest
	case errors.Is(err, auth.ErrUnexpectedDigest):
		return wire.RejectDigestUnconfigured
	}
	return wire.RejectDigestFailure
}

// isDigestReason says whether the partner refused us for authentication.
func isDigestReason(r wire.RejectReason) bool {
	switch r {
	case wire.RejectDigestUnsupported, wire.RejectDigestUnconfigured, wire.RejectDigestFailure, wire.RejectMissingDigest:
		return true
	}
	return false
}

func (p *Peer) authFailure(remote string, err error) {
	p.count(func(c *Counters) { c.AuthFailures++ })
	p.log.Error("failover message failed authentication; connection refused", zap.String("from", remote), zap.Error(err))
}
