#!/usr/bin/env python3
"""perf-classify.py COMM: sort one process's perf samples by what it was doing.

Reads `perf script -F comm,ip,sym` (call chains, innermost first) on stdin
and prints, for the samples of COMM, the share of each kind of work: user
space, and in the kernel the system call or event the sample was under.
AF_XDP transmit is split further, because on a veth the kernel runs the
peer's receive (its NAPI poll, XDP program and socket delivery) inside the
sender's system call: that part is the receiver's work, charged to the
sender's CPU time.
"""
import collections
import sys

# (label, substrings of a frame that put a sample in it, or [] for any;
# a frame the sample must be under, or None), first match wins.
KINDS = [
    ("kernel: AF_XDP sendto, the peer's receive run in it (veth_poll, its XDP, its socket)",
     ["veth_poll", "net_rx_action"], "xsk_sendmsg"),
    ("kernel: AF_XDP sendto, veth_xmit", ["veth_xmit"], "xsk_sendmsg"),
    ("kernel: AF_XDP sendto, skb build, copy and free", [], "xsk_sendmsg"),
    ("kernel: msync (the lease store's WAL: ext4 writeback, block I/O)", ["msync"], None),
    ("kernel: fsync/fdatasync", ["sys_fsync", "sys_fdatasync"], None),
    ("kernel: page faults", ["asm_exc_page_fault"], None),
    ("kernel: futex (goroutines sleeping and waking)", ["sys_futex"], None),
    ("kernel: poll/epoll", ["sys_ppoll", "sys_epoll"], None),
    ("kernel: recvfrom (AF_XDP wakeup)", ["sys_recvfrom"], None),
    ("kernel: interrupts and IPIs", ["asm_sysvec", "asm_common_interrupt"], None),
]


def kind(frames):
    joined = "\n".join(frames)
    for label, keys, within in KINDS:
        if within is not None and within not in joined:
            continue
        if not keys or any(k in joined for k in keys):
            return label
    if any("[kernel" in f or "kallsyms" in f for f in frames):
        return "kernel: other"
    return "user space"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: perf script -F comm,ip,sym,dso | perf-classify.py COMM")
    comm = sys.argv[1]
    counts = collections.Counter()
    by_comm = collections.Counter()
    head, frames = None, []

    def flush():
        if head is None:
            return
        by_comm[head] += 1
        if head == comm:
            counts[kind(frames)] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            head, frames = None, []
        elif line[0] in " \t":
            frames.append(line.strip())
        else:
            head = line.split()[0]
    flush()
    total = sum(counts.values())
    if total == 0:
        sys.exit(f"no samples of {comm}")
    every = sum(by_comm.values())
    print(f"{comm}: {total} of {every} samples on all CPUs ({100 * total / every:.1f}%)")
    for label, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"{100 * n / total:6.1f}%  {label}")
    print("all processes:")
    for c, n in by_comm.most_common(6):
        print(f"{100 * n / every:6.1f}%  {c}")


if __name__ == "__main__":
    main()
