// Package config reads, defaults and validates the xdhcpd configuration file.
//
// Load reads a file and Parse parses bytes; both return a *Config that is
// complete and valid, or every problem found, each naming its line, its
// field path and how to fix it.
//
// # Format
//
// The file is YAML. Decoding is strict: the document is read into a
// yaml.Node tree and walked by hand, so unknown keys, duplicate keys, wrong
// shapes and bad values are all reported with the line they are on.
// docs/CONFIG.md describes every key.
//
// # Order of work
//
// Parse decodes every section (collecting errors rather than stopping at the
// first), fills in defaults, checks the rules that span fields and scopes
// (overlapping subnets and pools, reservations in the right scope, ...), and
// finally merges the global options under each scope's own, so that
// Scope.Options holds the effective set a client of that scope receives.
//
// # Options
//
// DHCP options are stored wire-encoded (Options maps a code to its bytes,
// without code and length). Named options are encoded by their known type;
// numbered ones by the generic rules described in docs/CONFIG.md. Codes the
// server sets itself (subnet mask, lease time, server identifier, ...) are
// refused with the reason.
//
// # Adding a section
//
// Each section is a table of fields (key plus decode function) handed to
// walker.mapping, so a new top-level section such as failover: is one more
// entry in the top-level table, a struct in types.go and its checks; unknown
// keys stay errors everywhere.
package config
