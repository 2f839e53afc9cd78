package dataplane

// The XDP program is compiled by bpf2go from bpf/xdhcp.c; its output
// (xdhcp_bpfel.go, xdhcp_bpfel.o) is committed so that building needs no
// clang. Regenerate with `go generate ./dataplane/` after changing the C.
//go:generate go tool bpf2go -tags linux -target bpfel xdhcp ../bpf/xdhcp.c -- -I/usr/include/x86_64-linux-gnu -mcpu=v3 -Wall -Werror
