// Package loadbalance implements the DHCP load balancing algorithm of
// RFC 3074, as the failover protocol (draft-ietf-dhc-failover-12 §5.3 and
// §9.8.2) uses it to split clients between a primary and a secondary server.
//
// # Hash
//
// Hash maps a client key to one of 256 buckets with the Pearson hash and the
// mixing table of RFC 3074 section 6. ClientKey picks the key: the data of
// option 61 (client identifier) when it is present and non-empty, else the
// client hardware address chaddr[0..hlen).
//
// # Split
//
// SplitBuckets turns a load-balance percentage into a bucket assignment the
// way ISC dhcpd's "split" does: the primary owns buckets 0..N-1 with
// N = round(256*percent/100), the secondary owns the complement.
//
// The XDP program in bpf/ carries its own copy of the table; the dataplane
// tests check it against this package bucket for bucket.
package loadbalance
