#!/bin/bash
# io-compare.sh: compare xdhcp-bench's receive engines (recvmmsg against a
# TPACKET_V3 ring) on a veth pair against the raw-socket echo responder,
# alternating runs so both see the same machine load. Needs root.
#
#   bench/scripts/io-compare.sh [path/to/xdhcp-bench] [runs]
set -euo pipefail
BIN=${1:-./xdhcp-bench}
RUNS=${2:-3}
G=xbio$$-gen
S=xbio$$-srv
cleanup() {
	[ -n "${RP:-}" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null
	ip netns del "$G" 2>/dev/null || true
	ip netns del "$S" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$G"
ip netns add "$S"
ip link add gen0 netns "$G" type veth peer name srv0 netns "$S"
ip -n "$G" addr add 10.99.0.2/16 dev gen0
ip -n "$S" addr add 10.99.0.1/16 dev srv0
for ns in "$G" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$G" link set gen0 up
ip -n "$S" link set srv0 up
sleep 1
ip netns exec "$S" "$BIN" responder --iface srv0 >/dev/null 2>&1 &
RP=$!
sleep 0.5
echo "engine,run,completed_per_s,drop_ratio,gen_cpu_s"
for run in $(seq "$RUNS"); do
	for io in recvmmsg ring; do
		ip netns exec "$G" "$BIN" run --iface gen0 --clients 100000 --rate 0 --window 256 --duration 5s --io "$io" --json --progress off |
			python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; k=r["kinds"][0]; print("'"$io,$run"',%.0f,%g,%.2f" % (k["completed_per_s"], k["drop_ratio"], r["gen_cpu_s"]))'
	done
done
