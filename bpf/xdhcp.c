//go:build ignore

// xdhcp.c: the XDP program of xdhcp.
//
// It classifies every frame on a serving interface. Frames that are not
// DHCP to the server port pass untouched. DHCP requests are load balanced
// per RFC 3074 (the failover partner's hash buckets are dropped here, at the
// driver) and rate limited per client hardware address and per source (the
// Ethernet source and VLAN tags, or, when configured, the relay and its
// option 82); DISCOVERs
// share one global budget, and a client whose DISCOVER the budget refused
// may pass on its retransmission through a second, the retry lane.
// Malformed DHCP is counted and dropped. Every
// verdict is counted by (action, reason). A request that passes goes
// straight to the control plane's AF_XDP socket on its queue when the
// control plane registered one for the interface (and the frame is
// untagged and addressed to the server), else to the kernel's stack.
//
// The Go filter in dataplane/filter.go is this program's twin: the two must
// agree on every frame, and dataplane tests hold them to it. Change both.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// Actions. XDHCP_ACTION_LEN must stay last: Go sizes its tables by it.
enum xdhcp_action {
	XDHCP_ACTION_PASS = 0,
	XDHCP_ACTION_DROP,
	XDHCP_ACTION_LEN,
};

// Reasons. XDHCP_REASON_LEN must stay last.
enum xdhcp_reason {
	XDHCP_REASON_NOT_DHCP = 0,     // not IPv4/UDP to port 67, or headers cut short
	XDHCP_REASON_FRAGMENT,         // an IPv4 fragment: the stack reassembles it
	XDHCP_REASON_NOT_REQUEST,      // BOOTP op is not BOOTREQUEST
	XDHCP_REASON_MALFORMED,        // bad UDP length, short BOOTP, bad hlen or options
	XDHCP_REASON_OURS,             // balanced request in one of our buckets
	XDHCP_REASON_PARTNER,          // balanced request in the partner's bucket
	XDHCP_REASON_SECS_BYPASS,      // partner's bucket, but secs >= the bypass
	XDHCP_REASON_UNBALANCED,       // renew/rebind REQUEST, DECLINE, RELEASE, INFORM, others
	XDHCP_REASON_OVERLOAD,         // option 52 and no option 53 in the options field
	XDHCP_REASON_OPTION_LIMIT,     // more options than the program walks
	XDHCP_REASON_RATELIMIT,        // the client exceeded its packet rate
	XDHCP_REASON_SOURCE_LIMIT,     // the source (port, relay circuit) exceeded its packet rate
	XDHCP_REASON_DISCOVER_BUDGET,  // DISCOVERs from everyone exceeded the budget
	XDHCP_REASON_RETRY_LANE,       // the budget was spent, but the client asked before: passed
	XDHCP_REASON_LEN,
};

// Unused globals that keep both enums in BTF, where bpf2go finds them.
const volatile enum xdhcp_action xdhcp_action_btf = XDHCP_ACTION_LEN;
const volatile enum xdhcp_reason xdhcp_reason_btf = XDHCP_REASON_LEN;

#define COUNTER_SLOTS (XDHCP_ACTION_LEN * XDHCP_REASON_LEN)

#define DHCP_SERVER_PORT 67
#define ETH_P_8021Q_     0x8100
#define ETH_P_8021AD_    0x88A8
#define MAX_VLAN_TAGS    2

#define BOOTP_FIXED_LEN   236  // op .. file, without the magic cookie
#define BOOTP_OPTIONS_OFF 240
#define BOOTP_SECS_OFF    8
#define BOOTP_CIADDR_OFF  12
#define BOOTP_GIADDR_OFF  24
#define BOOTP_CHADDR_OFF  28
#define BOOTREQUEST       1
#define MAX_HLEN          16
#define DHCP_MAGIC        0x63825363

#define OPT_PAD          0
#define OPT_REQUESTED_IP 50
#define OPT_OVERLOAD     52
#define OPT_MESSAGE_TYPE 53
#define OPT_SERVER_ID    54
#define OPT_CLIENT_ID    61
#define OPT_RELAY_AGENT  82
#define OPT_END          255

