package auth

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xdhcp/xdhcp/failover/wire"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// pipe moves one message from a sender session to a receiver session.
func pipe(t *testing.T, from, to *Session, m *wire.Message) ([]byte, error) {
	t.Helper()
	raw, err := from.Seal(m)
	if err != nil {
		t.Fatalf("seal %s: %v", m.Type, err)
	}
	return raw, deliver(to, raw)
}

func deliver(to *Session, raw []byte) error {
	pm, err := wire.Parse(raw)
	if err != nil {
		return err
	}
	return to.Open(raw, pm)
}

func handshake(t *testing.T, secA, secB []byte) (a, b *Session) {
	t.Helper()
	a, b = NewSession(secA, true), NewSession(secB, false)
	if _, err := pipe(t, a, b, &wire.Message{Type: wire.MsgConnect}); err != nil {
		t.Fatalf("CONNECT: %v", err)
	}
	if _, err := pipe(t, b, a, &wire.Message{Type: wire.MsgConnectAck}); err != nil {
		t.Fatalf("CONNECTACK: %v", err)
	}
	return a, b
}

func state() *wire.Message {
	return (&wire.Message{Type: wire.MsgState, XID: 9}).AddUint8(wire.OptServerState, uint8(wire.StateNormal))
}

func TestSessionAcceptsInOrder(t *testing.T) {
	a, b := handshake(t, secret, secret)
	for i := 0; i < 3; i++ {
		if _, err := pipe(t, a, b, state()); err != nil {
			t.Fatalf("a->b %d: %v", i, err)
		}
		if _, err := pipe(t, b, a, state()); err != nil {
			t.Fatalf("b->a %d: %v", i, err)
		}
	}
}

func TestSessionRejects(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T) error
		want error
	}{
		{"wrong secret on CONNECT", func(t *testing.T) error {
			a, b := NewSession(secret, true), NewSession([]byte("another secret of enough length"), false)
			_, err := pipe(t, a, b, &wire.Message{Type: wire.MsgConnect})
			return err
		}, ErrBadDigest},
		{"missing digest", func(t *testing.T) error {
			_, b := handshake(t, secret, secret)
			raw, _ := state().Marshal()
			return deliver(b, raw)
		}, ErrMissingDigest},
		{"digest without a secret", func(t *testing.T) error {
			a, _ := handshake(t, secret, secret)
			raw, _ := a.Seal(state())
			return deliver(nil, raw)
		}, ErrUnexpectedDigest},
		{"tampered option", func(t *testing.T) error {
			a, b := handshake(t, secret, secret)
			raw, _ := a.Seal(state())
			raw[len(raw)-1] ^= 1
			return deliver(b, raw)
		}, ErrBadDigest},
		{"tampered after good messages (the reused HMAC is reset)", func(t *testing.T) error {
			a, b := handshake(t, secret, secret)
			for i := 0; i < 3; i++ {
				if _, err := pipe(t, a, b, state()); err != nil {
					t.Fatal(err)
				}
			}
			raw, _ := a.Seal(state())
			raw[len(raw)-1] ^= 1
			return deliver(b, raw)
		}, ErrBadDigest},
		{"tampered header time", func(t *testing.T) error {
			a, b := handshake(t, secret, secret)
			raw, _ := a.Seal(state())
			raw[5] ^= 1
			return deliver(b, raw)
		}, ErrBadDigest},
		{"replay on the same connection", func(t *testing.T) error {
			a, b := handshake(t, secret, secret)
			raw, err := pipe(t, a, b, state())
			if err != nil {
				t.Fatal(err)
			}
			return deliver(b, raw)
		}, ErrReplay},
		{"replay from an earlier connection", func(t *testing.T) error {
			a1, _ := handshake(t, secret, secret)
			old, _ := a1.Seal(state())
			_, b2 := handshake(t, secret, secret)
			return deliver(b2, old)
		}, ErrBadDigest},
		{"reflected back to its sender", func(t *testing.T) error {
			a, _ := handshake(t, secret, secret)
			raw, _ := a.Seal(state())
			return deliver(a, raw)
		}, ErrBadDigest},
		{"replayed CONNECTACK on a new connection", func(t *testing.T) error {
			a1, b1 := NewSession(secret, true), NewSession(secret, false)
			pipe(t, a1, b1, &wire.Message{Type: wire.MsgConnect})
			ack, _ := b1.Seal(&wire.Message{Type: wire.MsgConnectAck})
			a2, b2 := NewSession(secret, true), NewSession(secret, false)
			pipe(t, a2, b2, &wire.Message{Type: wire.MsgConnect})
			return deliver(a2, ack)
		}, ErrBadDigest},
		{"message before the handshake", func(t *testing.T) error {
			a, _ := handshake(t, secret, secret)
			raw, _ := a.Seal(state())
			return deliver(NewSession(secret, false), raw)
		}, ErrHandshake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(t); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNilSessionPassesPlainMessages(t *testing.T) {
	var s *Session
	raw, err := s.Seal(state())
	if err != nil {
		t.Fatal(err)
	}
	if err := deliver(nil, raw); err != nil {
		t.Fatal(err)
	}
	if NewSession(nil, true) != nil {
		t.Fatal("empty secret gave a session")
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("  0123456789abcdef01\n"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	if s, err := LoadSecret(good); err != nil || string(s) != "0123456789abcdef01" {
		t.Fatalf("LoadSecret(good) = %q, %v", s, err)
	}
	if _, err := LoadSecret(short); err == nil {
		t.Fatal("short secret accepted")
	}
	if _, err := LoadSecret(filepath.Join(dir, "absent")); err == nil {
		t.Fatal("absent file accepted")
	}
}

// BenchmarkSealOpen signs and checks one STATE message on an established
// session.
func BenchmarkSealOpen(b *testing.B) {
	a, r := NewSession(secret, true), NewSession(secret, false)
	raw, _ := a.Seal(&wire.Message{Type: wire.MsgConnect})
	pm, _ := wire.Parse(raw)
	r.Open(raw, pm)
	raw, _ = r.Seal(&wire.Message{Type: wire.MsgConnectAck})
	pm, _ = wire.Parse(raw)
	a.Open(raw, pm)
	b.ReportAllocs()
	for b.Loop() {
		raw, err := a.Seal(state())
		if err != nil {
			b.Fatal(err)
		}
		pm, _ := wire.Parse(raw)
		if err := r.Open(raw, pm); err != nil {
			b.Fatal(err)
		}
	}
}
