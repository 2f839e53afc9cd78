package failover

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap"
)

// Scope settings replication, an xdhcp extension (docs/FAILOVER.md). The
// pushing side sends its failover scopes' settings as an opaque payload
// cut into chunks of message type 203; the receiver answers the whole
// transfer with one 204. Draft-12 §6.1 lets a server ignore types 128-255,
// and we send them only to a partner whose vendor-class-identifier says it
// is xdhcp, so an ISC partner never sees them.
const (
	msgReplicate    wire.MsgType = 203 // one chunk: vendor-specific-options = header + bytes
	msgReplicateAck wire.MsgType = 204 // the outcome: vendor-specific-options = outcome + version; reject-reason and message when refused
)

// Limits of one transfer: a partner cannot make us hold more.
const (
	// MaxSettingsSize bounds the settings payload (envelope included).
	MaxSettingsSize = 4 << 20
	// replicateChunk is the payload bytes per message, leaving room in
	// the 2048-byte limit for the header, digest and chunk header.
	replicateChunk    = 1800
	chunkHeaderLen    = 8 // index (4) | count (4)
	envelopeLen       = 8 + 8 + sha256.Size + 1
	maxReplicateCount = (MaxSettingsSize + replicateChunk - 1) / replicateChunk
	flagForce         = 0x01
)

// SettingsVersion identifies one copy of the failover scopes' settings:
// a generation that grows with every local change, when that change was
// made, and the SHA-256 of the settings payload.
type SettingsVersion struct {
	Generation uint64
	Changed    time.Time
	Hash       [sha256.Size]byte
}

// NewerThan reports whether v was changed later than o. Equal change
// times are not newer: the pusher wins a tie.
func (v SettingsVersion) NewerThan(o SettingsVersion) bool { return v.Changed.After(o.Changed) }

// Equal reports whether v and o are the same version.
func (v SettingsVersion) Equal(o SettingsVersion) bool {
	return v.Generation == o.Generation && v.Changed.Equal(o.Changed) && v.Hash == o.Hash
}

// String is the form logs and xdhcpctl show.
func (v SettingsVersion) String() string {
	if v.Generation == 0 && v.Changed.IsZero() {
		return "none"
	}
	return fmt.Sprintf("generation %d changed %s hash %x", v.Generation, v.Changed.UTC().Format(time.RFC3339Nano), v.Hash[:6])
}

// Settings is a copy of the failover scopes' settings: an encoding the
// server chooses (and checks on receipt) with its version.
type Settings struct {
	Version SettingsVersion
	Data    []byte
}

// ScopeSettings is optionally implemented by Deps to replicate the
// failover scopes' settings to and from the partner.
type ScopeSettings interface {
	// LocalSettings returns the settings in force here and their version.
	LocalSettings() (Settings, error)
	// ApplySettings checks the partner's settings and puts them in force
	// durably (a restart keeps them) without losing a lease, adopting
	// their version. On error nothing changed: the settings are refused.
	// The engine has checked the hash and the versions before.
	ApplySettings(s Settings) error
}

// Replication outcomes, as the receiver reports them.
const (
	OutcomeApplied   = "applied"   // the partner now serves our settings
	OutcomeIdentical = "identical" // the partner already had the same settings
	OutcomeRefused   = "refused"   // the partner kept its own settings
)

// ReplicateResult is what Replicate reports.
type ReplicateResult struct {
	Outcome string          // OutcomeApplied, OutcomeIdentical or OutcomeRefused
	Ours    SettingsVersion // the version pushed
	Partner SettingsVersion // the partner's version after the push
	Message string          // the partner's reason for a refusal
}

// Errors of Replicate.
var (
	ErrReplicateUnsupported = errors.New("the partner does not support scope settings replication (it is not xdhcpd)")
	ErrReplicateBusy        = errors.New("a settings replication is already in progress")
	ErrReplicateTimeout     = errors.New("partner did not answer the settings replication in time")
	ErrReplicateRefused     = errors.New("partner refused the settings")
	ErrNoScopeSettings      = errors.New("this server cannot replicate scope settings")
)

// outcome codes in msgReplicateAck
const (
	ackApplied   = 0
	ackIdentical = 1
	ackNewer     = 2 // refused: the receiver's copy changed later; --force overrides
	ackInvalid   = 3 // refused: the payload or the settings are not acceptable
)