// How many options (pads included) the program walks before giving up.
#define MAX_OPTION_STEPS 128

#define DHCPDISCOVER 1
#define DHCPREQUEST  3

#define VLAN_VID_MASK 0x0fff

// FNV-1a, 64 bits: the hash of option 82's data in a source key.
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x100000001b3ULL

// How often the discover budget retries its compare-and-swap when other
// CPUs update it at the same moment, before it drops the frame.
#define BUDGET_CAS_TRIES 4

// The retry lane's memory of refused clients: RETRY_SLOTS entries (8 MiB),
// each the refused client's tag and the second it was refused; a client
// that asks again within RETRY_WINDOW_S seconds finds its entry.
#define RETRY_SLOTS    (1 << 20)
#define RETRY_WINDOW_S 64

// Runtime settings; Go rewrites the single entry of config_map.
struct xdhcp_config {
	__u64 rl_interval_ns;   // 1e9 / per-client-pps: a token's worth of time
	__u64 rl_tau_ns;        // (burst-1) * interval: how far ahead a client may run
	__u64 src_interval_ns;  // the same for a source
	__u64 src_tau_ns;
	__u64 budget_interval_ns;  // the same for the discover budget
	__u64 budget_tau_ns;
	__u64 retry_interval_ns;  // the same for the retry lane
	__u64 retry_tau_ns;
	__u32 rl_enabled;      // 0: no rate limit
	__u32 secs_bypass;     // 0: no bypass; else secs >= this passes any bucket
	__u32 src_enabled;     // 0: no source limit
	__u32 budget_enabled;  // 0: no discover budget
	__u32 src_relayed;     // 0: relayed frames are not source limited
	__u32 retry_enabled;   // 0: no retry lane
};

struct xdhcp_counter {
	__u64 packets;
	__u64 bytes;
};

struct xdhcp_client {
	__u8 chaddr[MAX_HLEN];  // chaddr[0..hlen), zero padded
};

// Where a frame entered the network. A direct client's source is its
// Ethernet source address and VLAN IDs (giaddr and circuit zero); a
// relayed one's is the relay's giaddr and the hash of its option 82
// (mac and vlan zero).
struct xdhcp_source {
	__u64 circuit;  // FNV-1a 64 of option 82's data
	__u32 giaddr;   // as on the wire
	__u16 vlan[2];  // VLAN IDs, outer first; 0 when absent
	__u8 mac[ETH_ALEN];
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdhcp_config);
} config_map SEC(".maps");

// Bucket assignment, swapped as a whole: Go builds a new inner map of this
// shape and replaces the outer map's only entry with it in one update.
struct buckets_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[32]);  // bit b set: we serve bucket b
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct buckets_inner);
} buckets_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct xdhcp_counter);
} counters_map SEC(".maps");

// Per-client rate state: the theoretical arrival time (GCRA) in ns.
// max_entries is set by Go from the configured table size.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xdhcp_client);
	__type(value, __u64);
} ratelimit_map SEC(".maps");

// Per-source rate state, as ratelimit_map. max_entries is set by Go.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xdhcp_source);
	__type(value, __u64);
} source_map SEC(".maps");

// The discover budget's theoretical arrival time (GCRA) in ns: one entry
// shared by every CPU, updated with compare-and-swap.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} budget_map SEC(".maps");

// The retry lane's token bucket, as budget_map.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} retry_budget_map SEC(".maps");

// Clients the discover budget refused, by slot (the low bits of the FNV-1a
// 64 hash of chaddr): the hash's high 32 bits, then the second (counted
// from 1) of the refusal; 0 is empty. A later client in the same slot
// overwrites an entry.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RETRY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} retry_map SEC(".maps");

// AF_XDP sockets of the control plane, by slot: an interface's sockets
// take the slots [first, first + queues), one per receive queue.
#define XSK_SLOTS     64
#define XSK_MAX_ADDRS 4
// The longest frame a socket's 2 KiB UMEM chunk takes after the kernel's
// 256 bytes of headroom; longer ones go to the stack.
#define XSK_MAX_FRAME 1792

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSK_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

