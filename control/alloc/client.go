package alloc

import (
	"errors"
	"net"
	"unsafe"
)

// ClientKey identifies a client within a scope: "i:" followed by the option
// 61 client identifier when the client sent one, else "h:" followed by the
// hardware type byte and the hardware address.
type ClientKey string

// KeyOf returns the key of a client from its option 61 data (including the
// type byte), its htype and its chaddr[:hlen]. It returns "" when the client
// has neither a client identifier nor a hardware address.
func KeyOf(clientID []byte, htype uint8, chaddr []byte) ClientKey {
	var buf keyBuf
	return ClientKey(appendKey(buf[:0], clientID, htype, chaddr))
}

// keyBuf holds the key of a client with a client identifier of up to 255
// bytes (one option 61) or a hardware address.
type keyBuf [2 + 255]byte

// appendKey appends the bytes of a client's key to dst.
func appendKey(dst, clientID []byte, htype uint8, chaddr []byte) []byte {
	if len(clientID) > 0 {
		return append(append(dst, 'i', ':'), clientID...)
	}
	if len(chaddr) == 0 {
		return dst
	}
	return append(append(dst, 'h', ':', htype), chaddr...)
}

// Client is what the allocator needs to know about the sender of a DHCP or
// BOOTP message. Key is normally KeyOf(ClientID, HWType, HWAddr); when it is
// empty the scope computes it (without allocating). Hostname and RemoteID only go into the lease.
type Client struct {
	Key       ClientKey
	ClientID  []byte // option 61 data including the type byte
	HWType    uint8
	HWAddr    net.HardwareAddr
	CircuitID []byte // option 82 sub-option 1
	RemoteID  []byte // option 82 sub-option 2
	Hostname  string // option 12
}

var errNoIdentity = errors.New("client has neither a client identifier (option 61) nor a hardware address")

// key returns c's key: Key, or computed into buf when Key is empty, which
// costs no allocation. A computed key is only good while buf is; the scope
// copies it before keeping it (see ownKey). It is returned apart from c
// so that c's other fields, which leases keep, do not carry buf along.
func (c *Client) key(buf *keyBuf) (ClientKey, error) {
	if c.Key != "" {
		return c.Key, nil
	}
	b := appendKey(buf[:0], c.ClientID, c.HWType, c.HWAddr)
	if len(b) == 0 {
		return "", errNoIdentity
	}
	return ClientKey(unsafe.String(unsafe.SliceData(b), len(b))), nil
}
