#!/bin/bash
# kea-cache-check.sh: does kea-dhcp4 write a lease for each renewal?
# Binds 100 clients through a fresh kea-dhcp4 (memfile) in a namespace
# pair, has them renew for 2 s at 200/s, and prints the number of lines
# in Kea's lease file: each write appends one. Run it twice to compare
# Kea's default with its lease cache on. Needs root.
#
#   bench/scripts/kea-cache-check.sh [XDHCP_BENCH] [EXTRA_DHCP4_JSON]
#
#   bench/scripts/kea-cache-check.sh bin/xdhcp-bench                               # Kea's default
#   bench/scripts/kea-cache-check.sh bin/xdhcp-bench ', "cache-threshold": 0.25'  # the cache on
set -euo pipefail
BENCH=${1:-./bin/xdhcp-bench} EXTRA=${2:-}
g=kcc$$-gen s=kcc$$-srv d=$(mktemp -d) kp=
trap 'if [ -n "$kp" ]; then kill $kp 2>/dev/null; wait $kp 2>/dev/null || true; fi; ip netns del $g 2>/dev/null; ip netns del $s 2>/dev/null; rm -rf $d' EXIT
. "$(dirname "$0")/netns-pair.sh"
netns_pair $g $s
cat >$d/kea.json <<J
{"Dhcp4": {"interfaces-config": {"interfaces": ["srv0"], "dhcp-socket-type": "raw"},
 "lease-database": {"type": "memfile", "persist": true, "name": "$d/leases.csv", "lfc-interval": 0},
 "valid-lifetime": 3600 $EXTRA,
 "subnet4": [{"id": 1, "subnet": "10.99.0.0/16", "pools": [{"pool": "10.99.1.0 - 10.99.254.255"}]}]}}
J
sleep 1.5 # the veth pair's carrier, or Kea opens no socket
KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec $s kea-dhcp4 -c $d/kea.json >$d/kea.log 2>&1 &
kp=$!
sleep 2
ip netns exec $g "$BENCH" run --iface gen0 --clients 100 --rate 200 --duration 2s --scenario renew \
	--relay 10.99.0.2 --server 10.99.0.1 --progress off --io afxdp 2>&1 | grep -E '^(frames|renew)' || true
sleep 0.5
echo "lease file lines (a header, then one per write): $(wc -l <$d/leases.csv)"
