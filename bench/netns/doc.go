// Package netns builds the benchmark topology: two network namespaces, one
// for the load generator and one for the DHCP server, joined by a veth pair.
//
// # Naming
//
// Namespace names carry a caller prefix, the process id and a counter, so
// concurrent runs and tests never collide; interface names are fixed (gen0,
// srv0) because they live inside those private namespaces.
//
// # Cleanup
//
// Close deletes both namespaces, which removes the veth pair with them.
// Callers run Close on every exit path (defer, signal handler).
package netns
