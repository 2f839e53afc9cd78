// Package auth signs and checks failover messages with HMAC-SHA256 and
// protects the link against replay.
//
// # Design
//
// The digest travels in draft-12's message-digest option (code 17), placed
// first in the message as §12.17 requires. Its type byte is
// DigestHMACSHA256 (2), a value the draft reserves ("Not Allowed"): the
// draft defines only HMAC-MD5, and ISC dhcpd implements no digest at all,
// so no deployed peer gives type 2 another meaning. The option's data is
//
//	type (1) | sequence (8) | nonce (16, CONNECT and CONNECTACK only) | HMAC (32)
//
// The HMAC covers the whole encoded message (header with its final length,
// every option, the digest option's type, sequence and nonce) with the 32
// HMAC bytes zeroed, plus a direction byte, so a message cannot be
// reflected back to its sender.
//
// The connecting side's CONNECT carries a fresh random nonce and is keyed
// with the shared secret; the CONNECTACK carries the accepting side's own
// fresh nonce, is keyed with the secret and also covers the CONNECT's
// nonce. Every later message is keyed with a per-connection session key,
// HMAC(secret, label | connect nonce | ack nonce), and carries a sequence
// number that must be exactly one more than the last one received in that
// direction. A recorded message therefore fails on any other connection
// (different session key) and on the same one (stale sequence).
package auth