// An interface with AF_XDP sockets, keyed by ifindex.
struct xdhcp_xsk_iface {
	__u32 first;                 // its first slot in xsks_map
	__u32 queues;                // how many slots it has
	__be32 addrs[XSK_MAX_ADDRS];  // the addresses its requests may be sent to, besides broadcast; 0 unused
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct xdhcp_xsk_iface);
} xsk_ifaces_map SEC(".maps");

// Scratch space for the hash key, which may be up to 255 bytes.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[256]);
} scratch_map SEC(".maps");

// RFC 3074 section 6 mixing table.
// clang-format off
static const volatile __u8 mixing_table[256] = {
	251, 175, 119, 215, 81,  14,  79,  191, 103, 49,  181, 143, 186, 157, 0,   232,
	31,  32,  55,  60,  152, 58,  17,  237, 174, 70,  160, 144, 220, 90,  57,  223,
	59,  3,   18,  140, 111, 166, 203, 196, 134, 243, 124, 95,  222, 179, 197, 65,
	180, 48,  36,  15,  107, 46,  233, 130, 165, 30,  123, 161, 209, 23,  97,  16,
	40,  91,  219, 61,  100, 10,  210, 109, 250, 127, 22,  138, 29,  108, 244, 67,
	207, 9,   178, 204, 74,  98,  126, 249, 167, 116, 34,  77,  193, 200, 121, 5,
	20,  113, 71,  35,  128, 13,  182, 94,  25,  226, 227, 199, 75,  27,  41,  245,
	230, 224, 43,  225, 177, 26,  155, 150, 212, 142, 218, 115, 241, 73,  88,  105,
	39,  114, 62,  255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12,  84,
	82,  163, 44,  139, 228, 236, 205, 242, 217, 11,  187, 146, 159, 64,  86,  239,
	195, 42,  106, 198, 118, 112, 184, 172, 87,  2,   173, 117, 176, 229, 247, 253,
	137, 185, 99,  164, 102, 147, 45,  66,  231, 52,  141, 211, 194, 206, 246, 238,
	56,  110, 78,  248, 63,  240, 189, 93,  92,  51,  53,  183, 19,  171, 72,  50,
	33,  104, 101, 69,  8,   252, 83,  120, 76,  135, 85,  54,  202, 125, 188, 213,
	96,  235, 136, 208, 162, 129, 190, 132, 156, 38,  47,  1,   7,   254, 24,  4,
	216, 131, 89,  21,  28,  133, 37,  153, 149, 80,  170, 68,  6,   169, 234, 151,
};
// clang-format on

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

// What the option walk found.
struct dhcp_options {
	__u32 client_id_off;  // packet offset of option 61's data
	__u32 client_id_len;  // 0 when absent or empty
	__u32 relay_off;      // packet offset of option 82's data
	__u32 relay_len;      // 0 when absent or empty
	__u8 msg_type;        // option 53; 0 when absent
	__u8 has_server_id;
	__u8 has_overload;
};

enum walk_result {
	WALK_OK = 0,
	WALK_MALFORMED,
	WALK_LIMIT,
};

static __always_inline int verdict(struct xdp_md *ctx, enum xdhcp_action action,
                                   enum xdhcp_reason reason)
{
	__u32 key = action * XDHCP_REASON_LEN + reason;
	struct xdhcp_counter *c = bpf_map_lookup_elem(&counters_map, &key);
	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return action == XDHCP_ACTION_DROP ? XDP_DROP : XDP_PASS;
}

// The state of the option walk, shared with its bpf_loop callback.
struct walk_state {
	struct xdp_md *ctx;
	__u32 off;  // packet offset of the next option
	__u32 end;  // packet offset just past the UDP payload
	enum walk_result result;
	struct dhcp_options o;
};

