package xdpecho

// The XDP programs are compiled by bpf2go from echo.c; the output
// (echo_bpfel.go, echo_bpfel.o) is committed so building needs no clang.
// Regenerate with `go generate ./bench/xdpecho/` after changing the C.
//go:generate go tool bpf2go -tags linux -target bpfel echo echo.c -- -I/usr/include/x86_64-linux-gnu -mcpu=v3 -O2 -Wall -Werror
