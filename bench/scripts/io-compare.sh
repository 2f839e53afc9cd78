#!/bin/bash
# io-compare.sh: compare xdhcp-bench's packet I/O engines (recvmmsg, a
# TPACKET_V3 receive ring, and an AF_XDP socket) on a veth pair, running
# DORA at an unbounded rate (window 256) against the raw-socket echo
# responder and against the XDP echo responder. Runs alternate between the
# engines so all see the same machine load. Needs root.
#
#   bench/scripts/io-compare.sh [path/to/xdhcp-bench] [runs] [responders]
#
# responders is a space-separated list of raw and xdp (default both).
# Output is CSV; cpu_us_per_dora is the generator's CPU time (user+system,
# warm-up included) divided by the DORAs completed at the measured rate
# over the warm-up and the measured time together.
set -euo pipefail
BIN=${1:-./xdhcp-bench}
RUNS=${2:-3}
RESPONDERS=${3:-raw xdp}
DIR=$(cd "$(dirname "$0")/../.." && pwd)
PASS_OBJ=$DIR/bench/xdpecho/echo_bpfel.o
G=xbio$$-gen
S=xbio$$-srv
RP=
stop_responder() {
	if [ -n "$RP" ]; then
		kill "$RP" 2>/dev/null || true
		wait "$RP" 2>/dev/null || true
		RP=
	fi
}
cleanup() {
	stop_responder
	ip netns del "$G" 2>/dev/null || true
	ip netns del "$S" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/netns-pair.sh"
netns_pair "$G" "$S"
sleep 1

# gen_pass on|off: the packet-socket engines need an XDP program on gen0
# (xdp_pass) to receive what the XDP responder sends with XDP_TX; AF_XDP
# attaches its own.
gen_pass() {
	if [ "$1" = on ]; then
		ip -n "$G" link set dev gen0 xdpdrv obj "$PASS_OBJ" sec xdp program xdp_pass
	else
		ip -n "$G" link set dev gen0 xdpdrv off
	fi
}

echo "responder,engine,run,completed_per_s,drop_ratio,gen_cpu_s,cpu_us_per_dora"
for resp in $RESPONDERS; do
	case $resp in
	raw) ip netns exec "$S" "$BIN" responder --iface srv0 >/dev/null 2>&1 & ;;
	xdp) ip netns exec "$S" "$BIN" responder --iface srv0 --xdp >/dev/null 2>&1 & ;;
	*) echo "unknown responder $resp: use raw or xdp" >&2; exit 1 ;;
	esac
	RP=$!
	sleep 0.5
	for run in $(seq "$RUNS"); do
		for io in recvmmsg ring afxdp; do
			[ "$resp" = xdp ] && [ "$io" != afxdp ] && gen_pass on
			ip netns exec "$G" "$BIN" run --iface gen0 --clients 100000 --rate 0 --window 256 --duration 5s --io "$io" --json --progress off 2>/dev/null |
				python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; k=r["kinds"][0]; n=k["completed_per_s"]*(r["seconds"]+r["warmup_s"]); print("'"$resp,$io,$run"',%.0f,%g,%.2f,%.2f" % (k["completed_per_s"], k["drop_ratio"], r["gen_cpu_s"], r["gen_cpu_s"]*1e6/n if n else 0))'
			[ "$resp" = xdp ] && [ "$io" != afxdp ] && gen_pass off
		done
	done
	stop_responder
done