// walk_step reads the option at w->off and records 53, 61, 52 and 54. The
// first instance of an option wins; options 53, 50 and 54 must have their
// fixed lengths wherever they appear. It returns 1 to stop the walk.
static long walk_step(__u32 index, void *arg)
{
	struct walk_state *w = arg;
	__u32 off = w->off;
	__u8 hdr[2];

	if (off >= w->end) {
		w->result = WALK_OK;  // no END option: accepted
		return 1;
	}
	if (bpf_xdp_load_bytes(w->ctx, off, hdr, 1) < 0)
		goto malformed;
	if (hdr[0] == OPT_PAD) {
		w->off = off + 1;
		return 0;
	}
	if (hdr[0] == OPT_END) {
		w->result = WALK_OK;
		return 1;
	}
	if (off + 2 > w->end || bpf_xdp_load_bytes(w->ctx, off, hdr, 2) < 0)
		goto malformed;
	__u32 len = hdr[1];
	__u32 data = off + 2;
	if (data + len > w->end)
		goto malformed;

	switch (hdr[0]) {
	case OPT_MESSAGE_TYPE:
		if (len != 1)
			goto malformed;
		if (w->o.msg_type == 0) {
			__u8 t;
			if (bpf_xdp_load_bytes(w->ctx, data, &t, 1) < 0)
				goto malformed;
			// A type of 0 is kept as "seen": it is not a known type.
			w->o.msg_type = t ? t : 0xff;
		}
		break;
	case OPT_CLIENT_ID:
		if (w->o.client_id_off == 0) {
			w->o.client_id_off = data;
			w->o.client_id_len = len;
		}
		break;
	case OPT_RELAY_AGENT:
		if (w->o.relay_off == 0) {
			w->o.relay_off = data;
			w->o.relay_len = len;
		}
		break;
	case OPT_REQUESTED_IP:
		if (len != 4)
			goto malformed;
		break;
	case OPT_SERVER_ID:
		if (len != 4)
			goto malformed;
		w->o.has_server_id = 1;
		break;
	case OPT_OVERLOAD:
		w->o.has_overload = 1;
		break;
	}
	w->off = data + len;
	return 0;

malformed:
	w->result = WALK_MALFORMED;
	return 1;
}

// walk_options walks the options in [off, end), packet offsets, at most
// MAX_OPTION_STEPS of them (pads included).
static __always_inline enum walk_result walk_options(struct xdp_md *ctx, __u32 off, __u32 end,
                                                     struct dhcp_options *o)
{
	struct walk_state w = {.ctx = ctx, .off = off, .end = end, .result = WALK_LIMIT};

	if (bpf_loop(MAX_OPTION_STEPS, walk_step, &w, 0) < 0)
		return WALK_MALFORMED;
	if (w.result == WALK_LIMIT && w.off >= end)
		w.result = WALK_OK;  // the last step consumed the last option
	*o = w.o;
	return w.result;
}

// bucket_of returns the RFC 3074 bucket of the len bytes at packet offset off.
static __always_inline int bucket_of(struct xdp_md *ctx, __u32 off, __u32 len)
{
	__u32 zero = 0;
	__u8 *key = bpf_map_lookup_elem(&scratch_map, &zero);
	__u32 h = len & 0xff;
	int i;

	if (!key)
		return -1;
	len &= 0xff;
	if (len == 0)
		return 0;
	if (bpf_xdp_load_bytes(ctx, off, key, len) < 0)
		return -1;
	for (i = 0; i < 255; i++) {
		if (i >= len)
			break;
		__u32 idx = (len - 1 - i) & 0xff;
		h = mixing_table[(h ^ key[idx]) & 0xff];
	}
	return h;
}

static __always_inline int bucket_owned(__u32 bucket)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&buckets_map, &zero);
	if (!inner)
		return 1;  // no assignment yet: serve everyone
	__u8 *owned = bpf_map_lookup_elem(inner, &zero);
	if (!owned)
		return 1;
	return (owned[(bucket >> 3) & 31] >> (bucket & 7)) & 1;
}

// gcra_ok charges key one packet at now in the LRU map of GCRA timestamps
// and reports whether it was within its rate. A new key starts with a full
// bucket. Concurrent CPUs may race on one key's entry; the loser's update is
// lost, which only lets that key through slightly more often.
static __always_inline int gcra_ok(void *map, void *key, __u64 now, __u64 interval, __u64 tau)
{
	__u64 *tat = bpf_map_lookup_elem(map, key);
	if (!tat) {
		__u64 next = now + interval;
		bpf_map_update_elem(map, key, &next, BPF_ANY);
		return 1;
	}
	__u64 t = *tat;
	if (t < now)
		t = now;
	if (t - now > tau)
		return 0;
	*tat = t + interval;
	return 1;
}

