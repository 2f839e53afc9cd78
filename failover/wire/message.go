package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// Sizes of the framing.
const (
	HeaderLen      = 12   // bytes of the fixed header
	OptionHeadLen  = 4    // code and length of one option
	MaxMessageSize = 2048 // ISC's DHCP_FAILOVER_MAX_MESSAGE_SIZE
	HBASize        = 32   // bytes of the hash-bucket-assignment bitmap
)

// Errors Parse and ReadMessage wrap.
var (
	ErrShort     = errors.New("failover message too short")
	ErrTooLarge  = errors.New("failover message too large")
	ErrBadLength = errors.New("failover message length mismatch")
	ErrBadOption = errors.New("bad failover option")
)

// Option is one option: its code and its data (without code and length).
type Option struct {
	Code OptionCode
	Data []byte
}

// Message is one failover message in lossless form.
type Message struct {
	Type MsgType
	// PayloadOffset is where the options start; 0 means HeaderLen when
	// marshalling. Bytes between the header and the offset are kept in Pad.
	PayloadOffset uint8
	Time          uint32 // sender's clock, seconds since 1970
	XID           uint32
	Pad           []byte // bytes between the fixed header and the payload, normally none
	Options       []Option

	// data holds the option data the Add methods copy, so that building a
	// message allocates only when it outgrows what Reset kept. Options
	// slice it with their capacity cut to their length; when it is
	// reallocated, earlier options keep the old array, which nothing
	// writes to again.
	data []byte
}

// Parse decodes one whole message. The returned message's option data
// alias b. Parse checks the length field against len(b), the size limit,
// the option framing and the length of every fixed-size known option.
func Parse(b []byte) (*Message, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrShort, len(b), HeaderLen)
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxMessageSize)
	}
	n := int(binary.BigEndian.Uint16(b))
	if n != len(b) {
		return nil, fmt.Errorf("%w: header says %d, have %d", ErrBadLength, n, len(b))
	}
	m := &Message{
		Type:          MsgType(b[2]),
		PayloadOffset: b[3],
		Time:          binary.BigEndian.Uint32(b[4:]),
		XID:           binary.BigEndian.Uint32(b[8:]),
	}
	off := int(m.PayloadOffset)
	if off < HeaderLen || off > len(b) {
		return nil, fmt.Errorf("%w: payload offset %d outside %d..%d", ErrBadLength, off, HeaderLen, len(b))
	}
	if off > HeaderLen {
		m.Pad = b[HeaderLen:off]
	}
	// A binding update carries a dozen options or so: room for them at
	// once, but never more than the payload could hold.
	if n := min((len(b)-off)/OptionHeadLen, 16); n > 0 {
		m.Options = make([]Option, 0, n)
	}
	for p := b[off:]; len(p) > 0; {
		if len(p) < OptionHeadLen {
			return nil, fmt.Errorf("%w: %d trailing bytes after the last option", ErrBadOption, len(p))
		}
		code := OptionCode(binary.BigEndian.Uint16(p))
		l := int(binary.BigEndian.Uint16(p[2:]))
		if l > len(p)-OptionHeadLen {
			return nil, fmt.Errorf("%w: %s length %d overruns the message by %d", ErrBadOption, code, l, l-(len(p)-OptionHeadLen))
		}
		data := p[OptionHeadLen : OptionHeadLen+l : OptionHeadLen+l]
		if err := checkOptionSize(code, data); err != nil {
			return nil, err
		}
		m.Options = append(m.Options, Option{Code: code, Data: data})
		p = p[OptionHeadLen+l:]
	}
	return m, nil
}

func checkOptionSize(code OptionCode, data []byte) error {
	info, ok := code.spec()
	if !ok {
		return nil // unknown options are carried opaquely
	}
	if info.size != 0 && len(data) != info.size {
		return fmt.Errorf("%w: %s has %d bytes, want %d", ErrBadOption, code, len(data), info.size)
	}
	if len(data) < info.min {
		return fmt.Errorf("%w: %s has %d bytes, want at least %d", ErrBadOption, code, len(data), info.min)
	}
	return nil
}

// Len returns the encoded size of m.
func (m *Message) Len() int {
	n := HeaderLen + len(m.Pad)
	for _, o := range m.Options {
		n += OptionHeadLen + len(o.Data)
	}
	return n
}

// Append encodes m onto dst. It fails when the message would exceed
// MaxMessageSize or an option is longer than 65535 bytes.
func (m *Message) Append(dst []byte) ([]byte, error) {
	n := m.Len()
	if n > MaxMessageSize {
		return dst, fmt.Errorf("encode %s: %w: %d bytes, limit %d", m.Type, ErrTooLarge, n, MaxMessageSize)
	}
	off := m.PayloadOffset
	if off == 0 {
		off = uint8(HeaderLen + len(m.Pad))
	}
	if int(off) != HeaderLen+len(m.Pad) {
		return dst, fmt.Errorf("encode %s: payload offset %d does not match %d pad bytes", m.Type, off, len(m.Pad))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	dst = append(dst, byte(m.Type), off)
	dst = binary.BigEndian.AppendUint32(dst, m.Time)
	dst = binary.BigEndian.AppendUint32(dst, m.XID)
	dst = append(dst, m.Pad...)
	for _, o := range m.Options {
		dst = binary.BigEndian.AppendUint16(dst, uint16(o.Code))
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(o.Data)))
		dst = append(dst, o.Data...)
	}
	return dst, nil
}

