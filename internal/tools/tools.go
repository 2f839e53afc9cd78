//go:build tools

// Package tools pins module dependencies until the packages that use them exist.
package tools
import (
 _ "github.com/cilium/ebpf"
 _ "github.com/insomniacslk/dhcp/dhcpv4"
 _ "github.com/insomniacslk/dhcp/dhcpv4/nclient4"
 _ "github.com/dgraph-io/badger/v4"
 _ "github.com/vishvananda/netlink"
 _ "go.uber.org/zap"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "gopkg.in/yaml.v3"
 _ "golang.org/x/sys/unix"
)