// circuit_hash returns FNV-1a 64 of the len bytes at packet offset off.
static __always_inline __u64 circuit_hash(struct xdp_md *ctx, __u32 off, __u32 len)
{
	__u32 zero = 0;
	__u8 *buf = bpf_map_lookup_elem(&scratch_map, &zero);
	__u64 h = FNV64_OFFSET;
	int i;

	len &= 0xff;
	if (!buf || len == 0 || bpf_xdp_load_bytes(ctx, off, buf, len) < 0)
		return h;
	for (i = 0; i < 255; i++) {
		if (i >= len)
			break;
		h = (h ^ buf[i & 0xff]) * FNV64_PRIME;
	}
	return h;
}

// shared_ok takes one token from a bucket every CPU shares (the discover
// budget, the retry lane): the one entry of map, updated with
// compare-and-swap so that the bucket stays exact under contention.
static __always_inline int shared_ok(void *map, __u64 interval, __u64 tau, __u64 now)
{
	__u32 zero = 0;
	__u64 *tat = bpf_map_lookup_elem(map, &zero);
	int i;

	if (!tat)
		return 1;
#pragma unroll
	for (i = 0; i < BUDGET_CAS_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 t = old < now ? now : old;
		if (t - now > tau)
			return 0;
		if (__sync_val_compare_and_swap(tat, old, t + interval) == old)
			return 1;
	}
	return 0;  // other CPUs took the tokens meanwhile
}

// retry_ok decides on a DISCOVER the discover budget refused, from the
// client whose chaddr is the hlen bytes at packet offset off. A client
// refused before, within RETRY_WINDOW_S, is asking again (real clients
// retransmit; a flood that forges a new address a frame does not): it
// passes if the retry lane has a token, and its entry is spent. Any other
// refusal is remembered.
static __always_inline int retry_ok(struct xdp_md *ctx, struct xdhcp_config *cfg, __u32 off,
                                    __u32 hlen, __u64 now)
{
	__u8 chaddr[MAX_HLEN] = {};
	__u64 h = FNV64_OFFSET;
	int i;

	if (hlen > MAX_HLEN)
		return 0;
	if (hlen > 0 && bpf_xdp_load_bytes(ctx, off, chaddr, hlen) < 0)
		return 0;
#pragma unroll
	for (i = 0; i < MAX_HLEN; i++) {
		if (i < hlen)
			h = (h ^ chaddr[i]) * FNV64_PRIME;
	}
	__u32 slot = (__u32)h & (RETRY_SLOTS - 1);
	__u64 *e = bpf_map_lookup_elem(&retry_map, &slot);
	if (!e)
		return 0;
	__u32 tag = h >> 32;
	__u32 sec = now / 1000000000ULL + 1;
	__u64 old = *(volatile __u64 *)e;
	if (old != 0 && (__u32)(old >> 32) == tag && sec - (__u32)old <= RETRY_WINDOW_S &&
	    shared_ok(&retry_budget_map, cfg->retry_interval_ns, cfg->retry_tau_ns, now)) {
		*(volatile __u64 *)e = 0;
		return 1;
	}
	*(volatile __u64 *)e = ((__u64)tag << 32) | sec;
	return 0;
}

// l2_source is what the frame's link layer says about its sender.
struct l2_source {
	__u8 mac[ETH_ALEN];
	__u16 vlan[2];  // VLAN IDs, outer first
	__u8 tagged;    // the frame had a VLAN tag (even one with VLAN ID 0)
	__be32 daddr;   // the IPv4 destination
};

