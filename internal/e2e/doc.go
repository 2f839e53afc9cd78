// Package e2e runs xdhcpd end to end: real DHCP clients (dhclient, udhcpc,
// dhcpcd), Kea's perfdhcp and ISC dhcrelay talk to the real daemon across
// veth links between network namespaces, and the tests check what the
// clients got against what xdhcpctl reports.
//
// The non-test files are the harness, shared with cmd/xdhcp-demo: Build
// compiles xdhcpd and xdhcpctl, Lab wires a server namespace and any number
// of client namespaces to a bridge in a switch namespace, and Daemon runs
// xdhcpd in the server namespace and queries it through xdhcpctl.
//
// # Running
//
// The tests need root and the client packages (isc-dhcp-client, udhcpc,
// dhcpcd-base, kea-admin, isc-dhcp-relay, tshark); they skip when not root
// and fail, naming the package, when a program is missing:
//
//	go test ./internal/e2e/
package e2e
