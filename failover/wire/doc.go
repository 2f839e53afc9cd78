// Package wire encodes and decodes DHCP failover messages in the format of
// draft-ietf-dhc-failover-12 as ISC dhcpd 4.x puts them on the wire.
//
// # Framing
//
// Every message starts with a 12-byte header: a 2-byte length (the whole
// message, header included), a 1-byte message type, a 1-byte payload
// offset, a 4-byte send time (seconds since 1970, unsigned) and a 4-byte
// transaction id, all in network byte order. The payload is a sequence of
// options, each a 2-byte code, a 2-byte length and that many bytes of data.
// ISC dhcpd writes 12 as the payload offset (the draft's text says 8) and
// refuses messages longer than 2048 bytes; this package does the same.
//
// # Layers
//
// Message is the lossless form: the header fields and the options in the
// order they came, so Parse followed by Marshal reproduces the input byte
// for byte. Parse also checks the length of every option whose size the
// draft fixes, so typed accessors (Message.Uint32, Message.Addr, ...) never
// see a short value. Binding is the typed view of a BNDUPD/BNDACK's
// binding options, and BindingOptions writes them back in ISC's order.
//
// # Safety
//
// Parse never panics on any input (see FuzzParse) and rejects messages over
// MaxMessageSize; ReadMessage reads one framed message from a stream and
// refuses a length field that is too small or too large before allocating.
package wire
