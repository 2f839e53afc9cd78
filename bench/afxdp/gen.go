package afxdp

// The XDP program is compiled by bpf2go from redirect.c; the output
// (redirect_bpfel.go, redirect_bpfel.o) is committed so building needs no
// clang. Regenerate with `go generate ./bench/afxdp/` after changing the C.
//go:generate go tool bpf2go -tags linux -target bpfel redirect redirect.c -- -I/usr/include/x86_64-linux-gnu -mcpu=v3 -O2 -Wall -Werror
