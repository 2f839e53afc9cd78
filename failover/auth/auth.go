package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/xdhcp/xdhcp/failover/wire"
)

// DigestHMACSHA256 is the message-digest type byte for HMAC-SHA256.
const DigestHMACSHA256 = 2

// Sizes of the digest option's parts.
const (
	NonceLen  = 16
	MACLen    = sha256.Size
	seqLen    = 8
	minSecret = 16
)

// Errors Open returns; callers count them by kind.
var (
	ErrMissingDigest    = errors.New("message has no digest but a shared secret is configured")
	ErrUnexpectedDigest = errors.New("message has a digest but no shared secret is configured")
	ErrBadDigest        = errors.New("message digest does not verify")
	ErrReplay           = errors.New("message sequence number is not the next one (replay or loss)")
	ErrHandshake        = errors.New("digest handshake out of order")
)

// LoadSecret reads a shared secret file: its content with surrounding
// white space removed, at least 16 bytes.
func LoadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read failover shared secret: %w", err)
	}
	s := []byte(strings.TrimSpace(string(b)))
	if len(s) < minSecret {
		return nil, fmt.Errorf("failover shared secret %s has %d bytes; use at least %d (e.g. openssl rand -hex 32 > %s)", path, len(s), minSecret, path)
	}
	return s, nil
}

// Session is one connection's digest state. A nil *Session means no secret
// is configured: Seal only encodes and Open refuses digests.
type Session struct {
	secret      []byte
	initiator   bool // we sent the CONNECT
	rand        io.Reader
	localNonce  []byte
	remoteNonce []byte
	key         []byte // session key once both nonces are known
	sendSeq     uint64
	recvSeq     uint64
	// HMACs under key, one per direction because Seal and Open may run on
	// two goroutines; made at the first message after the handshake and
	// reset for each one, which spares the key's two hash blocks and the
	// allocations of a new HMAC per message.
	sendMAC, recvMAC macState
}

// macState is one direction's reusable HMAC under the session key.
type macState struct {
	h    hash.Hash
	dir  [1]byte
	zero [MACLen]byte // stands in for the MAC bytes being computed
	sum  [MACLen]byte
}

// NewSession returns the digest state for one new connection. initiator
// is true on the side that sends CONNECT. A nil or empty secret returns
// nil (no authentication).
func NewSession(secret []byte, initiator bool) *Session {
	if len(secret) == 0 {
		return nil
	}
	return &Session{secret: secret, initiator: initiator, rand: rand.Reader}
}

func (s *Session) dir(sending bool) byte {
	if s.initiator == sending {
		return 'I'
	}
	return 'A'
}

func handshakeType(t wire.MsgType) bool { return t == wire.MsgConnect || t == wire.MsgConnectAck }

// Seal encodes m, with a digest option first when s is not nil.
func (s *Session) Seal(m *wire.Message) ([]byte, error) {
	if s == nil {
		return m.Marshal()
	}
	m.Remove(wire.OptMessageDigest)
	data := []byte{DigestHMACSHA256}
	s.sendSeq++
	data = binary.BigEndian.AppendUint64(data, s.sendSeq)
	if handshakeType(m.Type) {
		if s.localNonce != nil {
			return nil, fmt.Errorf("seal %s: %w: handshake already sent", m.Type, ErrHandshake)
		}
		s.localNonce = make([]byte, NonceLen)
		if _, err := io.ReadFull(s.rand, s.localNonce); err != nil {
			return nil, fmt.Errorf("seal %s: nonce: %w", m.Type, err)
		}
		data = append(data, s.localNonce...)
	} else if s.key == nil {
		return nil, fmt.Errorf("seal %s: %w: no session key before CONNECT/CONNECTACK", m.Type, ErrHandshake)
	}
	data = append(data, make([]byte, MACLen)...)
	// The digest goes first, in the room the options already have.
	m.Options = append(m.Options, wire.Option{})
	copy(m.Options[1:], m.Options)
	m.Options[0] = wire.Option{Code: wire.OptMessageDigest, Data: data}
	out, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	macOff := wire.HeaderLen + len(m.Pad) + wire.OptionHeadLen + len(data) - MACLen
	mac := s.mac(m.Type, true, out, macOff)
	copy(out[macOff:], mac)
	if m.Type == wire.MsgConnectAck {
		s.deriveKey()
	}
	// keep m consistent with the bytes sent
	copy(m.Options[0].Data[len(data)-MACLen:], mac)
	return out, nil
}

