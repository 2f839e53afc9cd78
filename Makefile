# xdhcp: a DHCPv4 server with an XDP dataplane.
# `make demo` runs the server in network namespaces with real DHCP clients;
# `make test` runs every test. Both install what they need when missing.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:/usr/sbin:/sbin:$(PATH)

GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# Debian packages the demo, the tests and the benchmarks use.
DEMO_PKGS  := iproute2 isc-dhcp-client udhcpc dhcpcd-base isc-dhcp-relay
TEST_PKGS  := $(DEMO_PKGS) kea-admin tshark dnsmasq-base isc-dhcp-server kea-dhcp4-server ethtool
GEN_PKGS   := clang llvm libbpf-dev
BENCH_PKGS := $(TEST_PKGS) gnuplot-nox

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build xdhcpd, xdhcpctl, xdhcp-bench and xdhcp-demo into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

generate: ## regenerate the bpf2go output (dataplane from bpf/, the benchmark's XDP programs) (needs clang)
	@$(MAKE) --no-print-directory debs PKGS="$(GEN_PKGS)"
	$(GO) generate ./dataplane/... ./bench/...

test: ## run every test (as root: namespaces, XDP, real DHCP clients)
	@$(MAKE) --no-print-directory debs PKGS="$(TEST_PKGS)"
	$(GO) test -count=1 -timeout 40m ./...

bench: ## benchmark xdhcpd beside Kea, ISC dhcpd and dnsmasq with packet generators (about 17 minutes, as root)
	@$(MAKE) --no-print-directory debs PKGS="$(BENCH_PKGS)"
	$(GO) build -o $(BIN)/xdhcpd ./cmd/xdhcpd
	$(GO) build -o $(BIN)/xdhcp-bench ./cmd/xdhcp-bench
	$(BIN)/xdhcp-bench suite --xdhcpd $(BIN)/xdhcpd

bench-quick: ## a short benchmark run: xdhcpd and Kea, short sweeps (about 3 minutes)
	@$(MAKE) --no-print-directory debs PKGS="$(BENCH_PKGS)"
	$(GO) build -o $(BIN)/xdhcpd ./cmd/xdhcpd
	$(GO) build -o $(BIN)/xdhcp-bench ./cmd/xdhcp-bench
	$(BIN)/xdhcp-bench suite --xdhcpd $(BIN)/xdhcpd --quick

bench-flood: ## the XDP flood benchmark: a load-balanced pair under a DISCOVER flood, XDP native/generic/off
	@$(MAKE) --no-print-directory debs PKGS="$(TEST_PKGS)"
	$(GO) test -run '^$$' -bench BenchmarkFloodPair -benchtime 1x ./internal/e2e/

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

demo: ## run xdhcpd in network namespaces with real DHCP clients (as root)
	@$(MAKE) --no-print-directory debs PKGS="$(DEMO_PKGS)"
	$(GO) run ./cmd/xdhcp-demo

clean: ## remove build output
	rm -rf $(BIN)

# debs installs the Debian packages in PKGS that are not installed yet.
debs:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (run as root, or apt-get install them)"; exit 1; fi; \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

.PHONY: help build generate test bench bench-quick bench-flood lint demo clean debs
