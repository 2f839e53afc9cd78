// Package api is the control-socket protocol between xdhcpd and xdhcpctl:
// one JSON request and one JSON response per connection on a Unix socket,
// with the types both sides share and a small client.
//
// The socket is created with mode 0600: whoever may write it may change
// leases, so only root (or the daemon's user) talks to it.
package api
