#!/bin/bash
# server-ab.sh: compare two xdhcpd binaries' CPU at the same DORA rate,
# alternating runs so both see the same machine load. Each run builds a
# fresh generator/server namespace pair (veth, 10.99.0.0/16), starts one
# xdhcpd with the suite's single-server configuration and a fresh lease
# store, drives the scenario with xdhcp-bench, and reports xdhcpd's utime+stime
# from /proc over the measured run. Needs root.
#
#   bench/scripts/server-ab.sh OLD_XDHCPD NEW_XDHCPD [RATE] [RUNS] [XDHCP_BENCH]
#
# OLD_YAML and NEW_YAML, when set, are appended to each side's
# configuration: the same binary can be compared with itself under two
# settings, e.g. NEW_YAML=$'dataplane:\n  afxdp: off'; OLD_SERVER_YAML and
# NEW_SERVER_YAML go inside the server section, e.g.
# NEW_SERVER_YAML='  cache-threshold-percent: 0'. GEN_IO picks the
# generator's packet I/O (default afxdp, as the suite's). SCENARIO picks
# the exchange (default dora; renew binds the clients first, and that
# warm-up is in the CPU figure on both sides alike). PERF_DIR, when set,
# records every CPU with perf for 4 s in the middle of each run and writes
# what each xdhcpd spent its samples on (perf-classify.py) to
# PERF_DIR/<old|new>-<run>.txt (the process is found by its command name,
# the binary's first 15 characters); the CPU figure of such a run includes
# perf's overhead.
set -euo pipefail
OLD=$1 NEW=$2 RATE=${3:-20000} RUNS=${4:-3} BENCH=${5:-./bin/xdhcp-bench}
GEN_IO=${GEN_IO:-afxdp}
SCENARIO=${SCENARIO:-dora}
DUR=6s
. "$(dirname "$0")/netns-pair.sh"
tick=$(getconf CLK_TCK)
one() { # one BINARY EXTRA_YAML: prints "completed drops p50 p99 cpu_s"
	local bin=$1 extra=$2 srvextra=$3 g=xab$$-gen s=xab$$-srv d sp
	d=$(mktemp -d)
	# Stop xdhcpd and wait for it (it closes its lease store) before its
	# namespace and data directory go.
	trap 'kill $sp 2>/dev/null; wait $sp 2>/dev/null; ip netns del $g 2>/dev/null; ip netns del $s 2>/dev/null; rm -rf $d' RETURN
	netns_pair $g $s
	cat >$d/x.yaml <<Y
server:
  interfaces: [srv0]
  address: 10.99.0.1
  data-dir: $d/data
  control-socket: $d/x.sock
  metrics-listen: ""
  log-level: warn
$srvextra
scopes:
  - subnet: 10.99.0.0/16
    pools: ["10.99.1.0-10.99.254.255"]
    lease-time: 1h
$extra
Y
	sleep 1
	ip netns exec $s "$bin" --config $d/x.yaml >$d/log 2>&1 &
	sp=$!
	sleep 1.5
	local t0 t1 out
	t0=$(awk '{print $14 + $15}' /proc/$sp/stat)
	local pp=
	if [ -n "${PERF_DIR:-}" ]; then
		(sleep 2; perf record -q -a -g -o $d/perf.data -- sleep 4 >/dev/null 2>&1) &
		pp=$!
	fi
	out=$(ip netns exec $g "$BENCH" run --iface gen0 --clients 60000 --rate "$RATE" --duration $DUR --scenario "$SCENARIO" --progress off --io "$GEN_IO" --json)
	t1=$(awk '{print $14 + $15}' /proc/$sp/stat)
	if [ -n "$pp" ]; then
		wait $pp
		perf script -i $d/perf.data -F comm,ip,sym,dso 2>/dev/null |
			python3 "$(dirname "$0")/perf-classify.py" "$(basename "$bin" | cut -c1-15)" >"$PERF_DIR/$side-$run.txt"
	fi
	echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; k=r["kinds"][0]; print("%.0f %.4f %d %d" % (k["completed_per_s"], k["drop_ratio"], k["p50_us"], k["p99_us"]), end=" ")'
	echo "scale=2; ($t1 - $t0) / $tick" | bc
}
echo "binary,run,rate,completed_per_s,drop_ratio,p50_us,p99_us,server_cpu_s"
for run in $(seq "$RUNS"); do
	for side in old new; do
		if [ $side = old ]; then b=$OLD extra=${OLD_YAML:-} sx=${OLD_SERVER_YAML:-}; else b=$NEW extra=${NEW_YAML:-} sx=${NEW_SERVER_YAML:-}; fi
		res=$(one "$b" "$extra" "$sx") # waits for the run's teardown too
		read -r c dr p50 p99 cpu <<<"$res"
		label="$sx${sx:+ }$extra"
		echo "$b${label:+ ($(echo "$label" | tr '\n' ' ' | sed 's/  */ /g; s/^ //; s/ $//'))},$run,$RATE,$c,$dr,$p50,$p99,$cpu"
	done
done