// pushOp is a replication this server started.
type pushOp struct {
	xid      uint32
	ours     SettingsVersion
	deadline time.Time
	reply    chan pushReply // nil: started by the engine itself (auto)
}

type pushReply struct {
	res ReplicateResult
	err error
}

func (op *pushOp) finish(res ReplicateResult, err error) {
	if op.reply != nil {
		op.reply <- pushReply{res, err}
	}
}

// transferIn is a replication being received.
type transferIn struct {
	xid   uint32
	count uint32
	next  uint32
	buf   []byte
}

// Replicate pushes this server's failover scope settings to the partner,
// which applies them without a restart. The partner refuses when its own
// copy changed later than ours, unless force. It waits for the partner's
// answer; a refusal is returned as an error wrapping ErrReplicateRefused
// together with the result.
func (p *Peer) Replicate(force bool) (ReplicateResult, error) {
	src, ok := p.deps.(ScopeSettings)
	if !ok {
		return ReplicateResult{}, ErrNoScopeSettings
	}
	local, err := src.LocalSettings()
	if err != nil {
		return ReplicateResult{}, fmt.Errorf("failover replicate: read local settings: %w", err)
	}
	reply := make(chan pushReply, 1)
	if err := p.run(func() {
		if err := p.startPush(local, force, reply); err != nil {
			reply <- pushReply{ReplicateResult{Ours: local.Version}, err}
		}
	}); err != nil {
		return ReplicateResult{}, err
	}
	r := <-reply
	if r.err != nil {
		return r.res, fmt.Errorf("failover replicate: %w", r.err)
	}
	return r.res, nil
}

// partnerIsXdhcp says whether the partner announced itself as xdhcp in its
// CONNECT or CONNECTACK, and so understands the replication messages.
func (p *Peer) partnerIsXdhcp() bool { return p.cur != nil && p.cur.partnerVendor == vendorClass }

// startPush sends local's settings in chunks; on the engine goroutine.
func (p *Peer) startPush(local Settings, force bool, reply chan pushReply) error {
	switch {
	case p.cur == nil:
		return ErrNotConnected
	case !p.partnerIsXdhcp():
		return ErrReplicateUnsupported
	case p.push != nil:
		return ErrReplicateBusy
	case len(local.Data)+envelopeLen > MaxSettingsSize:
		return fmt.Errorf("settings of %d bytes exceed the %d-byte replication limit", len(local.Data), MaxSettingsSize)
	}
	payload := encodeEnvelope(local, force)
	count := uint32((len(payload) + replicateChunk - 1) / replicateChunk)
	op := &pushOp{xid: p.cur.nextXID(), ours: local.Version, deadline: p.now().Add(p.cfg.ReplicateTimeout), reply: reply}
	p.push = op
	for i := uint32(0); i < count; i++ {
		chunk := payload[int(i)*replicateChunk : min(int(i+1)*replicateChunk, len(payload))]
		data := binary.BigEndian.AppendUint32(nil, i)
		data = binary.BigEndian.AppendUint32(data, count)
		m := &wire.Message{Type: msgReplicate, XID: op.xid}
		m.Add(wire.OptVendorOptions, append(data, chunk...))
		if !p.send(m) {
			if p.push == op {
				p.push = nil
			}
			return ErrNotConnected
		}
	}
	p.log.Info("failover: settings sent to the partner", zap.Stringer("version", local.Version), zap.Int("bytes", len(local.Data)),
		zap.Uint32("messages", count), zap.Bool("force", force))
	return nil
}

func encodeEnvelope(s Settings, force bool) []byte {
	b := make([]byte, 0, envelopeLen+len(s.Data))
	b = binary.BigEndian.AppendUint64(b, s.Version.Generation)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Version.Changed.UnixNano()))
	b = append(b, s.Version.Hash[:]...)
	var flags byte
	if force {
		flags |= flagForce
	}
	b = append(b, flags)
	return append(b, s.Data...)
}

