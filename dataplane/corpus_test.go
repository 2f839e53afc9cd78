package dataplane

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
)

// baseFrames are well-formed frames of every kind the program tells apart.
func baseFrames() [][]byte {
	var out [][]byte
	for _, c := range balancedCases() {
		out = append(out, c.frame)
	}
	return out
}

// randomCorpus returns n frames: mutations of the base frames, random
// payloads behind valid headers, and random bytes.
func randomCorpus(rng *rand.Rand, n int) [][]byte {
	base := baseFrames()
	out := make([][]byte, 0, n)
	for len(out) < n {
		var fr []byte
		switch rng.IntN(4) {
		case 0, 1:
			fr = mutate(rng, base[rng.IntN(len(base))])
		case 2:
			fr = randomDHCP(rng)
		default:
			fr = make([]byte, 14+rng.IntN(400))
			for i := range fr {
				fr[i] = byte(rng.Uint32())
			}
			if rng.IntN(2) == 0 {
				binary.BigEndian.PutUint16(fr[12:], etherTypeIPv4)
			}
		}
		out = append(out, fr)
	}
	return out
}

// mutate changes a copy of fr: flipped bytes, rewritten length fields,
// truncation or extension.
func mutate(rng *rand.Rand, fr []byte) []byte {
	b := append([]byte(nil), fr...)
	for range 1 + rng.IntN(4) {
		switch rng.IntN(5) {
		case 0: // any byte
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		case 1: // a byte in the BOOTP fixed header or options
			if len(b) > 42 {
				b[42+rng.IntN(len(b)-42)] = byte(rng.Uint32())
			}
		case 2: // an option length
			if len(b) > 290 {
				b[290+rng.IntN(len(b)-290)] = byte(rng.IntN(8))
			}
		case 3: // truncate
			if len(b) > 15 {
				b = b[:14+rng.IntN(len(b)-14)]
			}
		case 4: // extend
			b = append(b, make([]byte, rng.IntN(64))...)
		}
	}
	return b
}

// randomDHCP is a valid frame around a BOOTREQUEST with random options.
func randomDHCP(rng *rand.Rand) []byte {
	m := newMsg(withMAC([]byte{0x02, 0xaa, byte(rng.Uint32()), byte(rng.Uint32()), 0, byte(rng.IntN(4))}))
	m.secs = uint16(rng.IntN(8))
	if rng.IntN(3) == 0 {
		m.ciaddr = [4]byte{10, 0, 0, 9}
	}
	if rng.IntN(3) == 0 { // relayed, from one of a few relays
		m.giaddr = [4]byte{10, 9, 0, byte(1 + rng.IntN(3))}
	}
	codes := []uint8{0, 12, optMessageType, optClientID, optRequestedIP, optServerID, optOverload, optRelayAgent, 55, optEnd}
	var opts []byte
	for range rng.IntN(12) {
		code := codes[rng.IntN(len(codes))]
		switch code {
		case 0, optEnd:
			opts = append(opts, code)
		case optMessageType:
			opts = append(opts, opt(code, byte(rng.IntN(10)))...)
		case optRequestedIP, optServerID:
			opts = append(opts, opt(code, 10, 0, 0, byte(rng.IntN(4)))...)
		case optRelayAgent: // one of a few circuits, or empty
			opts = append(opts, opt(code, bytes.Repeat([]byte{1}, rng.IntN(4))...)...)
		default:
			data := make([]byte, rng.IntN(20))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			opts = append(opts, opt(code, data...)...)
		}
	}
	m.options = opts
	f := frame{payload: m.bytes(), trailer: rng.IntN(3) * 7}
	f.srcMAC = []byte{0x02, 0xee, 0, 0, 0, byte(rng.IntN(6))} // a few ports
	f.vlanIDs = []uint16{uint16(rng.IntN(3)), uint16(rng.IntN(3))}
	switch rng.IntN(4) {
	case 0:
		f.vlanTPIDs = []uint16{etherType8021Q}
	case 1:
		f.vlanTPIDs = []uint16{etherType8021AD, etherType8021Q}
	}
	if rng.IntN(4) == 0 {
		f.ipOptions = make([]byte, 4*rng.IntN(11))
	}
	return f.bytes()
}
