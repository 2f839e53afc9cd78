package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestRoundTripBuilt(t *testing.T) {
	m := &Message{Type: MsgBndUpd, Time: 1700000000, XID: 42}
	BindingOptions(m, Binding{
		IP: netip.MustParseAddr("192.0.2.7"), Status: BindingActive,
		ClientID: []byte{1, 2, 3}, HasChaddr: true, HWType: 1, HWAddr: []byte{0, 1, 2, 3, 4, 5},
		LeaseExpiry: 100, HasLeaseExpiry: true, PotentialExpiry: 200, HasPotential: true,
		StartTimeOfState: 50, HasSTOS: true, CLTT: 60, HasCLTT: true,
	})
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if b[3] != HeaderLen || int(b[0])<<8|int(b[1]) != len(b) {
		t.Fatalf("header % x", b[:HeaderLen])
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := ParseBinding(p)
	if err != nil {
		t.Fatal(err)
	}
	if bd.IP != netip.MustParseAddr("192.0.2.7") || bd.Status != BindingActive || !bytes.Equal(bd.HWAddr, []byte{0, 1, 2, 3, 4, 5}) ||
		bd.PotentialExpiry != 200 || bd.CLTT != 60 || !bytes.Equal(bd.ClientID, []byte{1, 2, 3}) {
		t.Fatalf("binding %+v", bd)
	}
	again, _ := p.Marshal()
	if !bytes.Equal(again, b) {
		t.Fatal("re-encoding differs")
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := (&Message{Type: MsgState, XID: 1}).AddUint8(OptServerState, uint8(StateNormal)).Marshal()
	withLen := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		b[0], b[1] = byte(len(b)>>8), byte(len(b))
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"short header", good[:11], ErrShort},
		{"length field lies", append(append([]byte(nil), good...), 0), ErrBadLength},
		{"payload offset below header", func() []byte { b := append([]byte(nil), good...); b[3] = 4; return b }(), ErrBadLength},
		{"payload offset past end", func() []byte { b := append([]byte(nil), good...); b[3] = 255; return b }(), ErrBadLength},
		{"truncated option head", withLen(append(append([]byte(nil), good...), 0, 1)), ErrBadOption},
		{"option overruns", withLen(append(append([]byte(nil), good...), 0, 16, 0, 9, 'x')), ErrBadOption},
		{"fixed option wrong size", withLen(append(append([]byte(nil), good[:HeaderLen]...), 0, 24, 0, 2, 1, 2)), ErrBadOption},
		{"hba wrong size", withLen(append(append([]byte(nil), good[:HeaderLen]...), 0, 11, 0, 1, 1)), ErrBadOption},
		{"empty chaddr", withLen(append(append([]byte(nil), good[:HeaderLen]...), 0, 5, 0, 0)), ErrBadOption},
		{"too large", make([]byte, MaxMessageSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadMessage(t *testing.T) {
	a, _ := (&Message{Type: MsgContact, XID: 1}).Marshal()
	b, _ := (&Message{Type: MsgState, XID: 2}).AddUint8(OptServerState, 2).Marshal()
	r := bytes.NewReader(append(a, b...))
	var buf []byte
	for _, want := range []MsgType{MsgContact, MsgState} {
		raw, m, err := ReadMessage(r, buf)
		if err != nil || m.Type != want {
			t.Fatalf("ReadMessage = %v, %v; want %s", m, err, want)
		}
		buf = raw[:0]
	}
	for _, tt := range []struct {
		name string
		in   []byte
		want error
	}{
		{"length below header", []byte{0, 4, 1, 1}, ErrShort},
		{"length above limit", []byte{0xff, 0xff}, ErrTooLarge},
	} {
		if _, _, err := ReadMessage(bytes.NewReader(tt.in), nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestAppendRefusesOversize(t *testing.T) {
	m := &Message{Type: MsgBndUpd}
	m.Add(OptMessage, make([]byte, MaxMessageSize))
	if _, err := m.Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Marshal = %v, want ErrTooLarge", err)
	}
}

// BenchmarkParseBndUpd decodes a typical active-binding BNDUPD and its
// binding view.
func BenchmarkParseBndUpd(b *testing.B) {
	m := &Message{Type: MsgBndUpd, Time: 1700000000, XID: 42}
	BindingOptions(m, Binding{
		IP: netip.MustParseAddr("192.0.2.7"), Status: BindingActive,
		ClientID: []byte{1, 2, 0, 0, 0, 0, 1}, HasChaddr: true, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 1},
		LeaseExpiry: 100, HasLeaseExpiry: true, PotentialExpiry: 200, HasPotential: true,
		StartTimeOfState: 50, HasSTOS: true, CLTT: 60, HasCLTT: true,
	})
	raw, _ := m.Marshal()
	b.ReportAllocs()
	for b.Loop() {
		pm, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseBinding(pm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildBndUpd encodes a typical active-binding BNDUPD, reusing
// one message and one output buffer as the sender does.
func BenchmarkBuildBndUpd(b *testing.B) {
	bind := Binding{
		IP: netip.MustParseAddr("192.0.2.7"), Status: BindingActive,
		ClientID: []byte{1, 2, 0, 0, 0, 0, 1}, HasChaddr: true, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 1},
		LeaseExpiry: 100, HasLeaseExpiry: true, PotentialExpiry: 200, HasPotential: true,
		StartTimeOfState: 50, HasSTOS: true, CLTT: 60, HasCLTT: true, Hostname: "cpe-1",
	}
	var m Message
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		m.Reset(MsgBndUpd, 42)
		BindingOptions(&m, bind)
		var err error
		if out, err = m.Append(out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
