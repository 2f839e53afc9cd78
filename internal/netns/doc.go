// Package netns builds small network topologies out of Linux network
// namespaces for xdhcp's end-to-end tests and its demo.
//
// Everything is done through the ip(8) tool, so the calling process never
// changes namespace itself: a program runs inside a namespace through
// "ip netns exec". Every namespace gets a unique name (a caller's prefix, the
// process id and a counter), an empty private /etc/netns/NAME/resolv.conf so
// that no DHCP client started inside can reach the host's resolver file, and
// its loopback brought up. Interfaces are created directly inside their
// namespaces, so interface names only need to be unique per namespace.
//
// # Lifetime
//
// Create, Veth and the methods of NS return errors; the demo uses them.
// New, VethPair and Bridge are the same for tests: they fail the test on
// error, and New closes the namespace in the test's cleanup. Processes
// started with (*NS).Start are remembered and stopped by their PID when the
// namespace is closed, before it is deleted; OnClose lets a driver end
// processes Start does not know. (*NS).Do runs a function on a thread
// inside the namespace, to open sockets there.
//
// # Root
//
// Namespaces need root. RequireRoot skips a test when not root; CheckRoot
// returns the same reason as an error for programs.
package netns