// mac computes the HMAC of msg, one message, with its MAC bytes
// msg[macOff:macOff+MACLen] taken as zero. For messages after the
// handshake the result is reused by the next call in the same direction.
func (s *Session) mac(t wire.MsgType, sending bool, msg []byte, macOff int) []byte {
	dir := s.dir(sending)
	if handshakeType(t) {
		h := hmac.New(sha256.New, s.secret)
		h.Write([]byte{dir})
		if t == wire.MsgConnectAck {
			// the CONNECTACK also covers the CONNECT's nonce
			connectNonce := s.remoteNonce
			if s.initiator {
				connectNonce = s.localNonce
			}
			h.Write(connectNonce)
		}
		var zero [MACLen]byte
		writeZeroed(h, msg, macOff, zero[:])
		return h.Sum(nil)
	}
	st := &s.recvMAC
	if sending {
		st = &s.sendMAC
	}
	if st.h == nil {
		st.h = hmac.New(sha256.New, s.key)
		st.dir[0] = dir
	}
	st.h.Reset()
	st.h.Write(st.dir[:])
	writeZeroed(st.h, msg, macOff, st.zero[:])
	return st.h.Sum(st.sum[:0])
}

// writeZeroed writes msg to h with the MACLen bytes at macOff replaced by
// zero, which must hold MACLen zero bytes.
func writeZeroed(h hash.Hash, msg []byte, macOff int, zero []byte) {
	h.Write(msg[:macOff])
	h.Write(zero)
	h.Write(msg[macOff+MACLen:])
}

func (s *Session) deriveKey() {
	connectNonce, ackNonce := s.localNonce, s.remoteNonce
	if !s.initiator {
		connectNonce, ackNonce = s.remoteNonce, s.localNonce
	}
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte("xdhcp failover session key"))
	h.Write(connectNonce)
	h.Write(ackNonce)
	s.key = h.Sum(nil)
}

// Open checks the digest of a received message (raw is its encoding, m
// its parse). With s nil it only refuses a message that carries a digest.
func (s *Session) Open(raw []byte, m *wire.Message) error {
	d, has := m.Get(wire.OptMessageDigest)
	if s == nil {
		if has {
			return fmt.Errorf("%s xid %d: %w", m.Type, m.XID, ErrUnexpectedDigest)
		}
		return nil
	}
	if !has {
		return fmt.Errorf("%s xid %d: %w", m.Type, m.XID, ErrMissingDigest)
	}
	if len(m.Options) == 0 || m.Options[0].Code != wire.OptMessageDigest {
		return fmt.Errorf("%s xid %d: %w: digest option is not first", m.Type, m.XID, ErrBadDigest)
	}
	hs := handshakeType(m.Type)
	want := 1 + seqLen + MACLen
	if hs {
		want += NonceLen
	}
	if len(d) != want || d[0] != DigestHMACSHA256 {
		return fmt.Errorf("%s xid %d: %w: digest type %d with %d bytes, want type %d with %d", m.Type, m.XID, ErrBadDigest, d[0], len(d), DigestHMACSHA256, want)
	}
	switch {
	case hs && s.remoteNonce != nil:
		return fmt.Errorf("%s xid %d: %w: second handshake message", m.Type, m.XID, ErrHandshake)
	case m.Type == wire.MsgConnect && s.initiator, m.Type == wire.MsgConnectAck && !s.initiator:
		return fmt.Errorf("%s xid %d: %w: wrong side", m.Type, m.XID, ErrHandshake)
	case m.Type == wire.MsgConnectAck && s.localNonce == nil:
		return fmt.Errorf("%s xid %d: %w: CONNECTACK before CONNECT", m.Type, m.XID, ErrHandshake)
	case !hs && s.key == nil:
		return fmt.Errorf("%s xid %d: %w: message before the handshake", m.Type, m.XID, ErrHandshake)
	}
	// raw's digest option starts right after the header (it is first).
	macOff := int(m.PayloadOffset) + wire.OptionHeadLen + len(d) - MACLen
	var savedRemote []byte
	if hs {
		savedRemote = s.remoteNonce
		s.remoteNonce = d[1+seqLen : 1+seqLen+NonceLen]
	}
	got := s.mac(m.Type, false, raw, macOff)
	if !hmac.Equal(got, d[len(d)-MACLen:]) {
		s.remoteNonce = savedRemote
		return fmt.Errorf("%s xid %d: %w", m.Type, m.XID, ErrBadDigest)
	}
	seq := binary.BigEndian.Uint64(d[1:])
	if seq != s.recvSeq+1 {
		if hs {
			s.remoteNonce = savedRemote
		}
		return fmt.Errorf("%s xid %d: %w: got %d, want %d", m.Type, m.XID, ErrReplay, seq, s.recvSeq+1)
	}
	s.recvSeq = seq
	if hs {
		s.remoteNonce = bytes.Clone(s.remoteNonce)
		if m.Type == wire.MsgConnectAck {
			s.deriveKey()
		}
	}
	return nil
}
