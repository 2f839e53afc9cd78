package alloc

import (
	"errors"
	"net"
)

// ClientKey identifies a client within a scope: "i:" followed by the option
// 61 client identifier when the client sent one, else "h:" followed by the
// hardware type byte and the hardware address.
type ClientKey string

// KeyOf returns the key of a client from its option 61 data (including the
// type byte), its htype and its chaddr[:hlen]. It returns "" when the client
// has neither a client identifier nor a hardware address.
func KeyOf(clientID []byte, htype uint8, chaddr []byte) ClientKey {
	if len(clientID) > 0 {
		return ClientKey("i:" + string(clientID))
	}
	if len(chaddr) == 0 {
		return ""
	}
	var buf [3 + 16]byte
	b := append(buf[:0], 'h', ':', htype)
	b = append(b, chaddr...)
	return ClientKey(b)
}

// Client is what the allocator needs to know about the sender of a DHCP or
// BOOTP message. Key is normally KeyOf(ClientID, HWType, HWAddr); when it is
// empty the scope computes it. Hostname and RemoteID only go into the lease.
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

// withKey returns c with Key filled in.
func (c Client) withKey() (Client, error) {
	if c.Key == "" {
		c.Key = KeyOf(c.ClientID, c.HWType, c.HWAddr)
		if c.Key == "" {
			return c, errNoIdentity
		}
	}
	return c, nil
}