// decodeEnvelope reads a complete payload and checks the hash.
func decodeEnvelope(b []byte) (Settings, bool, error) {
	if len(b) < envelopeLen {
		return Settings{}, false, fmt.Errorf("settings payload of %d bytes is shorter than its %d-byte envelope", len(b), envelopeLen)
	}
	var s Settings
	s.Version.Generation = binary.BigEndian.Uint64(b)
	s.Version.Changed = time.Unix(0, int64(binary.BigEndian.Uint64(b[8:])))
	copy(s.Version.Hash[:], b[16:16+sha256.Size])
	force := b[16+sha256.Size]&flagForce != 0
	s.Data = b[envelopeLen:]
	if sum := sha256.Sum256(s.Data); sum != s.Version.Hash {
		return Settings{}, false, fmt.Errorf("settings hash %x does not match their content (%x)", s.Version.Hash[:6], sum[:6])
	}
	return s, force, nil
}

// encodeVersion and decodeVersion carry a version in msgReplicateAck.
func encodeVersion(code byte, v SettingsVersion) []byte {
	b := []byte{code}
	b = binary.BigEndian.AppendUint64(b, v.Generation)
	b = binary.BigEndian.AppendUint64(b, uint64(v.Changed.UnixNano()))
	return append(b, v.Hash[:]...)
}

func decodeVersion(b []byte) (byte, SettingsVersion, bool) {
	if len(b) != 1+8+8+sha256.Size {
		return 0, SettingsVersion{}, false
	}
	var v SettingsVersion
	v.Generation = binary.BigEndian.Uint64(b[1:])
	v.Changed = time.Unix(0, int64(binary.BigEndian.Uint64(b[9:])))
	copy(v.Hash[:], b[17:])
	return b[0], v, true
}

// onReplicate takes one chunk; a complete transfer is judged and answered.
func (p *Peer) onReplicate(m *wire.Message) {
	d, ok := m.Get(wire.OptVendorOptions)
	if !ok || len(d) < chunkHeaderLen {
		p.refuseSettings(m.XID, ackInvalid, SettingsVersion{}, errors.New("settings chunk without its header"))
		return
	}
	idx, count := binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
	chunk := d[chunkHeaderLen:]
	t := p.incoming
	if t == nil || t.xid != m.XID {
		if t != nil {
			p.log.Warn("failover: a new settings transfer replaces an unfinished one", zap.Uint32("old_xid", t.xid), zap.Uint32("xid", m.XID))
		}
		if idx != 0 {
			p.incoming = nil
			p.refuseSettings(m.XID, ackInvalid, SettingsVersion{}, fmt.Errorf("settings transfer starts at chunk %d, not 0", idx))
			return
		}
		if count == 0 || count > maxReplicateCount {
			p.incoming = nil
			p.refuseSettings(m.XID, ackInvalid, SettingsVersion{}, fmt.Errorf("settings transfer of %d chunks: want 1 to %d (at most %d bytes)", count, maxReplicateCount, MaxSettingsSize))
			return
		}
		t = &transferIn{xid: m.XID, count: count}
		p.incoming = t
	}
	switch {
	case idx != t.next || count != t.count:
		p.incoming = nil
		p.refuseSettings(m.XID, ackInvalid, SettingsVersion{}, fmt.Errorf("settings chunk %d of %d out of order (expected %d of %d)", idx, count, t.next, t.count))
		return
	case len(t.buf)+len(chunk) > MaxSettingsSize:
		p.incoming = nil
		p.refuseSettings(m.XID, ackInvalid, SettingsVersion{}, fmt.Errorf("settings exceed %d bytes", MaxSettingsSize))
		return
	}
	t.buf = append(t.buf, chunk...)
	t.next++
	if t.next < t.count {
		return
	}
	p.incoming = nil
	p.judgeSettings(t.xid, t.buf)
}

// judgeSettings applies a complete transfer or refuses it, and answers.
func (p *Peer) judgeSettings(xid uint32, payload []byte) {
	src, ok := p.deps.(ScopeSettings)
	if !ok {
		p.refuseSettings(xid, ackInvalid, SettingsVersion{}, ErrNoScopeSettings)
		return
	}
	in, force, err := decodeEnvelope(payload)
	if err != nil {
		p.refuseSettings(xid, ackInvalid, SettingsVersion{}, err)
		return
	}
	local, err := src.LocalSettings()
	if err != nil {
		p.refuseSettings(xid, ackInvalid, SettingsVersion{}, fmt.Errorf("read our own settings: %w", err))
		return
	}
	switch {
	case local.Version.Hash == in.Version.Hash:
		p.log.Info("failover: partner's settings are identical to ours", zap.Stringer("ours", local.Version))
		p.sendReplicateAck(xid, ackIdentical, local.Version, "")
		return
	case local.Version.NewerThan(in.Version) && !force:
		p.refuseSettings(xid, ackNewer, local.Version, fmt.Errorf("our copy (%s) changed later than the pushed one (%s); push with --force to override it, or replicate from this server", local.Version, in.Version))
		return
	}
	if err := src.ApplySettings(in); err != nil {
		p.refuseSettings(xid, ackInvalid, local.Version, fmt.Errorf("settings not applied: %w", err))
		return
	}
	p.count(func(c *Counters) { c.SettingsApplied++ })
	p.log.Info("failover: applied the partner's scope settings", zap.Stringer("version", in.Version), zap.Stringer("replaced", local.Version), zap.Bool("forced", force))
	p.sendReplicateAck(xid, ackApplied, in.Version, "")
}