// Marshal encodes m into a new slice.
func (m *Message) Marshal() ([]byte, error) { return m.Append(make([]byte, 0, m.Len())) }

// ReadMessage reads one framed message from r into buf (a new slice of
// the message's length when buf is too short) and returns the raw bytes
// and the parsed message. The raw bytes alias buf. A length field below
// HeaderLen or above MaxMessageSize is refused before the body is read.
func ReadMessage(r io.Reader, buf []byte) (raw []byte, m *Message, err error) {
	var length [2]byte
	if _, err := io.ReadFull(r, length[:]); err != nil {
		return nil, nil, err
	}
	n := int(binary.BigEndian.Uint16(length[:]))
	if n < HeaderLen {
		return nil, nil, fmt.Errorf("%w: length field %d", ErrShort, n)
	}
	if n > MaxMessageSize {
		return nil, nil, fmt.Errorf("%w: length field %d, limit %d", ErrTooLarge, n, MaxMessageSize)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, length[:])
	if _, err := io.ReadFull(r, buf[2:n]); err != nil {
		return nil, nil, fmt.Errorf("read failover message body (%d bytes): %w", n, noEOF(err))
	}
	m, err = Parse(buf[:n])
	if err != nil {
		return nil, nil, err
	}
	return buf[:n], m, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Get returns the first option with code.
func (m *Message) Get(code OptionCode) ([]byte, bool) {
	for _, o := range m.Options {
		if o.Code == code {
			return o.Data, true
		}
	}
	return nil, false
}

// Has reports whether m carries an option with code.
func (m *Message) Has(code OptionCode) bool { _, ok := m.Get(code); return ok }

// Uint8 returns a one-byte option's value.
func (m *Message) Uint8(code OptionCode) (uint8, bool) {
	d, ok := m.Get(code)
	if !ok || len(d) != 1 {
		return 0, false
	}
	return d[0], true
}

// Uint32 returns a four-byte option's value.
func (m *Message) Uint32(code OptionCode) (uint32, bool) {
	d, ok := m.Get(code)
	if !ok || len(d) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(d), true
}

// Addr returns a four-byte option as an IPv4 address.
func (m *Message) Addr(code OptionCode) (netip.Addr, bool) {
	d, ok := m.Get(code)
	if !ok || len(d) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(d)), true
}

// Add appends an option with a copy of data.
func (m *Message) Add(code OptionCode, data []byte) *Message {
	return m.AddJoined(code, data)
}

// AddJoined appends an option whose data is parts one after another.
func (m *Message) AddJoined(code OptionCode, parts ...[]byte) *Message {
	start := len(m.data)
	for _, p := range parts {
		m.data = append(m.data, p...)
	}
	return m.addData(code, start)
}

// addData appends an option whose data is m.data from start on.
func (m *Message) addData(code OptionCode, start int) *Message {
	end := len(m.data)
	m.Options = append(m.Options, Option{Code: code, Data: m.data[start:end:end]})
	return m
}

// AddUint8 appends a one-byte option.
func (m *Message) AddUint8(code OptionCode, v uint8) *Message {
	start := len(m.data)
	m.data = append(m.data, v)
	return m.addData(code, start)
}

// AddUint16 appends a two-byte option.
func (m *Message) AddUint16(code OptionCode, v uint16) *Message {
	start := len(m.data)
	m.data = binary.BigEndian.AppendUint16(m.data, v)
	return m.addData(code, start)
}

// AddUint32 appends a four-byte option.
func (m *Message) AddUint32(code OptionCode, v uint32) *Message {
	start := len(m.data)
	m.data = binary.BigEndian.AppendUint32(m.data, v)
	return m.addData(code, start)
}

// AddAddr appends an IPv4 address option.
func (m *Message) AddAddr(code OptionCode, a netip.Addr) *Message {
	b := a.As4()
	return m.Add(code, b[:])
}

// Reset empties m for reuse as a new message of type t with xid, keeping
// the room its options took. Option data of the message before must not
// be used after Reset.
func (m *Message) Reset(t MsgType, xid uint32) {
	clear(m.Options)
	*m = Message{Type: t, XID: xid, Options: m.Options[:0], data: m.data[:0]}
}

// Remove deletes every option with code and returns m.
func (m *Message) Remove(code OptionCode) *Message {
	out := m.Options[:0]
	for _, o := range m.Options {
		if o.Code != code {
			out = append(out, o)
		}
	}
	m.Options = out
	return m
}

// String summarises m for logs.
func (m *Message) String() string {
	return fmt.Sprintf("%s xid=%d time=%d options=%d", m.Type, m.XID, m.Time, len(m.Options))
}
