# netns-pair.sh, sourced by the bench scripts: netns_pair GEN SRV creates
# the namespaces GEN and SRV joined by a veth pair, gen0 10.99.0.2/16 in
# GEN and srv0 10.99.0.1/16 in SRV, the suite's topology ("Method" in
# docs/BENCHMARKS.md). The caller deletes both namespaces.
netns_pair() {
	local g=$1 s=$2
	ip netns add "$g"
	ip netns add "$s"
	ip link add gen0 netns "$g" type veth peer name srv0 netns "$s"
	ip -n "$g" addr add 10.99.0.2/16 dev gen0
	ip -n "$s" addr add 10.99.0.1/16 dev srv0
	for ns in "$g" "$s"; do ip -n "$ns" link set lo up; done
	ip -n "$g" link set gen0 up
	ip -n "$s" link set srv0 up
}