// deliver passes a request that survived every guard: to the control
// plane's AF_XDP socket on this queue when there is one and the frame is
// plainly for the server (untagged; sent to broadcast or to one of the
// interface's addresses; short enough for a socket's chunk), else to the
// stack, where the server's UDP socket
// has it. Either way it is counted as passed.
static __always_inline int deliver(struct xdp_md *ctx, enum xdhcp_reason reason,
                                   struct l2_source *l2)
{
	int action = verdict(ctx, XDHCP_ACTION_PASS, reason);
	if (l2->tagged || ctx->data_end - ctx->data > XSK_MAX_FRAME)
		return action;
	__u32 ifindex = ctx->ingress_ifindex;
	struct xdhcp_xsk_iface *xi = bpf_map_lookup_elem(&xsk_ifaces_map, &ifindex);
	if (!xi || ctx->rx_queue_index >= xi->queues)
		return action;
	int ours = l2->daddr == 0xffffffff;
#pragma unroll
	for (int i = 0; i < XSK_MAX_ADDRS; i++)
		ours |= xi->addrs[i] != 0 && xi->addrs[i] == l2->daddr;
	if (!ours)
		return action;
	// An empty slot (a socket being replaced) falls back to the stack.
	return bpf_redirect_map(&xsks_map, xi->first + ctx->rx_queue_index, XDP_PASS);
}

// classify decides on a BOOTP message whose UDP payload lies at packet
// offsets [p, p+plen), with the fixed header [p, p+236) already in bounds at
// the pointer bootp.
static __always_inline int classify(struct xdp_md *ctx, __u8 *bootp, void *data_end, __u32 p,
                                    __u32 plen, struct l2_source *l2)
{
	struct dhcp_options o = {};
	__u32 zero = 0;

	if ((void *)(bootp + BOOTP_FIXED_LEN) > data_end)
		return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_MALFORMED);
	if (bootp[0] != BOOTREQUEST)
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_REQUEST);
	__u32 hlen = bootp[2];
	if (hlen > MAX_HLEN)
		return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_MALFORMED);

	enum walk_result w = WALK_OK;
	if (plen >= BOOTP_OPTIONS_OFF) {
		__be32 cookie;
		if (bpf_xdp_load_bytes(ctx, p + BOOTP_FIXED_LEN, &cookie, 4) < 0)
			return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_MALFORMED);
		if (cookie == bpf_htonl(DHCP_MAGIC)) {
			w = walk_options(ctx, p + BOOTP_OPTIONS_OFF, p + plen, &o);
			if (w == WALK_MALFORMED)
				return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_MALFORMED);
		}
	}

	struct xdhcp_config *cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg)
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_OURS);

	// Not balanced: renewing/rebinding REQUEST, DECLINE, RELEASE, INFORM,
	// other types; all of them pass, but are rate limited.
	enum xdhcp_reason reason = XDHCP_REASON_UNBALANCED;
	int balanced = 0;
	if (w == WALK_LIMIT) {
		reason = XDHCP_REASON_OPTION_LIMIT;  // too many options to know the type
	} else if (o.msg_type == 0 && o.has_overload) {
		reason = XDHCP_REASON_OVERLOAD;  // the type may be in sname/file
	} else if (o.msg_type == 0 || o.msg_type == DHCPDISCOVER) {
		balanced = 1;  // BOOTP or DISCOVER
	} else if (o.msg_type == DHCPREQUEST) {
		// RENEWING and REBINDING requests carry ciaddr and no server id.
		__u32 ciaddr = *(__u32 *)(bootp + BOOTP_CIADDR_OFF);
		balanced = ciaddr == 0 || o.has_server_id;
	}

	if (balanced) {
		int bucket = o.client_id_len > 0 ? bucket_of(ctx, o.client_id_off, o.client_id_len)
		                                 : bucket_of(ctx, p + BOOTP_CHADDR_OFF, hlen);
		// bucket < 0 cannot happen (the bytes were bounds-checked); if it
		// did, serving the client beats losing it.
		if (bucket < 0 || bucket_owned(bucket)) {
			reason = XDHCP_REASON_OURS;
		} else {
			__u32 secs =
			        ((__u32)bootp[BOOTP_SECS_OFF] << 8) | bootp[BOOTP_SECS_OFF + 1];
			if (cfg->secs_bypass == 0 || secs < cfg->secs_bypass)
				return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_PARTNER);
			reason = XDHCP_REASON_SECS_BYPASS;
		}
	}

	__u64 now = bpf_ktime_get_ns();
	if (cfg->rl_enabled) {
		struct xdhcp_client client = {};
		if (hlen > 0 &&
		    bpf_xdp_load_bytes(ctx, p + BOOTP_CHADDR_OFF, client.chaddr, hlen) < 0)
			return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_MALFORMED);
		if (!gcra_ok(&ratelimit_map, &client, now, cfg->rl_interval_ns, cfg->rl_tau_ns))
			return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_RATELIMIT);
	}

	// The source: the relay and its circuit, or the link layer sender.
	// Relayed frames are limited only when the operator says so: a relay
	// may stamp one circuit id on a whole subnet. A relay without option 82
	// aggregates many clients and is never limited.
	__u32 giaddr = *(__u32 *)(bootp + BOOTP_GIADDR_OFF);
	if (cfg->src_enabled && (giaddr == 0 || (cfg->src_relayed && o.relay_len > 0))) {
		struct xdhcp_source src = {};
		if (giaddr) {
			src.giaddr = giaddr;
			src.circuit = circuit_hash(ctx, o.relay_off, o.relay_len);
		} else {
			__builtin_memcpy(src.mac, l2->mac, ETH_ALEN);
			src.vlan[0] = l2->vlan[0];
			src.vlan[1] = l2->vlan[1];
		}
		if (!gcra_ok(&source_map, &src, now, cfg->src_interval_ns, cfg->src_tau_ns))
			return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_SOURCE_LIMIT);
	}

	// DISCOVERs and BOOTP requests, which make the server allocate, share
	// one budget. REQUESTs (answers to our OFFERs, renewals) never use it.
	// Once it is spent, a client it refused before may pass on the retry
	// lane's.
	if (cfg->budget_enabled && balanced && o.msg_type != DHCPREQUEST &&
	    !shared_ok(&budget_map, cfg->budget_interval_ns, cfg->budget_tau_ns, now)) {
		if (!cfg->retry_enabled || !retry_ok(ctx, cfg, p + BOOTP_CHADDR_OFF, hlen, now))
			return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_DISCOVER_BUDGET);
		reason = XDHCP_REASON_RETRY_LANE;
	}
	return deliver(ctx, reason, l2);
}

