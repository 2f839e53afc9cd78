// Package suite runs the benchmark matrix: for each server in turn it builds
// a fresh generator/server namespace pair, starts the server with the shared
// Spec, runs each scenario as a sweep of rising offered rates through a
// Driver (perfdhcp or xdhcp-bench's own generator), samples the server's CPU
// time from /proc around every step, and writes CSV and Markdown results.
//
// # Reading the numbers
//
// "Max rate" is the highest completed exchange rate among steps whose drop
// ratio stayed under the threshold (1% by default). CPU s / 1k is the
// server's CPU seconds per 1,000 completed exchanges in the steps measured;
// on a 2-core machine the generator competes for the same CPUs; a pair's
// CPU is the sum of both partners'.
//
// # Replication lag
//
// For a pair that exports a lag histogram (xdhcpd-failover), the suite
// scrapes both partners before each step and, after it, once neither has
// a binding update queued or unacknowledged (waiting at most 1 s), and
// reports the updates acknowledged in between with their lag p50, p99 and
// mean, and the updates still unacknowledged (CSV lag_* columns; lag
// p50/p99 and "unacked after" in the Markdown table). A pair that
// replicates slower than it answers carries that backlog into the next
// step, whose lag then includes it. Servers without a histogram leave the
// columns blank; kea-ha's note says its lag is inside its response
// latency.
package suite