func (p *Peer) refuseSettings(xid uint32, code byte, ours SettingsVersion, err error) {
	p.count(func(c *Counters) { c.SettingsRefused++ })
	p.log.Warn("failover: refusing the partner's scope settings", zap.Error(err))
	p.sendReplicateAck(xid, code, ours, err.Error())
}

func (p *Peer) sendReplicateAck(xid uint32, code byte, v SettingsVersion, msg string) {
	m := &wire.Message{Type: msgReplicateAck, XID: xid}
	if code == ackNewer || code == ackInvalid {
		m.AddUint8(wire.OptRejectReason, uint8(wire.RejectMisc))
	}
	m.Add(wire.OptVendorOptions, encodeVersion(code, v))
	if msg != "" {
		if len(msg) > 1024 {
			msg = msg[:1024]
		}
		m.Add(wire.OptMessage, []byte(msg))
	}
	p.send(m)
}

// onReplicateAck finishes our push.
func (p *Peer) onReplicateAck(m *wire.Message) {
	op := p.push
	if op == nil || m.XID != op.xid {
		return
	}
	p.push = nil
	res := ReplicateResult{Ours: op.ours}
	d, _ := m.Get(wire.OptVendorOptions)
	code, v, ok := decodeVersion(d)
	if !ok {
		op.finish(res, fmt.Errorf("%w: unreadable answer", ErrReplicateRefused))
		return
	}
	res.Partner = v
	msg, _ := m.Get(wire.OptMessage)
	res.Message = string(bytes.ToValidUTF8(msg, []byte("?")))
	switch code {
	case ackApplied:
		res.Outcome = OutcomeApplied
		p.count(func(c *Counters) { c.SettingsPushed++ })
		p.log.Info("failover: partner applied our scope settings", zap.Stringer("version", op.ours))
		op.finish(res, nil)
	case ackIdentical:
		res.Outcome = OutcomeIdentical
		op.finish(res, nil)
	default:
		res.Outcome = OutcomeRefused
		p.log.Warn("failover: partner refused our scope settings", zap.String("reason", res.Message), zap.Stringer("partner_version", v))
		op.finish(res, fmt.Errorf("%w: %s", ErrReplicateRefused, res.Message))
	}
}

// replicateTimers ends a push the partner did not answer in time.
func (p *Peer) replicateTimers(now time.Time) {
	if p.push != nil && !now.Before(p.push.deadline) {
		op := p.push
		p.push = nil
		op.finish(ReplicateResult{Ours: op.ours}, ErrReplicateTimeout)
	}
}

// replicationLinkDown ends transfers in both directions.
func (p *Peer) replicationLinkDown(why string) {
	p.incoming = nil
	if p.push != nil {
		op := p.push
		p.push = nil
		op.finish(ReplicateResult{Ours: op.ours}, fmt.Errorf("%w: connection lost (%s)", ErrNotConnected, why))
	}
}

// autoReplicate pushes our settings, unforced, when the connection comes
// up in replicate-scopes: auto; the partner keeps its copy if it is newer.
func (p *Peer) autoReplicate() {
	if !p.cfg.ReplicateAuto || !p.partnerIsXdhcp() || p.push != nil {
		return
	}
	src, ok := p.deps.(ScopeSettings)
	if !ok {
		return
	}
	local, err := src.LocalSettings()
	if err != nil {
		p.log.Error("failover: cannot read our scope settings for replication", zap.Error(err))
		return
	}
	if err := p.startPush(local, false, nil); err != nil {
		p.log.Warn("failover: automatic settings replication not started", zap.Error(err))
	}
}
