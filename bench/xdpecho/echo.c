//go:build ignore

// echo.c: XDP programs for xdhcp-bench.
//
// xdp_echo answers DHCP DISCOVER with OFFER and REQUEST with ACK by
// rewriting the request in place and sending it back out of the interface
// it came in on (XDP_TX). It keeps no state; the address it offers is
// derived from the client's MAC. It is the load generator's yardstick: a
// responder that costs almost nothing.
//
// xdp_flood turns a DISCOVER template into a stream of DISCOVERs from
// distinct MACs when run with BPF_PROG_TEST_RUN and
// BPF_F_TEST_XDP_LIVE_FRAMES: each run stamps a fresh MAC and xid and
// returns XDP_TX, so the kernel transmits the frame.
//
// Both handle only what xdhcp-bench itself sends: an untagged IPv4 header
// without options, and option 53 first in the options field. Anything else
// passes untouched and is counted.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// Counters. ECHO_COUNTER_LEN must stay last: Go sizes its table by it.
enum echo_counter {
	ECHO_OFFER = 0,   // DISCOVER answered with OFFER
	ECHO_ACK,         // REQUEST answered with ACK
	ECHO_PASS,        // not a request this program answers
	ECHO_FLOOD,       // frames stamped by xdp_flood
	ECHO_COUNTER_LEN,
};

const volatile enum echo_counter echo_counter_btf = ECHO_COUNTER_LEN;

// Set by the loader before the program is loaded.
const volatile __u32 server_ip = 0;        // network byte order
const volatile __u8 server_mac[ETH_ALEN] = {};
const volatile __u32 pool_base = 0;        // host byte order
const volatile __u32 pool_mask = 0;        // host byte order, e.g. 0x003fffff for a /10
const volatile __u32 lease_secs = 3600;
const volatile __u8 flood_seed = 0;        // second byte of flood MACs

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ECHO_COUNTER_LEN);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flood_seq SEC(".maps");

#define BOOTP_OFF   (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))
#define OPTIONS_OFF (BOOTP_OFF + 240)
#define REPLY_OPTS  16 // 53/1, 54/4, 51/4, end
#define OFF_XID     4
#define OFF_FLAGS   10
#define OFF_CIADDR  12
#define OFF_YIADDR  16
#define OFF_GIADDR  24
#define OFF_CHADDR  28

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);
	if (v)
		*v += 1;
}

static __always_inline __u16 ip_checksum(struct iphdr *ip)
{
	__u32 sum = 0;
	__u16 *w = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp")
int xdp_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + OPTIONS_OFF + REPLY_OPTS > data_end)
		goto pass;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)ip + sizeof(*ip);
	__u8 *bootp = data + BOOTP_OFF;
	__u8 *opt = data + OPTIONS_OFF;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
	    udp->dest != bpf_htons(67) || bootp[0] != 1)
		goto pass;
	if (opt[0] != 53 || opt[1] != 1)
		goto pass;
	__u8 type = opt[2];
	__u8 reply;
	if (type == 1) {
		reply = 2;
		count(ECHO_OFFER);
	} else if (type == 3) {
		reply = 5;
		count(ECHO_ACK);
	} else {
		goto pass;
	}

	__u32 ciaddr = *(__u32 *)(bootp + OFF_CIADDR);
	__u32 giaddr = *(__u32 *)(bootp + OFF_GIADDR);
	__u8 *chaddr = bootp + OFF_CHADDR;
	__u32 low = ((__u32)chaddr[2] << 24) | ((__u32)chaddr[3] << 16) | ((__u32)chaddr[4] << 8) | chaddr[5];
	__u32 yiaddr = ciaddr ? ciaddr : bpf_htonl(pool_base + (low & pool_mask));

	// Ethernet: reply to the relay's or client's MAC, or broadcast.
	__u8 dst[ETH_ALEN];
	if (giaddr) {
		__builtin_memcpy(dst, eth->h_source, ETH_ALEN);
	} else if (ciaddr) {
		__builtin_memcpy(dst, chaddr, ETH_ALEN);
	} else {
		__builtin_memset(dst, 0xff, ETH_ALEN);
	}
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		eth->h_source[i] = server_mac[i];

	// IPv4 and UDP: from the server; to the relay, the client or everyone.
	ip->saddr = server_ip;
	ip->daddr = giaddr ? giaddr : (ciaddr ? ciaddr : 0xffffffff);
	ip->ttl = 64;
	ip->check = 0;
	ip->check = ip_checksum(ip);
	udp->source = bpf_htons(67);
	udp->dest = giaddr ? bpf_htons(67) : bpf_htons(68);
	udp->check = 0; // optional for IPv4

	// BOOTP: a reply carrying the address.
	bootp[0] = 2;
	*(__u32 *)(bootp + OFF_YIADDR) = yiaddr;

	// Options, in the space the request's options occupied.
	opt[0] = 53; opt[1] = 1; opt[2] = reply;
	opt[3] = 54; opt[4] = 4; *(__u32 *)(opt + 5) = server_ip;
	opt[9] = 51; opt[10] = 4; *(__u32 *)(opt + 11) = bpf_htonl(lease_secs);
	opt[15] = 255;
	return XDP_TX;
pass:
	count(ECHO_PASS);
	return XDP_PASS;
}

SEC("xdp")
int xdp_flood(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + OPTIONS_OFF > data_end)
		return XDP_ABORTED;
	__u32 zero = 0;
	__u32 *seq = bpf_map_lookup_elem(&flood_seq, &zero);
	if (!seq)
		return XDP_ABORTED;
	__u32 n = *seq + 1;
	*seq = n;
	__u32 cpu = bpf_get_smp_processor_id();
	struct ethhdr *eth = data;
	__u8 *bootp = data + BOOTP_OFF;
	__u8 mac[ETH_ALEN] = {0x06, flood_seed, (__u8)cpu, (__u8)(n >> 16), (__u8)(n >> 8), (__u8)n};
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	__builtin_memcpy(bootp + OFF_CHADDR, mac, ETH_ALEN);
	*(__u32 *)(bootp + OFF_XID) = n ^ ((__u32)cpu << 24);
	count(ECHO_FLOOD);
	return XDP_TX;
}

// xdp_pass passes everything. Attached to the generator's veth end it gives
// that end the NAPI receive path that frames sent with XDP_TX from the
// other end need.
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

// xdp_drop drops everything: a sink that costs the receiving side as
// little as possible, for measuring how fast frames can be sent.
SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