SEC("xdp")
int xdhcp_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cursor;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);
	proto = eth->h_proto;
	cursor = eth + 1;
	struct l2_source l2 = {};
	__builtin_memcpy(l2.mac, eth->h_source, ETH_ALEN);

#pragma unroll
	for (i = 0; i < MAX_VLAN_TAGS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q_) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		struct vlan_hdr_ *vh = cursor;
		if ((void *)(vh + 1) > data_end)
			return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);
		l2.vlan[i] = bpf_ntohs(vh->tci) & VLAN_VID_MASK;
		l2.tagged = 1;
		proto = vh->proto;
		cursor = vh + 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);

	struct iphdr *ip = cursor;
	if ((void *)(ip + 1) > data_end)
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);
	__u32 ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip) || cursor + ihl > data_end)
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);
	if (ip->protocol != IPPROTO_UDP)
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);
	if (ip->frag_off & bpf_htons(0x3fff))  // MF or a fragment offset
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_FRAGMENT);
	l2.daddr = ip->daddr;

	struct udphdr *udp = cursor + ihl;
	if ((void *)(udp + 1) > data_end)
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);
	if (udp->dest != bpf_htons(DHCP_SERVER_PORT))
		return verdict(ctx, XDHCP_ACTION_PASS, XDHCP_REASON_NOT_DHCP);

	// From here on the frame is addressed to the DHCP server port.
	__u32 ulen = bpf_ntohs(udp->len);
	__u32 ip_payload = bpf_ntohs(ip->tot_len);
	__u32 p = (void *)(udp + 1) - data;
	if (ulen < sizeof(*udp) || ip_payload < ihl || ulen > ip_payload - ihl ||
	    (void *)udp + ulen > data_end)
		return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_MALFORMED);
	__u32 plen = ulen - sizeof(*udp);
	if (plen < BOOTP_FIXED_LEN)
		return verdict(ctx, XDHCP_ACTION_DROP, XDHCP_REASON_MALFORMED);
	return classify(ctx, (__u8 *)(udp + 1), data_end, p, plen, &l2);
}
