//go:build ignore

// redirect.c: the XDP half of xdhcp-bench's AF_XDP packet I/O.
//
// xdp_redirect_xsk hands the load generator the frames it wants (the same
// ones bench/rawio's socket filter admits: unfragmented IPv4 UDP to one of
// the configured destination ports, and ARP) by redirecting them into the
// AF_XDP socket bound to the receiving queue, through an XSKMAP keyed by
// rx queue index. Everything else passes to the kernel's stack. An ARP
// request for one of the interface's own addresses passes too (the stack
// answers it: a relay's giaddr must stay reachable); the generator sees
// the other ARP frames, so it can answer for its simulated clients.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// Counters. XSK_COUNTER_LEN must stay last: Go sizes its table by it.
enum xsk_counter {
	XSK_REDIRECTED = 0, // wanted and redirected to the socket
	XSK_NO_SOCKET,      // wanted, but no socket on the receiving queue: passed
	XSK_PASSED,         // not wanted: passed to the stack
	XSK_STACK_ARP,      // ARP request for the interface's own address: passed
	XSK_COUNTER_LEN,
};

const volatile enum xsk_counter xsk_counter_btf = XSK_COUNTER_LEN;

#define MAX_PORTS 4
#define MAX_OWN_ADDRS 4

// Set by the loader before the program is loaded.
const volatile __u16 ports[MAX_PORTS] = {};         // host byte order; 0 = unused
const volatile __u8 want_arp = 0;                   // redirect ARP frames
const volatile __u32 own_addrs[MAX_OWN_ADDRS] = {}; // network byte order; 0 = unused

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XSK_COUNTER_LEN);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

// Offsets in an Ethernet/IPv4 ARP frame.
#define ARP_LEN      28
#define ARP_OFF_OP   6
#define ARP_OFF_TPA  24
#define ARP_OP_REQUEST 1

static __always_inline int count(__u32 c, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);
	if (v)
		*v += 1;
	return verdict;
}

// wanted_udp reports whether an IPv4 frame is unfragmented UDP to one of
// the configured ports.
static __always_inline int wanted_udp(void *data, void *data_end)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return 0;
	if (ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x1fff)))
		return 0;
	__u32 ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return 0;
	struct udphdr *udp = (void *)ip + ihl;
	if ((void *)(udp + 1) > data_end)
		return 0;
	__u16 dport = bpf_ntohs(udp->dest);
#pragma unroll
	for (int i = 0; i < MAX_PORTS; i++)
		if (ports[i] != 0 && ports[i] == dport)
			return 1;
	return 0;
}

// stack_arp reports whether an ARP frame is a request for one of the
// interface's own addresses, which the kernel must answer.
static __always_inline int stack_arp(void *data, void *data_end)
{
	__u8 *arp = data + sizeof(struct ethhdr);
	if ((void *)(arp + ARP_LEN) > data_end)
		return 0;
	if (bpf_ntohs(*(__u16 *)(arp + ARP_OFF_OP)) != ARP_OP_REQUEST)
		return 0;
	__u32 tpa;
	__builtin_memcpy(&tpa, arp + ARP_OFF_TPA, sizeof(tpa));
#pragma unroll
	for (int i = 0; i < MAX_OWN_ADDRS; i++)
		if (own_addrs[i] != 0 && own_addrs[i] == tpa)
			return 1;
	return 0;
}

SEC("xdp")
int xdp_redirect_xsk(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return count(XSK_PASSED, XDP_PASS);
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		if (!want_arp)
			return count(XSK_PASSED, XDP_PASS);
		if (stack_arp(data, data_end))
			return count(XSK_STACK_ARP, XDP_PASS);
	} else if (eth->h_proto != bpf_htons(ETH_P_IP) || !wanted_udp(data, data_end)) {
		return count(XSK_PASSED, XDP_PASS);
	}
	__u32 queue = ctx->rx_queue_index;
	if (!bpf_map_lookup_elem(&xsks, &queue))
		return count(XSK_NO_SOCKET, XDP_PASS);
	count(XSK_REDIRECTED, 0);
	return bpf_redirect_map(&xsks, queue, XDP_PASS);
}
